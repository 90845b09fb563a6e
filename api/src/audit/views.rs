//! What the audit trail's endpoints answer, as typed documents: events (by time, or by chain
//! position for incremental pulls), who accessed a case, the verification report, the signed
//! checkpoints and the key that signs them. Times are UTC with an explicit offset.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tumaini_db::audit_chain::{self, Break, Checkpoint, Report, VerifyingKey};
use tumaini_db::models::audit::AuditEvent;
use utoipa::ToSchema;

/// One audited action. Never a personal value: who (an account id, an organisation, a role),
/// what, about which object, the decision, and the request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEventView {
    /// The event's id.
    pub id: String,
    /// Its position in the hash chain, in chain-ordered pulls (`after=`); null in time-ordered
    /// pages.
    pub position: Option<i64>,
    /// The chain hash at that position (hex), in chain-ordered pulls: a checkpoint at this
    /// position signs this value.
    pub chain_hash: Option<String>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// The action code, e.g. `case.read` (see `GET /api/v1/vocabularies`).
    pub action: String,
    /// `success`, `denied`, `failure` or `flagged`.
    pub outcome: String,
    /// The acting account, when a person acted.
    pub actor_user_id: Option<String>,
    /// The acting account's organisation.
    pub actor_organisation_id: Option<String>,
    /// The acting account's role at the time.
    pub actor_role: Option<String>,
    /// The acting machine client, when a client acted (then no account and no role).
    pub actor_client_id: Option<String>,
    /// The kind of object acted on (`case`, `referral`, `user`, ...).
    pub resource_type: Option<String>,
    /// The object's id, unless it lies outside your scope.
    pub resource_id: Option<String>,
    /// The field groups read or written.
    pub field_groups: Vec<String>,
    /// The stated purpose of access.
    pub purpose: Option<String>,
    /// The policy decision (`allow` or `deny`), when one was taken.
    pub decision: Option<String>,
    /// The policies that decided.
    pub policy_ids: Vec<String>,
    /// The request's id (`X-Request-Id`).
    pub request_id: Option<String>,
    /// `normal`, or `high` for break-glass openings and misuse alerts.
    pub severity: String,
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl AuditEventView {
    /// The view of a stored event, without a chain position.
    pub fn of(e: &AuditEvent) -> Self {
        Self {
            id: e.id.to_string(),
            position: None,
            chain_hash: None,
            occurred_at: e.occurred_at.and_utc(),
            action: e.action.clone(),
            outcome: e.outcome.clone(),
            actor_user_id: e.actor_user_id.clone(),
            actor_organisation_id: e.actor_organisation_id.clone(),
            actor_role: e.actor_role.clone(),
            actor_client_id: e.actor_client_id.clone(),
            resource_type: e.resource_type.clone(),
            resource_id: e.resource_id.clone(),
            field_groups: list(&e.field_groups),
            purpose: e.purpose.clone(),
            decision: e.decision.clone(),
            policy_ids: list(&e.policy_ids),
            request_id: e.request_id.clone(),
            severity: e.severity.clone(),
        }
    }

    /// The view of a sealed event at `position`, whose chain hash is `chain_hash`.
    pub fn chained(e: &AuditEvent, position: i64, chain_hash: &[u8]) -> Self {
        Self {
            position: Some(position),
            chain_hash: Some(hex::encode(chain_hash)),
            ..Self::of(e)
        }
    }
}

/// A page of audit events.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventPage {
    /// The events, oldest first (by time), or in chain order with `after=`.
    pub items: Vec<AuditEventView>,
    /// For time-ordered pages: the `cursor` of the next page, null on the last.
    pub next_cursor: Option<String>,
    /// For chain-ordered pulls: the `after` of the next pull (the last position returned, or
    /// the one you sent when nothing new was sealed). Keep it, and pull from it next time.
    pub next_after: Option<i64>,
}

