//! The tamper-evident audit trail: a SHA-256 hash chain over the audit events, with checkpoints
//! signed by an Ed25519 audit key kept apart from the data keys.
//!
//! - Writers append `audit_events` rows freely, each in the transaction of the action it
//!   records. Nothing here slows them down.
//! - One sealer at a time ([`seal`]; a transaction-level advisory lock on PostgreSQL, the write
//!   lock on SQLite) gives the events not yet sealed the next positions, in the order of their
//!   time and id, and stores for each its leaf hash and the running chain hash:
//!   `leaf = SHA-256(0x00 || encoding_v1(event))`, `chain_n = SHA-256(0x01 || chain_(n-1) || leaf_n)`,
//!   `chain_0` = 32 zero bytes. The encoding is versioned, length-prefixed and covers every
//!   column of the event.
//! - Every so often it signs a checkpoint: the C2SP signed-note body
//!   `tumaini-audit-v1\n<position>\n<base64 chain hash>\n`, signed with Ed25519.
//! - [`verify`] recomputes everything from the rows and reports the first position where the
//!   stored chain and the events disagree, and any checkpoint whose hash or signature fails.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
pub use ed25519_dalek::VerifyingKey;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _};
use sha2::{Digest as _, Sha256};

use crate::ids::AuditEventId;
use crate::models::audit::AuditEvent;
use crate::schema::{audit_chain, audit_checkpoints, audit_events};
use crate::time::now_utc;
use crate::{DbConn, DbError};

/// The version byte of the event encoding.
pub const ENCODING_VERSION: u8 = 1;
/// The origin line of checkpoint notes.
pub const ORIGIN: &str = "tumaini-audit-v1";
const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;
/// The chain hash before the first event.
pub const GENESIS: [u8; 32] = [0; 32];
/// How far back (by event time) a sealing round looks for events committed late.
const STRAGGLER_WINDOW_MINUTES: i64 = 10;
/// An event sealed this much older than its predecessor was inserted afterwards.
const BACKDATING_TOLERANCE_MINUTES: i64 = 15;
/// The advisory lock key of the sealer ("tumaini" in ASCII, shortened).
const SEALER_LOCK: i64 = 0x7475_6d61_696e;

fn put(out: &mut Vec<u8>, field: Option<&str>) {
    match field {
        None => out.push(0),
        Some(text) => {
            out.push(1);
            let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(text.as_bytes());
        }
    }
}

/// The canonical, versioned encoding of an event: a version byte, then every column in a
/// fixed order, each as `0` (absent) or `1 || u32 length (big-endian) || UTF-8 bytes`, and
/// last the client's request id only when there is one (and the acting machine client, after
/// it, only when there is one). Times are written as
/// `YYYY-MM-DDTHH:MM:SS.ffffff` (microseconds, UTC).
pub fn encode(event: &AuditEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.push(ENCODING_VERSION);
    let time = event
        .occurred_at
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string();
    for field in [
        Some(event.id.as_str()),
        Some(time.as_str()),
        Some(event.action.as_str()),
        Some(event.outcome.as_str()),
        event.actor_user_id.as_deref(),
        event.actor_organisation_id.as_deref(),
        event.actor_role.as_deref(),
        event.resource_type.as_deref(),
        event.resource_id.as_deref(),
        Some(event.field_groups.as_str()),
        event.purpose.as_deref(),
        event.decision.as_deref(),
        Some(event.policy_ids.as_str()),
        event.request_id.as_deref(),
        event.client_hash.as_deref(),
        Some(event.severity.as_str()),
    ] {
        put(&mut out, field);
    }
    // Added later: written only when present, so every event recorded before the column
    // existed keeps its encoding (and its place in the chain).
    if let Some(client_request_id) = event.client_request_id.as_deref() {
        put(&mut out, Some(client_request_id));
    }
    // Added later still: the acting machine client. When there is one, the client's request id
    // is written first in any case (as absent when there is none), so that the two are never
    // mistaken for each other; an event without a client keeps its former encoding.
    if let Some(client) = event.actor_client_id.as_deref() {
        if event.client_request_id.is_none() {
            put(&mut out, None);
        }
        put(&mut out, Some(client));
    }
    out
}

