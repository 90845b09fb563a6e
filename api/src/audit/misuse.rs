//! The insider-misuse alert: a user who read personal groups of more cases than the threshold
//! within the window is flagged once per window, by a high-severity audit event and an e-mail
//! to the coordinators of their organisation's country (the user and a link; no case data).
//! The audit sealer hands it each batch of events it seals.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use tumaini_db::models::audit::{self, AuditEvent, AuditRecord};
use tumaini_db::models::{Organisation, User, outbox};
use tumaini_db::time::now_utc;
use tumaini_db::vocabulary::Role;
use tumaini_db::{DbConn, DbError};

use crate::config::AuditSettings;

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
}

/// How often one reader's reads are counted at most.
const RECOUNT_EVERY: Duration = Duration::from_secs(5);

impl MisuseWatch {
    /// A watch with the configured threshold and window; alerts link to `public_url`.
    pub fn new(settings: &AuditSettings, public_url: String) -> Self {
        Self {
            threshold: i64::from(settings.misuse_threshold),
            window: chrono::Duration::from_std(settings.misuse_window)
                .unwrap_or(chrono::Duration::hours(1)),
            public_url,
            counted: HashMap::new(),
            pending: BTreeSet::new(),
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
                    && e.action.ends_with(".read")
                    && !e.field_groups.is_empty()
            })
            .filter_map(|e| e.actor_user_id.clone());
        misuse.pending.extend(fresh);
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
            let reader = reader.as_str();
            let cases = audit::cases_read_with_groups(conn, reader, since)?;
            if cases <= misuse.threshold
                || audit::recorded_since(conn, "audit.misuse_alert", reader, since)?
            {
                continue;
            }
            let Ok(user_id) = reader.parse() else {
                continue;
            };
            let user = User::find(conn, &user_id)?;
            let organisation = Organisation::find(conn, &user.organisation_id)?;
            audit::record(
                conn,
                &AuditRecord {
                    action: "audit.misuse_alert".to_owned(),
                    outcome: "flagged".to_owned(),
                    resource_type: Some("user".to_owned()),
                    resource_id: Some(reader.to_owned()),
                    actor_organisation_id: Some(organisation.id.to_string()),
                    purpose: Some(format!(
                        "{cases} cases read with personal groups within {} minutes",
                        misuse.window.num_minutes()
                    )),
                    high_severity: true,
                    ..AuditRecord::default()
                },
            )?;
            let coordinators = User::notification_recipients(
                conn,
                &[Role::Coordinator],
                None,
                Some(&organisation.country),
            )?;
            for coordinator in &coordinators {
                outbox::enqueue(
                    conn,
                    &coordinator.email,
                    "Possible misuse of case records in Tumaini",
                    &format!(
                        "A {} of {} read personal details of {cases} cases within {} minutes, more than the {} allowed before an alert.\n\nReview their access in the audit trail: {}/audit?user_id={}\n",
                        user.role,
                        organisation.name,
                        misuse.window.num_minutes(),
                        misuse.threshold,
                        misuse.public_url,
                        user.id
                    ),
                )?;
            }
            tracing::warn!(user_id = %user.id, cases, "audit: possible insider misuse flagged");
        }
        Ok(())
    }
}