/// One account (or machine client, or the system) that acted on a case, summarised.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Accessor {
    /// The account, or null for a machine client or the system (jobs, the deadline scanner).
    pub user_id: Option<String>,
    /// The machine client, when a client acted.
    pub client_id: Option<String>,
    /// Its organisation.
    pub organisation_id: Option<String>,
    /// Its role at the first event.
    pub role: Option<String>,
    /// The first event.
    pub first_at: DateTime<Utc>,
    /// The last event.
    pub last_at: DateTime<Utc>,
    /// How many events.
    pub events: i64,
    /// How many of them were refusals.
    pub denied: i64,
    /// The field groups touched.
    pub groups: Vec<String>,
    /// The purposes stated.
    pub purposes: Vec<String>,
    /// The action codes.
    pub actions: Vec<String>,
    /// Whether any event was a break-glass opening.
    pub break_glass: bool,
}

impl Accessor {
    /// The summary of one first event.
    pub fn first(e: &AuditEvent) -> Self {
        Self {
            user_id: e.actor_user_id.clone(),
            client_id: e.actor_client_id.clone(),
            organisation_id: e.actor_organisation_id.clone(),
            role: e.actor_role.clone(),
            first_at: e.occurred_at.and_utc(),
            last_at: e.occurred_at.and_utc(),
            events: 0,
            denied: 0,
            groups: Vec::new(),
            purposes: Vec::new(),
            actions: Vec::new(),
            break_glass: false,
        }
    }

    /// Adds one more event by the same actor.
    pub fn add(&mut self, e: &AuditEvent) {
        self.last_at = e.occurred_at.and_utc();
        self.events += 1;
        if e.outcome == "denied" {
            self.denied += 1;
        }
        // A break-glass opening, not any high-severity event (a subject access export is one
        // too).
        if e.action == super::AuditAction::CaseBreakGlassOpen.code() {
            self.break_glass = true;
        }
        let merge = |into: &mut Vec<String>, values: Vec<String>| {
            for value in values {
                if !into.contains(&value) {
                    into.push(value);
                }
            }
        };
        merge(&mut self.groups, list(&e.field_groups));
        merge(&mut self.purposes, e.purpose.iter().cloned().collect());
        merge(&mut self.actions, vec![e.action.clone()]);
    }
}

/// Who accessed a case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisclosureReport {
    /// The case.
    pub case_id: String,
    /// Its reference.
    pub reference: Option<String>,
    /// Everyone who read or changed it or was refused, one entry per account.
    pub accessed_by: Vec<Accessor>,
}

/// A position where the chain or a checkpoint does not hold.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BreakView {
    /// The chain position.
    pub position: i64,
    /// What does not hold there.
    pub reason: String,
}

impl From<&Break> for BreakView {
    fn from(b: &Break) -> Self {
        Self {
            position: b.position,
            reason: b.reason.clone(),
        }
    }
}

/// The verification of the whole chain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VerifyReport {
    /// Whether the chain, every event's MAC and every checkpoint hold.
    pub intact: bool,
    /// Sealed events recomputed.
    pub events: i64,
    /// Checkpoints checked.
    pub checkpoints: usize,
    /// The first break in the chain or its events, if any.
    pub first_break: Option<BreakView>,
    /// Every break in the chain or its events, in chain order (at most 1,000 listed).
    pub breaks: Vec<BreakView>,
    /// How many breaks there are in all.
    pub breaks_total: usize,
    /// Checkpoints whose hash, signature or place in the sequence of checkpoints failed.
    pub bad_checkpoints: Vec<BreakView>,
    /// Events proven by a valid signed checkpoint with nothing broken before it.
    pub proven: i64,
    /// Sealed events after the last valid checkpoint: not provable until one covers them
    /// (normally a few seconds' worth).
    pub unprovable: i64,
    /// Whether every event's MAC was checked (it is, on the server).
    pub macs_checked: bool,
    /// Events recorded before events carried MACs, proven by checkpoints only.
    pub without_mac: i64,
    /// Events older than the sealing window and still not sealed.
    pub unsealed: i64,
    /// The id of the key the checkpoints were checked against.
    pub key_id: String,
}