/// `SHA-256(0x00 || encoding)`.
pub fn leaf_hash(event: &AuditEvent) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(encode(event));
    hasher.finalize().into()
}

/// `SHA-256(0x01 || previous || leaf)`.
pub fn chain_hash(previous: &[u8; 32], leaf: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(previous);
    hasher.update(leaf);
    hasher.finalize().into()
}

/// The signed-note body of a checkpoint.
pub fn note_body(position: i64, chain: &[u8]) -> String {
    format!("{ORIGIN}\n{position}\n{}\n", BASE64.encode(chain))
}

/// The key id of a verifying key: the first four bytes of SHA-256 over the key name, a newline,
/// the algorithm byte (1, Ed25519) and the key (the C2SP signed-note key hash), in hex.
pub fn key_id(key: &VerifyingKey) -> String {
    let mut hasher = Sha256::new();
    hasher.update(ORIGIN.as_bytes());
    hasher.update(b"\n");
    hasher.update([0x01]);
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// A checkpoint as stored and exported.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_checkpoints)]
pub struct Checkpoint {
    /// The chain position it covers (every event up to and including it).
    pub position: i64,
    /// The chain hash at that position.
    pub chain_hash: Vec<u8>,
    /// When it was signed.
    pub signed_at: NaiveDateTime,
    /// The signing key's id.
    pub key_id: String,
    /// Ed25519 signature over [`note_body`].
    pub signature: Vec<u8>,
}

impl Checkpoint {
    /// The checkpoint as a C2SP signed note: the body, a blank line, and the signature line
    /// `— <origin> <base64(key hash || signature)>`.
    pub fn signed_note(&self) -> String {
        let mut sig = hex_to_bytes(&self.key_id);
        sig.extend_from_slice(&self.signature);
        format!(
            "{}\n\u{2014} {ORIGIN} {}\n",
            note_body(self.position, &self.chain_hash),
            BASE64.encode(sig)
        )
    }

    /// Whether `key` signed this checkpoint.
    pub fn signed_by(&self, key: &VerifyingKey) -> bool {
        let Ok(signature) = ed25519_dalek::Signature::from_slice(&self.signature) else {
            return false;
        };
        key.verify(
            note_body(self.position, &self.chain_hash).as_bytes(),
            &signature,
        )
        .is_ok()
    }

    /// The checkpoints after chain position `after`, oldest first, at most `limit`.
    pub fn after(conn: &mut DbConn, after: i64, limit: i64) -> Result<Vec<Checkpoint>, DbError> {
        Ok(audit_checkpoints::table
            .filter(audit_checkpoints::position.gt(after))
            .order(audit_checkpoints::position)
            .limit(limit)
            .select(Checkpoint::as_select())
            .load(conn)?)
    }

    /// Every checkpoint, oldest first.
    pub fn all(conn: &mut DbConn) -> Result<Vec<Checkpoint>, DbError> {
        Ok(audit_checkpoints::table
            .order(audit_checkpoints::position)
            .select(Checkpoint::as_select())
            .load(conn)?)
    }
}

fn hex_to_bytes(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .filter_map(|i| text.get(2 * i..2 * i + 2))
        .filter_map(|pair| u8::from_str_radix(pair, 16).ok())
        .collect()
}

/// The audit signing key.
pub struct AuditSigner {
    key: SigningKey,
}

impl std::fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSigner")
            .field("key_id", &key_id(&self.key.verifying_key()))
            .finish_non_exhaustive()
    }
}

impl AuditSigner {
    /// A signer from a 32-byte Ed25519 seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    fn sign(&self, position: i64, chain: &[u8; 32]) -> Checkpoint {
        let signature = self.key.sign(note_body(position, chain).as_bytes());
        Checkpoint {
            position,
            chain_hash: chain.to_vec(),
            signed_at: now_utc(),
            key_id: key_id(&self.key.verifying_key()),
            signature: signature.to_bytes().to_vec(),
        }
    }
}

