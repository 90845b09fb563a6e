//! The insider-misuse alert: a user who read personal groups of more cases than the threshold
//! within the window (or a machine client that read about more cases than the threshold: who
//! accessed them, their audit events) is flagged once per window, by a high-severity audit
//! event and an e-mail to the coordinators of their organisation's country (the user or client
//! and a link; no case data).
//! The audit sealer hands it each batch of events it seals.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use tumaini_db::models::audit::{self, AuditEvent};
use tumaini_db::models::{ApiClient, Organisation, User};
use tumaini_db::time::now_utc;
use tumaini_db::{DbConn, DbError};

use super::{AuditAction, Entry, Outcome};
use crate::config::AuditSettings;
use crate::metrics::Metrics;
use crate::notifications;

/// What the misuse alert needs.
#[derive(Debug, Clone)]
pub struct MisuseWatch {
    threshold: i64,
    window: chrono::Duration,
    public_url: String,
    /// When each reader was last counted: a busy reader is counted at most every
    /// [`RECOUNT_EVERY`], not on every round (the count is a query over the whole window).
    counted: HashMap<String, Instant>,
    /// Readers who read again since they were last counted: counted on a later round.
    pending: BTreeSet<String>,
    /// Where alerts are counted.
    metrics: Metrics,
    /// The key alerts are authenticated with.
    audit_events: tumaini_db::audit_chain::EventKey,
}

/// The prefix of a machine client's key among the readers (a user's key is its id).
const CLIENT_KEY: &str = "client:";

/// How often one reader's reads are counted at most.
const RECOUNT_EVERY: Duration = Duration::from_secs(5);

impl MisuseWatch {
    /// A watch with the configured threshold and window; alerts link to `public_url` and are
    /// counted in `metrics`.
    pub fn new(
        settings: &AuditSettings,
        public_url: String,
        metrics: Metrics,
        audit_events: tumaini_db::audit_chain::EventKey,
    ) -> Self {
        Self {
            threshold: i64::from(settings.misuse_threshold),
            window: chrono::Duration::from_std(settings.misuse_window)
                .unwrap_or(chrono::Duration::hours(1)),
            public_url,
            counted: HashMap::new(),
            pending: BTreeSet::new(),
            metrics,
            audit_events,
        }
    }

    /// The insider-misuse alert: a user who read personal groups of more cases than the threshold
    /// within the window is flagged once per window, by a high-severity audit event and an e-mail
    /// to the coordinators of their organisation's country (the user and a link; no case data).
    pub fn check(
        &mut self,
        conn: &mut DbConn,
        sealed: &[(i64, AuditEvent)],
    ) -> Result<(), DbError> {
        let misuse = self;
        let fresh = sealed
            .iter()
            .map(|(_, e)| e)
            .filter(|e| {
                e.outcome == "success"
                    && e.resource_type.as_deref() == Some("case")
                    && e.action
                        .parse::<AuditAction>()
                        .is_ok_and(AuditAction::reads_case)
                    && !e.field_groups.is_empty()
            })
            .filter_map(|e| e.actor_user_id.clone());
        misuse.pending.extend(fresh);
        // A machine client reads no personal group; what it reads about cases (who accessed
        // them, their audit events) is counted instead, under its own key.
        let clients = sealed
            .iter()
            .map(|(_, e)| e)
            .filter(|e| e.outcome == "success" && e.resource_type.as_deref() == Some("case"))
            .filter_map(|e| e.actor_client_id.as_ref())
            .map(|id| format!("{CLIENT_KEY}{id}"));
        misuse.pending.extend(clients);
        let since = now_utc() - misuse.window;
        let now = Instant::now();
        misuse
            .counted
            .retain(|_, at| now.duration_since(*at) < RECOUNT_EVERY);
        let due: Vec<String> = misuse
            .pending
            .iter()
            .filter(|r| !misuse.counted.contains_key(*r))
            .cloned()
            .collect();
        for reader in &due {
            misuse.pending.remove(reader);
            misuse.counted.insert(reader.clone(), now);
            if let Some(client) = reader.strip_prefix(CLIENT_KEY) {
                misuse.check_client(conn, client, since)?;
                continue;
            }
            let reader = reader.as_str();
            let cases = audit::cases_read_with_groups(conn, reader, since)?;
            if cases <= misuse.threshold
                || audit::recorded_since(
                    conn,
                    AuditAction::AuditMisuseAlert,
                    "user",
                    reader,
                    since,
                )?
            {
                continue;
            }
            let Ok(user_id) = reader.parse() else {
                continue;
            };
            let user = User::find(conn, &user_id)?;
            let organisation = Organisation::find(conn, &user.organisation_id)?;
            Entry::new(AuditAction::AuditMisuseAlert, Outcome::Flagged)
                .keyed(&misuse.audit_events)
                .for_organisation(&organisation.id)
                .on("user", &reader)
                .purpose(format!(
                    "{cases} cases read with personal groups within {} minutes",
                    misuse.window.num_minutes()
                ))
                .high_severity(true)
                .write(conn)?;
            notifications::tell_of_misuse(
                conn,
                &user,
                &organisation,
                cases,
                misuse.window.num_minutes(),
                misuse.threshold,
                &misuse.public_url,
            )?;
            crate::webhooks::misuse_alert(
                conn,
                &user,
                &organisation,
                cases,
                misuse.window.num_minutes(),
            )?;
            misuse.metrics.misuse_alert();
            tracing::warn!(user_id = %user.id, cases, "audit: possible insider misuse flagged");
        }
        Ok(())
    }

    /// The alert for a machine client: more cases read about than the threshold within the
    /// window, flagged once per window (a high-severity event about the client, and an e-mail
    /// to the coordinators of its organisation's country).
    fn check_client(
        &self,
        conn: &mut DbConn,
        client: &str,
        since: chrono::NaiveDateTime,
    ) -> Result<(), DbError> {
        let cases = audit::cases_read_by_client(conn, client, since)?;
        if cases <= self.threshold
            || audit::recorded_since(conn, AuditAction::AuditMisuseAlert, "client", client, since)?
        {
            return Ok(());
        }
        let Ok(client_id) = client.parse() else {
            return Ok(());
        };
        let Some((client, organisation)) = ApiClient::with_organisation(conn, &client_id)? else {
            return Ok(());
        };
        Entry::new(AuditAction::AuditMisuseAlert, Outcome::Flagged)
            .keyed(&self.audit_events)
            .for_organisation(&organisation.id)
            .on("client", &client.id)
            .purpose(format!(
                "{cases} cases read about within {} minutes",
                self.window.num_minutes()
            ))
            .high_severity(true)
            .write(conn)?;
        notifications::tell_of_client_misuse(
            conn,
            &client,
            &organisation,
            cases,
            self.window.num_minutes(),
            &self.public_url,
        )?;
        tracing::warn!(
            client_id = %client.id,
            cases,
            "audit: possible misuse by a machine client flagged"
        );
        Ok(())
    }
}