impl VerifyReport {
    /// The report of `report`, checked against the key `key_id`.
    pub fn of(report: &Report, key_id: String) -> Self {
        Self {
            intact: report.intact(),
            events: report.events,
            checkpoints: report.checkpoints,
            first_break: report.first_break.as_ref().map(BreakView::from),
            breaks: report.breaks.iter().map(BreakView::from).collect(),
            breaks_total: report.breaks_total,
            bad_checkpoints: report.bad_checkpoints.iter().map(BreakView::from).collect(),
            proven: report.proven,
            unprovable: report.unprovable,
            macs_checked: report.macs_checked,
            without_mac: report.without_mac,
            unsealed: report.unsealed,
            key_id,
        }
    }
}

/// A signed checkpoint of the chain: every event up to `position` hashes to `chain_hash`. The
/// same document is a line of the witness file and an item of `export-checkpoints`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckpointView {
    /// The last chain position it covers.
    pub position: i64,
    /// The chain hash at that position (base64).
    pub chain_hash: String,
    /// When it was signed.
    pub signed_at: DateTime<Utc>,
    /// The signing key's id (hex; see `GET /api/v1/audit/public-key`).
    pub key_id: String,
    /// The Ed25519 signature over the note's body (base64).
    pub signature: String,
    /// Its number in the sequence of checkpoints (absent on checkpoints signed before
    /// checkpoints were numbered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<i64>,
    /// SHA-256 of the previous checkpoint's note body (base64; 32 zero bytes for the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_hash: Option<String>,
    /// The checkpoint as a C2SP signed note (tlog-checkpoint): origin, size, hash, the
    /// extension line `<sequence> <previous_hash>`, a blank line, and the signature line. Any
    /// C2SP note verifier checks it with `verifier_key`.
    pub note: String,
}

impl From<&Checkpoint> for CheckpointView {
    fn from(c: &Checkpoint) -> Self {
        Self {
            position: c.position,
            chain_hash: BASE64.encode(&c.chain_hash),
            signed_at: c.signed_at.and_utc(),
            key_id: c.key_id.clone(),
            signature: BASE64.encode(&c.signature),
            sequence: c.sequence,
            previous_hash: c.previous_hash.as_ref().map(|h| BASE64.encode(h)),
            note: c.signed_note(),
        }
    }
}

impl CheckpointView {
    /// The checkpoint it describes (its note is rebuilt from the fields, never trusted).
    pub fn to_checkpoint(&self) -> Result<Checkpoint, base64::DecodeError> {
        Ok(Checkpoint {
            position: self.position,
            chain_hash: BASE64.decode(&self.chain_hash)?,
            signed_at: self.signed_at.naive_utc(),
            key_id: self.key_id.clone(),
            signature: BASE64.decode(&self.signature)?,
            sequence: self.sequence,
            previous_hash: self
                .previous_hash
                .as_deref()
                .map(|h| BASE64.decode(h))
                .transpose()?,
        })
    }
}

/// A page of checkpoints.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckpointPage {
    /// The checkpoints, oldest first.
    pub items: Vec<CheckpointView>,
    /// The `after` of the next page (the last position returned, or the one you sent).
    pub next_after: i64,
}

/// The key that signs the audit trail's checkpoints.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicKey {
    /// The checkpoints' origin line.
    pub origin: String,
    /// Always `ed25519`.
    pub algorithm: String,
    /// The key's id (hex), as checkpoints name it.
    pub key_id: String,
    /// The raw 32-byte public key (base64).
    pub public_key: String,
    /// The key in the C2SP signed-note verifier format: `<origin>+<key id>+<base64(0x01 ||
    /// key)>`.
    pub verifier_key: String,
}

impl PublicKey {
    /// The description of `key`.
    pub fn of(key: &VerifyingKey) -> Self {
        let mut typed = vec![0x01];
        typed.extend_from_slice(key.as_bytes());
        let key_id = audit_chain::key_id(key);
        Self {
            origin: audit_chain::ORIGIN.to_owned(),
            algorithm: "ed25519".to_owned(),
            verifier_key: format!("{}+{key_id}+{}", audit_chain::ORIGIN, BASE64.encode(&typed)),
            key_id,
            public_key: BASE64.encode(key.as_bytes()),
        }
    }
}