/// How a sealing round behaves.
#[derive(Debug, Clone, Copy)]
pub struct SealOptions {
    /// Events sealed per round at most.
    pub batch: i64,
    /// Look at every unsealed event, not only recent ones (at start and now and then).
    pub full_sweep: bool,
    /// Otherwise look this far back before the last sealed event's time, for events whose
    /// transaction committed late (stragglers); `None`: only from that time on.
    pub straggler_window: Option<Duration>,
    /// Sign a checkpoint when the last one is older than this (and events were sealed since).
    pub checkpoint_every: Duration,
}

impl Default for SealOptions {
    fn default() -> Self {
        Self {
            batch: 2_000,
            full_sweep: false,
            straggler_window: None,
            checkpoint_every: Duration::seconds(60),
        }
    }
}

/// What a sealing round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sealed {
    /// Events given a position.
    pub events: Vec<(i64, AuditEvent)>,
    /// The checkpoint signed, if one was.
    pub checkpoint: Option<i64>,
    /// Another sealer held the lock; nothing was done.
    pub busy: bool,
}

fn last_sealed(conn: &mut DbConn) -> Result<Option<(i64, [u8; 32], NaiveDateTime)>, DbError> {
    let row: Option<(i64, Vec<u8>, NaiveDateTime)> = audit_chain::table
        .inner_join(audit_events::table)
        .order(audit_chain::position.desc())
        .select((
            audit_chain::position,
            audit_chain::chain_hash,
            audit_events::occurred_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(position, hash, at)| (position, to_hash(&hash), at)))
}

fn to_hash(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    if bytes.len() == 32 {
        out.copy_from_slice(bytes);
    }
    out
}

fn try_lock(conn: &mut DbConn) -> Result<bool, DbError> {
    match conn {
        DbConn::Postgresql(pg) => Ok(diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
            &format!("pg_try_advisory_xact_lock({SEALER_LOCK})"),
        ))
        .get_result::<bool>(pg)?),
        // SQLite: the write transaction (BEGIN IMMEDIATE) is the lock.
        DbConn::Sqlite(_) => Ok(true),
    }
}

/// One sealing round, in one write transaction: seals up to `options.batch` events and signs a
/// checkpoint when one is due.
pub fn seal(
    conn: &mut DbConn,
    signer: &AuditSigner,
    options: SealOptions,
) -> Result<Sealed, DbError> {
    seal_with(conn, signer, options, |_, _| Ok(()))
}

/// [`seal`], then `after` on the events just sealed (possibly none), in the same transaction
/// and under the same lock (so with several replicas exactly one runs it for each event).
pub fn seal_with(
    conn: &mut DbConn,
    signer: &AuditSigner,
    options: SealOptions,
    after: impl FnOnce(&mut DbConn, &[(i64, AuditEvent)]) -> Result<(), DbError>,
) -> Result<Sealed, DbError> {
    conn.write_transaction(|conn| {
        if !try_lock(conn)? {
            return Ok(Sealed {
                busy: true,
                ..Sealed::default()
            });
        }
        let last = last_sealed(conn)?;
        let (mut position, mut chain) = last.map_or((0, GENESIS), |(p, h, _)| (p, h));
        let mut query = audit_events::table
            .left_join(audit_chain::table)
            .filter(audit_chain::event_id.is_null())
            .order((audit_events::occurred_at, audit_events::id))
            .limit(options.batch)
            .select(AuditEvent::as_select())
            .into_boxed();
        // The events after the last sealed one are found by an index range scan; looking
        // further back walks sealed rows, so it is done only now and then.
        if let (false, Some((_, _, at))) = (options.full_sweep, last) {
            let since = at - options.straggler_window.unwrap_or_else(Duration::zero);
            query = query.filter(audit_events::occurred_at.ge(since));
        }
        let unsealed: Vec<AuditEvent> = query.load(conn)?;
        let now = now_utc();
        let mut sealed = Vec::with_capacity(unsealed.len());
        let mut rows = Vec::with_capacity(unsealed.len());
        for event in unsealed {
            position += 1;
            let leaf = leaf_hash(&event);
            chain = chain_hash(&chain, &leaf);
            rows.push((
                audit_chain::position.eq(position),
                audit_chain::event_id.eq(event.id.clone()),
                audit_chain::leaf_hash.eq(leaf.to_vec()),
                audit_chain::chain_hash.eq(chain.to_vec()),
                audit_chain::sealed_at.eq(now),
            ));
            sealed.push((position, event));
        }
        // One multi-row INSERT per thousand rows on PostgreSQL (a round trip each would hold
        // the sealer back under load); SQLite runs in-process, row by row.
        match conn {
            DbConn::Postgresql(pg) => {
                for chunk in rows.chunks(1_000) {
                    diesel::insert_into(audit_chain::table)
                        .values(chunk)
                        .execute(pg)?;
                }
            }
            DbConn::Sqlite(lite) => {
                for row in &rows {
                    diesel::insert_into(audit_chain::table)
                        .values(row.clone())
                        .execute(lite)?;
                }
            }
        }
        let last_checkpoint: Option<(i64, NaiveDateTime)> = audit_checkpoints::table
            .order(audit_checkpoints::position.desc())
            .select((audit_checkpoints::position, audit_checkpoints::signed_at))
            .first(conn)
            .optional()?;
        let due = position > 0
            && last_checkpoint.is_none_or(|(at_position, signed_at)| {
                at_position < position && now - signed_at >= options.checkpoint_every
            });
        let checkpoint = if due {
            diesel::insert_into(audit_checkpoints::table)
                .values(signer.sign(position, &chain))
                .execute(conn)?;
            Some(position)
        } else {
            None
        };
        // Called on every round the lock is held, with no events too: work `after` put off
        // (a reader to count again later) must not wait for the next event to be written.
        after(conn, &sealed)?;
        Ok(Sealed {
            events: sealed,
            checkpoint,
            busy: false,
        })
    })
}

/// Signs a checkpoint at the chain's head now, if the head has none (for exports and tests).
pub fn checkpoint_now(conn: &mut DbConn, signer: &AuditSigner) -> Result<Option<i64>, DbError> {
    conn.write_transaction(|conn| {
        if !try_lock(conn)? {
            return Ok(None);
        }
        let Some((position, chain, _)) = last_sealed(conn)? else {
            return Ok(None);
        };
        let exists = diesel::select(diesel::dsl::exists(
            audit_checkpoints::table.filter(audit_checkpoints::position.eq(position)),
        ))
        .get_result::<bool>(conn)?;
        if !exists {
            diesel::insert_into(audit_checkpoints::table)
                .values(signer.sign(position, &chain))
                .execute(conn)?;
        }
        Ok(Some(position))
    })
}

/// Where the chain first breaks, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Break {
    /// The chain position.
    pub position: i64,
    /// What is wrong there.
    pub reason: String,
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Sealed events recomputed.
    pub events: i64,
    /// Checkpoints checked.
    pub checkpoints: usize,
    /// The first break in the chain, if any.
    pub first_break: Option<Break>,
    /// Checkpoints whose hash or signature failed.
    pub bad_checkpoints: Vec<Break>,
    /// Events older than the straggler window and still not sealed.
    pub unsealed: i64,
}

impl Report {
    /// Nothing wrong.
    pub fn intact(&self) -> bool {
        self.first_break.is_none() && self.bad_checkpoints.is_empty()
    }
}

type ChainRow = (i64, AuditEventId, Vec<u8>, Vec<u8>);

/// Recomputes the chain from the events and checks every checkpoint against it and against
/// `keys` (any of them may have signed). `external` are checkpoints from an outside witness
/// (`verify --against`), held to the same test. `progress(done, total)` is called per page.
pub fn verify(
    conn: &mut DbConn,
    keys: &[VerifyingKey],
    external: &[Checkpoint],
    mut progress: impl FnMut(i64, i64),
) -> Result<Report, DbError> {
    const PAGE: i64 = 10_000;
    let total: i64 = audit_chain::table.count().get_result(conn)?;
    let mut report = Report::default();
    let stored = Checkpoint::all(conn)?;
    let mut wanted: HashMap<i64, Vec<(&Checkpoint, bool)>> = HashMap::new();
    for c in &stored {
        wanted.entry(c.position).or_default().push((c, false));
    }
    for c in external {
        wanted.entry(c.position).or_default().push((c, true));
    }
    let mut checkpoint_faults: Vec<Break> = Vec::new();
    let mut chain = GENESIS;
    let mut expected = 1i64;
    let mut previous_time: Option<NaiveDateTime> = None;
    let note = |report: &mut Report, position: i64, reason: String| {
        if report.first_break.is_none() {
            report.first_break = Some(Break { position, reason });
        }
    };
    'pages: loop {
        let rows: Vec<ChainRow> = audit_chain::table
            .filter(audit_chain::position.ge(expected))
            .order(audit_chain::position)
            .limit(PAGE)
            .select((
                audit_chain::position,
                audit_chain::event_id,
                audit_chain::leaf_hash,
                audit_chain::chain_hash,
            ))
            .load(conn)?;
        if rows.is_empty() {
            break;
        }
        let ids: Vec<&AuditEventId> = rows.iter().map(|r| &r.1).collect();
        let events: HashMap<AuditEventId, AuditEvent> = audit_events::table
            .filter(audit_events::id.eq_any(ids))
            .select(AuditEvent::as_select())
            .load(conn)?
            .into_iter()
            .map(|e| (e.id.clone(), e))
            .collect();
        for (position, event_id, stored_leaf, stored_chain) in &rows {
            if *position != expected {
                note(
                    &mut report,
                    expected,
                    "missing: the chain skips this position (a row was removed)".into(),
                );
                break 'pages;
            }
            let Some(event) = events.get(event_id) else {
                note(
                    &mut report,
                    *position,
                    "missing: the event sealed here is gone".into(),
                );
                break 'pages;
            };
            let leaf = leaf_hash(event);
            if leaf.as_slice() != stored_leaf.as_slice() {
                note(
                    &mut report,
                    *position,
                    "changed: the event differs from what was sealed".into(),
                );
                break 'pages;
            }
            let next = chain_hash(&chain, &leaf);
            if next.as_slice() != stored_chain.as_slice() {
                note(
                    &mut report,
                    *position,
                    "broken: the chain hash does not follow (reordered or inserted)".into(),
                );
                break 'pages;
            }
            if let Some(before) = previous_time
                && event.occurred_at < before - Duration::minutes(BACKDATING_TOLERANCE_MINUTES)
            {
                note(
                    &mut report,
                    *position,
                    "out of order: the event is older than the one before it (inserted afterwards)"
                        .into(),
                );
                break 'pages;
            }
            previous_time = Some(event.occurred_at);
            chain = next;
            report.events += 1;
            if let Some(checkpoints) = wanted.remove(position) {
                for (c, external) in checkpoints {
                    let source = if external {
                        "witness checkpoint"
                    } else {
                        "checkpoint"
                    };
                    if c.chain_hash.as_slice() != chain.as_slice() {
                        checkpoint_faults.push(Break {
                            position: *position,
                            reason: format!("{source}: the chain here differs from the signed one"),
                        });
                    } else if !keys.iter().any(|k| c.signed_by(k)) {
                        checkpoint_faults.push(Break {
                            position: *position,
                            reason: format!("{source}: the signature is not the audit key's"),
                        });
                    }
                    report.checkpoints += 1;
                }
            }
            expected += 1;
        }
        progress(report.events, total);
    }
    // Checkpoints beyond the verified chain: signed positions that no longer exist, or lie
    // after the break.
    let mut beyond: Vec<i64> = wanted.keys().copied().collect();
    beyond.sort_unstable();
    for position in beyond {
        if report.first_break.is_none() {
            checkpoint_faults.push(Break {
                position,
                reason: "checkpoint: signed for a position the chain no longer has (rows removed at the end)".into(),
            });
        }
        report.checkpoints += 1;
    }
    report.bad_checkpoints = checkpoint_faults;
    let horizon = now_utc() - Duration::minutes(STRAGGLER_WINDOW_MINUTES);
    report.unsealed = audit_events::table
        .left_join(audit_chain::table)
        .filter(audit_chain::event_id.is_null())
        .filter(audit_events::occurred_at.lt(horizon))
        .count()
        .get_result(conn)?;
    Ok(report)
}

/// Unsealed events, for readiness and tests.
pub fn unsealed_count(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(audit_events::table
        .left_join(audit_chain::table)
        .filter(audit_chain::event_id.is_null())
        .count()
        .get_result(conn)?)
}

/// A verifying key from its base64 form.
pub fn parse_verifying_key(text: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = BASE64.decode(text.trim()).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> AuditEvent {
        AuditEvent {
            id: AuditEventId::generate(),
            occurred_at: now_utc(),
            action: "case.read".into(),
            outcome: "success".into(),
            actor_user_id: Some("u".into()),
            actor_organisation_id: None,
            actor_role: Some("case_worker".into()),
            resource_type: Some("case".into()),
            resource_id: Some("c".into()),
            field_groups: "identity".into(),
            purpose: Some("assistance".into()),
            decision: Some("allow".into()),
            policy_ids: "case.owner-staff".into(),
            request_id: None,
            client_hash: None,
            severity: "normal".into(),
            client_request_id: None,
            actor_client_id: None,
        }
    }

    #[test]
    fn a_client_request_id_is_encoded_only_when_present() {
        let a = event();
        let mut b = a.clone();
        b.client_request_id = Some("gateway-123".into());
        assert!(
            encode(&b).starts_with(&encode(&a)),
            "events of before keep their encoding"
        );
        assert_ne!(encode(&a), encode(&b));
    }

    #[test]
    fn the_encoding_separates_absent_from_empty_and_fields_from_each_other() {
        let mut a = event();
        let mut b = a.clone();
        a.request_id = None;
        b.request_id = Some(String::new());
        assert_ne!(encode(&a), encode(&b));
        let mut c = a.clone();
        c.action = "case.rea".into();
        c.outcome = "dsuccess".into();
        assert_ne!(
            encode(&a),
            encode(&c),
            "length prefixes keep field boundaries"
        );
        assert_eq!(encode(&a)[0], ENCODING_VERSION);
    }

    #[test]
    fn leaves_and_nodes_are_domain_separated() {
        let e = event();
        let leaf = leaf_hash(&e);
        let mut plain = Sha256::new();
        plain.update(encode(&e));
        let plain: [u8; 32] = plain.finalize().into();
        assert_ne!(leaf, plain);
        assert_ne!(chain_hash(&GENESIS, &leaf), chain_hash(&leaf, &GENESIS));
    }

    #[test]
    fn checkpoints_verify_with_their_key_only() {
        let signer = AuditSigner::from_seed(&[7; 32]);
        let other = AuditSigner::from_seed(&[8; 32]);
        let c = signer.sign(42, &[9; 32]);
        assert!(c.signed_by(&signer.verifying_key()));
        assert!(!c.signed_by(&other.verifying_key()));
        let mut moved = c.clone();
        moved.position = 43;
        assert!(
            !moved.signed_by(&signer.verifying_key()),
            "the position is signed"
        );
        let note = c.signed_note();
        assert!(note.starts_with("tumaini-audit-v1\n42\n"));
        assert!(note.contains("\n\n\u{2014} tumaini-audit-v1 "));
        assert_eq!(key_id(&signer.verifying_key()).len(), 8);
    }
}
