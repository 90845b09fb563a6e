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
//! - Within seconds of sealing it signs a checkpoint: the C2SP signed-note body
//!   `tumaini-audit-v1\n<position>\n<base64 chain hash>\n<sequence> <base64 previous>\n`,
//!   signed with Ed25519. The extension line makes the checkpoints a sequence of their own:
//!   each names its number and the SHA-256 of its predecessor's note, so a deleted or
//!   rolled-back checkpoint breaks it (checkpoints signed before the line existed have none).
//! - Every event carries a MAC (HMAC-SHA256 under an [`EventKey`] derived from the audit key,
//!   which the servers hold and the database does not), written with the event and covered by
//!   its leaf hash: an event inserted by anyone with only database access has no valid MAC.
//! - [`verify`] recomputes everything from the rows and reports every position where the
//!   stored chain, the events, their MACs and the checkpoints disagree, and how much of the
//!   trail a signed checkpoint proves (the rest, after the last one, is unprovable yet). It
//!   needs only the public key; the event key, where the verifier has it, adds the MAC checks.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
pub use ed25519_dalek::VerifyingKey;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _};
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

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
/// How much older than the event sealed before it an event may be without [`verify`] calling
/// it out of order: the furthest a sealer's look-back needs to reach.
pub const BACKDATING_TOLERANCE: Duration = Duration::minutes(BACKDATING_TOLERANCE_MINUTES);
/// The advisory lock key of the sealer ("tumaini" in ASCII, shortened).
const SEALER_LOCK: i64 = 0x7475_6d61_696e;
/// The HKDF `info` of the event key, and the domain of its MACs.
const EVENT_KEY_INFO: &[u8] = b"tumaini audit event mac v1";
/// The domain of the chain rows' MACs.
const CHAIN_MAC_DOMAIN: &[u8] = b"tumaini audit chain mac v1";
/// At most this many breaks are listed in a report (all are counted).
pub const MAX_BREAKS_LISTED: usize = 1_000;

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
/// last the columns added later, in order, up to the last one present (absent ones before it
/// written as absent): the client's request id, the acting machine client, the event's MAC.
/// So an event recorded before a column existed keeps its encoding (and its place in the
/// chain). Times are written as `YYYY-MM-DDTHH:MM:SS.ffffff` (microseconds, UTC).
pub fn encode(event: &AuditEvent) -> Vec<u8> {
    encode_with(event, event.mac.as_deref())
}

fn encode_with(event: &AuditEvent, mac: Option<&str>) -> Vec<u8> {
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
    let later = [
        event.client_request_id.as_deref(),
        event.actor_client_id.as_deref(),
        mac,
    ];
    if let Some(last) = later.iter().rposition(Option::is_some) {
        for field in &later[..=last] {
            put(&mut out, *field);
        }
    }
    out
}

/// The key of the event MACs: derived from the audit key, held by the servers, never stored
/// in the database. It can authenticate events, not sign checkpoints.
#[derive(Clone)]
pub struct EventKey(Arc<Zeroizing<[u8; 32]>>);

impl std::fmt::Debug for EventKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventKey([redacted])")
    }
}

impl EventKey {
    /// The event key of the audit key whose Ed25519 seed is `seed` (HKDF-SHA256).
    pub fn from_audit_seed(seed: &[u8; 32]) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's output limit: the expansion cannot fail.
        let _ = hkdf::Hkdf::<Sha256>::new(None, seed).expand(EVENT_KEY_INFO, key.as_mut());
        Self(Arc::new(key))
    }

    fn hmac(&self, event: &AuditEvent) -> Hmac<Sha256> {
        // HMAC takes a key of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(self.0.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC accepts 32-byte keys"));
        mac.update(EVENT_KEY_INFO);
        mac.update(&encode_with(event, None));
        mac
    }

    /// The MAC of `event` (every column but the MAC itself), in base64.
    pub fn mac(&self, event: &AuditEvent) -> String {
        BASE64.encode(self.hmac(event).finalize().into_bytes())
    }

    /// The MAC of a chain row: its position and chain hash, and the newest checkpoint there
    /// was when it was sealed (its number and note hash; none before numbered checkpoints).
    pub fn chain_mac(&self, position: i64, chain: &[u8], after: Option<(i64, [u8; 32])>) -> String {
        // HMAC takes a key of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(self.0.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC accepts 32-byte keys"));
        mac.update(CHAIN_MAC_DOMAIN);
        mac.update(&position.to_be_bytes());
        mac.update(chain);
        match after {
            None => mac.update(&[0]),
            Some((sequence, note)) => {
                mac.update(&[1]);
                mac.update(&sequence.to_be_bytes());
                mac.update(&note);
            }
        }
        BASE64.encode(mac.finalize().into_bytes())
    }

    /// Whether `event` carries its MAC under this key (compared in constant time).
    pub fn authenticates(&self, event: &AuditEvent) -> bool {
        let Some(Ok(claimed)) = event.mac.as_deref().map(|m| BASE64.decode(m)) else {
            return false;
        };
        self.hmac(event).verify_slice(&claimed).is_ok()
    }
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

/// The signed-note body of a checkpoint signed before checkpoints formed a sequence.
pub fn note_body(position: i64, chain: &[u8]) -> String {
    format!("{ORIGIN}\n{position}\n{}\n", BASE64.encode(chain))
}

/// The signed-note body of a checkpoint in the sequence: the three lines of
/// [`note_body`], then the extension line `<sequence> <base64 SHA-256 of the previous note>`.
pub fn linked_note_body(position: i64, chain: &[u8], sequence: i64, previous: &[u8]) -> String {
    format!(
        "{}{sequence} {}\n",
        note_body(position, chain),
        BASE64.encode(previous)
    )
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
    /// Ed25519 signature over [`Checkpoint::body`].
    pub signature: Vec<u8>,
    /// Its number in the sequence of checkpoints (none for those signed before the sequence).
    pub sequence: Option<i64>,
    /// SHA-256 of the previous checkpoint's note body (32 zero bytes for the first).
    pub previous_hash: Option<Vec<u8>>,
}

impl Checkpoint {
    /// The signed-note body: [`linked_note_body`] for a checkpoint in the sequence,
    /// [`note_body`] for one signed before.
    pub fn body(&self) -> String {
        match (self.sequence, &self.previous_hash) {
            (Some(sequence), Some(previous)) => {
                linked_note_body(self.position, &self.chain_hash, sequence, previous)
            }
            _ => note_body(self.position, &self.chain_hash),
        }
    }

    /// SHA-256 of the note body: what the next checkpoint names as its predecessor.
    pub fn note_hash(&self) -> [u8; 32] {
        Sha256::digest(self.body().as_bytes()).into()
    }

    /// The checkpoint as a C2SP signed note: the body, a blank line, and the signature line
    /// `— <origin> <base64(key hash || signature)>`.
    pub fn signed_note(&self) -> String {
        let mut sig = hex_to_bytes(&self.key_id);
        sig.extend_from_slice(&self.signature);
        format!(
            "{}\n\u{2014} {ORIGIN} {}\n",
            self.body(),
            BASE64.encode(sig)
        )
    }

    /// Whether `key` signed this checkpoint.
    pub fn signed_by(&self, key: &VerifyingKey) -> bool {
        let Ok(signature) = ed25519_dalek::Signature::from_slice(&self.signature) else {
            return false;
        };
        key.verify(self.body().as_bytes(), &signature).is_ok()
    }

    /// The newest checkpoint, if any.
    pub fn latest(conn: &mut DbConn) -> Result<Option<Checkpoint>, DbError> {
        Ok(audit_checkpoints::table
            .order(audit_checkpoints::position.desc())
            .select(Checkpoint::as_select())
            .first(conn)
            .optional()?)
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

/// The audit signing key, and the event key derived from it.
pub struct AuditSigner {
    key: SigningKey,
    events: EventKey,
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
            events: EventKey::from_audit_seed(seed),
        }
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The key the servers authenticate each event with.
    pub fn event_key(&self) -> &EventKey {
        &self.events
    }

    /// A checkpoint at `position`, numbered `sequence`, after the checkpoint whose note hashes
    /// to `previous`.
    pub fn sign(
        &self,
        position: i64,
        chain: &[u8; 32],
        sequence: i64,
        previous: &[u8; 32],
    ) -> Checkpoint {
        let body = linked_note_body(position, chain, sequence, previous);
        let signature = self.key.sign(body.as_bytes());
        Checkpoint {
            position,
            chain_hash: chain.to_vec(),
            signed_at: now_utc(),
            key_id: key_id(&self.key.verifying_key()),
            signature: signature.to_bytes().to_vec(),
            sequence: Some(sequence),
            previous_hash: Some(previous.to_vec()),
        }
    }

    /// Signs and stores the next checkpoint in the sequence, at `position`. Call it under the
    /// sealer's lock.
    fn append_checkpoint(
        &self,
        conn: &mut DbConn,
        position: i64,
        chain: &[u8; 32],
    ) -> Result<(), DbError> {
        let (sequence, previous) = match Checkpoint::latest(conn)? {
            None => (1, GENESIS),
            Some(last) => {
                let number = match last.sequence {
                    Some(number) => number,
                    // Signed before the sequence: numbered by their order.
                    None => audit_checkpoints::table.count().get_result(conn)?,
                };
                (number + 1, last.note_hash())
            }
        };
        diesel::insert_into(audit_checkpoints::table)
            .values(self.sign(position, chain, sequence, &previous))
            .execute(conn)?;
        Ok(())
    }
}

/// How a sealing round behaves.
#[derive(Debug, Clone, Copy)]
pub struct SealOptions {
    /// Events sealed per round at most.
    pub batch: i64,
    /// Look at every unsealed event, not only recent ones (at the sealer's start when
    /// [`left_behind`] says so, and by `tumaini audit seal`): the one round whose cost grows
    /// with the trail (PostgreSQL hashes the chain's event ids and scans every event: about 2 s
    /// at 1,000,000 events, 24 s at 10,000,000).
    pub full_sweep: bool,
    /// Otherwise look this far back before the last sealed event's time, for events whose
    /// transaction committed late (stragglers); `None`: only from that time on. Either way
    /// the round reads a range of the time index, from that time to the newest event, and
    /// probes the chain's unique index once per event in it: its cost follows the events of
    /// the window, not the length of the trail.
    pub straggler_window: Option<Duration>,
    /// Sign a checkpoint when sealed events are not covered by one and the last one is older
    /// than this (so no event stays uncovered much longer).
    pub checkpoint_every: Duration,
}

impl Default for SealOptions {
    fn default() -> Self {
        Self {
            batch: 2_000,
            full_sweep: false,
            straggler_window: None,
            checkpoint_every: Duration::seconds(5),
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
        // The events after the last sealed one are found by a range scan of
        // `audit_events_time_idx` (from `since` on) and, for each, a probe of the chain's
        // unique index on `event_id` (a nested-loop anti-join; EXPLAIN on PostgreSQL and SQLite
        // alike, 1,000,000 or 10,000,000 events in the trail). Looking further back walks
        // sealed rows of the window, so it is done only now and then; a full sweep, with no
        // bound, hashes the whole chain, so it is done only when something was left behind.
        if let (false, Some((_, _, at))) = (options.full_sweep, last) {
            let since = at - options.straggler_window.unwrap_or_else(Duration::zero);
            query = query.filter(audit_events::occurred_at.ge(since));
        }
        let unsealed: Vec<AuditEvent> = query.load(conn)?;
        // Each row names the newest numbered checkpoint, under the servers' MAC.
        let sealed_after = Checkpoint::latest(conn)?
            .and_then(|c| c.sequence.map(|sequence| (sequence, c.note_hash())));
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
                audit_chain::checkpoint_sequence.eq(sealed_after.map(|(sequence, _)| sequence)),
                audit_chain::mac.eq(signer.event_key().chain_mac(position, &chain, sealed_after)),
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
            signer.append_checkpoint(conn, position, &chain)?;
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

/// Whether events older than `window` before the last sealed event's time wait unsealed: what
/// a sealer asks at its start before it sweeps the whole trail. Counted, not searched: every
/// chain row seals a distinct event (a unique foreign key) and events are never deleted, so
/// the unsealed events are as many as the events less the chain's rows, and those of the
/// window are a range of the time index. One statement, so one snapshot. The two counts read
/// an index each (on PostgreSQL about 0.2 s at 1,000,000 events and 2 s at 10,000,000, where
/// the full sweep's anti-join takes 2 s and 24 s). Events deleted behind the triggers' and
/// the foreign key's back (which [`verify`] reports) can hide as many left behind.
pub fn left_behind(conn: &mut DbConn, window: Duration) -> Result<bool, DbError> {
    // Nothing sealed yet: every round looks at every event anyway.
    let Some((_, _, at)) = last_sealed(conn)? else {
        return Ok(false);
    };
    let (events, chained, recent): (Option<i64>, Option<i64>, Option<i64>) = diesel::select((
        audit_events::table.count().single_value(),
        audit_chain::table.count().single_value(),
        audit_events::table
            .left_join(audit_chain::table)
            .filter(audit_chain::event_id.is_null())
            .filter(audit_events::occurred_at.ge(at - window))
            .count()
            .single_value(),
    ))
    .get_result(conn)?;
    let unsealed = events.unwrap_or(0) - chained.unwrap_or(0);
    Ok(unsealed > recent.unwrap_or(0))
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
            signer.append_checkpoint(conn, position, &chain)?;
        }
        Ok(Some(position))
    })
}

/// A break in the trail, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Break {
    /// The chain position (for a checkpoint: the position it covers).
    pub position: i64,
    /// What is wrong there; starts with one word naming the kind: `changed`, `missing`,
    /// `broken`, `out of order`, `forged`, `checkpoint`, `witness`.
    pub reason: String,
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Sealed events recomputed.
    pub events: i64,
    /// Checkpoints checked (the database's and the witness's).
    pub checkpoints: usize,
    /// Of which from an outside witness.
    pub witness_checkpoints: usize,
    /// The first break in the chain or its events, if any.
    pub first_break: Option<Break>,
    /// Every break in the chain or its events, in chain order (at most
    /// [`MAX_BREAKS_LISTED`]).
    pub breaks: Vec<Break>,
    /// How many breaks there are in all.
    pub breaks_total: usize,
    /// Checkpoints whose hash, signature or place in the sequence failed, and witness
    /// checkpoints the database no longer matches.
    pub bad_checkpoints: Vec<Break>,
    /// Events up to the last valid signed checkpoint with nothing broken before it: proven.
    pub proven: i64,
    /// Sealed events after it: a signature proves them only once a checkpoint covers them.
    pub unprovable: i64,
    /// Whether every event's MAC was checked (the verifier held the event key).
    pub macs_checked: bool,
    /// Events recorded before events carried MACs: proven by checkpoints only.
    pub without_mac: i64,
    /// Events older than the straggler window and still not sealed.
    pub unsealed: i64,
}

impl Report {
    /// Nothing wrong.
    pub fn intact(&self) -> bool {
        self.breaks_total == 0 && self.bad_checkpoints.is_empty()
    }

    fn broke(&mut self, position: i64, reason: impl Into<String>) {
        let found = Break {
            position,
            reason: reason.into(),
        };
        if self.first_break.is_none() {
            self.first_break = Some(found.clone());
        }
        if self.breaks.len() < MAX_BREAKS_LISTED {
            self.breaks.push(found);
        }
        self.breaks_total += 1;
    }
}

/// What verification holds the trail to: the public keys any checkpoint may be signed with and,
/// where the verifier has it, the event key.
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    /// Any of these may have signed a checkpoint.
    pub checkpoints: &'a [VerifyingKey],
    /// The event key; without it MACs are not checked (an outside auditor's copy).
    pub events: Option<&'a EventKey>,
}

type ChainRow = (
    i64,
    AuditEventId,
    Vec<u8>,
    Vec<u8>,
    Option<i64>,
    Option<String>,
);

/// What a chain row is checked against: the note hash of each numbered checkpoint, and whether
/// rows with a MAC were seen before (from the first on, every row must have one).
struct RowCheck<'a> {
    key: Option<&'a EventKey>,
    notes: HashMap<i64, [u8; 32]>,
    seen_mac: bool,
    gone: std::collections::HashSet<i64>,
}

impl RowCheck<'_> {
    /// The checkpoint the row names must still be there, and its MAC must be the servers'.
    fn check(&mut self, report: &mut Report, faults: &mut Vec<Break>, row: &ChainRow) {
        let (position, _, _, stored_chain, sequence, mac) = row;
        if let Some(sequence) = sequence
            && !self.notes.contains_key(sequence)
        {
            if self.gone.insert(*sequence) {
                faults.push(Break {
                    position: *position,
                    reason: format!(
                        "checkpoint: events from here on were sealed after checkpoint number {sequence}, which the database no longer has (deleted)"
                    ),
                });
            }
            return;
        }
        match (mac, self.key) {
            (Some(mac), Some(key)) => {
                self.seen_mac = true;
                let after = sequence.and_then(|s| self.notes.get(&s).map(|note| (s, *note)));
                if key.chain_mac(*position, stored_chain, after) != *mac {
                    report.broke(
                        *position,
                        "forged: the chain row's MAC is not the servers' (the row was rewritten, or the checkpoint it names was replaced)",
                    );
                }
            }
            (Some(_), None) => self.seen_mac = true,
            (None, _) if self.seen_mac => report.broke(
                *position,
                "forged: a chain row without a MAC after rows with one (written without the audit key)",
            ),
            (None, _) => {}
        }
    }
}

/// What an outside witness kept: the signed checkpoints it was given and, where it had one,
/// the last head of the chain it saw (unsigned: the witness's own record, kept outside the
/// database, of how far the chain had reached).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Witness {
    /// Checkpoints, any order.
    pub checkpoints: Vec<Checkpoint>,
    /// The head the witness last saw.
    pub head: Option<Head>,
}

/// The head of the chain: its last position and the chain hash there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The last sealed position.
    pub position: i64,
    /// The chain hash there.
    pub chain_hash: Vec<u8>,
}

/// The chain hash stored at `position`, if the chain has it.
pub fn chain_hash_at(conn: &mut DbConn, position: i64) -> Result<Option<Vec<u8>>, DbError> {
    Ok(audit_chain::table
        .find(position)
        .select(audit_chain::chain_hash)
        .first(conn)
        .optional()?)
}

/// The chain's head now, if anything is sealed.
pub fn head(conn: &mut DbConn) -> Result<Option<Head>, DbError> {
    Ok(audit_chain::table
        .order(audit_chain::position.desc())
        .select((audit_chain::position, audit_chain::chain_hash))
        .first::<(i64, Vec<u8>)>(conn)
        .optional()?
        .map(|(position, chain_hash)| Head {
            position,
            chain_hash,
        }))
}

/// Checks the sequence of the stored checkpoints: each one in the sequence names the one
/// before it (by number and note hash); one signed before the sequence never follows one in it.
fn check_sequence(stored: &[Checkpoint], faults: &mut Vec<Break>) {
    let mut previous: Option<&Checkpoint> = None;
    for (index, c) in stored.iter().enumerate() {
        match (c.sequence, c.previous_hash.as_deref(), previous) {
            (Some(sequence), Some(hash), None) if sequence != 1 || hash != GENESIS => {
                faults.push(Break {
                    position: c.position,
                    reason: format!(
                        "checkpoint: number {sequence} is the oldest left; the ones before it were deleted"
                    ),
                });
            }
            (Some(sequence), Some(hash), Some(before)) => {
                let expected = before
                    .sequence
                    .unwrap_or_else(|| i64::try_from(index).unwrap_or(i64::MAX))
                    + 1;
                if sequence != expected || hash != before.note_hash() {
                    faults.push(Break {
                        position: c.position,
                        reason: format!(
                            "checkpoint: number {sequence} does not follow the one stored before it \
                             (a checkpoint between them was deleted, or one was rolled back)"
                        ),
                    });
                }
            }
            (None, _, Some(before)) if before.sequence.is_some() => faults.push(Break {
                position: c.position,
                reason: "checkpoint: one without a sequence number after numbered ones (inserted afterwards)"
                    .into(),
            }),
            _ => {}
        }
        previous = Some(c);
    }
}

/// Recomputes the chain from the events and checks every event's MAC (when `keys.events` is
/// given), every checkpoint against the chain, its signature and its place in the sequence, and
/// the checkpoints of an outside witness (`verify --against`) against the chain and the
/// database's own. Reports every break, not only the first: after one it carries on from the
/// stored chain. `progress(done, total)` is called per page.
pub fn verify(
    conn: &mut DbConn,
    keys: Keys<'_>,
    witness: &Witness,
    mut progress: impl FnMut(i64, i64),
) -> Result<Report, DbError> {
    const PAGE: i64 = 10_000;
    let total: i64 = audit_chain::table.count().get_result(conn)?;
    let mut report = Report {
        macs_checked: keys.events.is_some(),
        witness_checkpoints: witness.checkpoints.len(),
        ..Report::default()
    };
    let stored = Checkpoint::all(conn)?;
    let mut faults: Vec<Break> = Vec::new();
    check_sequence(&stored, &mut faults);
    let stored_at: HashMap<i64, &Checkpoint> = stored.iter().map(|c| (c.position, c)).collect();
    let mut wanted: HashMap<i64, Vec<(&Checkpoint, bool)>> = HashMap::new();
    for c in &stored {
        wanted.entry(c.position).or_default().push((c, false));
    }
    // Witness checkpoints the database lacks, within the chain (beyond it, the chain itself
    // is shorter: reported below).
    let mut lacking: Vec<&Checkpoint> = Vec::new();
    for c in &witness.checkpoints {
        match stored_at.get(&c.position) {
            None => lacking.push(c),
            Some(ours) if ours.body() != c.body() => faults.push(Break {
                position: c.position,
                reason:
                    "witness: the database's checkpoint here differs from the witness's (replaced)"
                        .into(),
            }),
            Some(_) => {}
        }
        wanted.entry(c.position).or_default().push((c, true));
    }
    let mut rows_check = RowCheck {
        key: keys.events,
        notes: stored
            .iter()
            .filter_map(|c| c.sequence.map(|s| (s, c.note_hash())))
            .collect(),
        seen_mac: false,
        gone: std::collections::HashSet::new(),
    };
    let mut chain = GENESIS;
    let mut expected = 1i64;
    let mut previous_time: Option<NaiveDateTime> = None;
    let mut seen_mac = false;
    loop {
        let rows: Vec<ChainRow> = audit_chain::table
            .filter(audit_chain::position.ge(expected))
            .order(audit_chain::position)
            .limit(PAGE)
            .select((
                audit_chain::position,
                audit_chain::event_id,
                audit_chain::leaf_hash,
                audit_chain::chain_hash,
                audit_chain::checkpoint_sequence,
                audit_chain::mac,
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
        for row in &rows {
            let (position, event_id, stored_leaf, stored_chain, _, _) = row;
            // After a gap the row cannot be chained to its predecessor: carry on from it.
            let mut resync = false;
            if *position != expected {
                report.broke(
                    expected,
                    format!(
                        "missing: the chain skips positions {expected} to {} (rows were removed)",
                        position - 1
                    ),
                );
                resync = true;
            }
            match events.get(event_id) {
                None => {
                    report.broke(*position, "missing: the event sealed here is gone");
                }
                Some(event) => {
                    let leaf = leaf_hash(event);
                    if leaf.as_slice() != stored_leaf.as_slice() {
                        report.broke(*position, "changed: the event differs from what was sealed");
                        resync = true;
                    }
                    check_event(&mut report, keys.events, *position, event, &mut seen_mac);
                    if let Some(before) = previous_time
                        && event.occurred_at
                            < before - Duration::minutes(BACKDATING_TOLERANCE_MINUTES)
                    {
                        report.broke(
                            *position,
                            "out of order: the event is older than the one before it (inserted afterwards)",
                        );
                    }
                    previous_time = Some(event.occurred_at);
                    if !resync {
                        let next = chain_hash(&chain, &leaf);
                        if next.as_slice() != stored_chain.as_slice() {
                            report.broke(
                                *position,
                                "broken: the chain hash does not follow (reordered or inserted)",
                            );
                        }
                    }
                }
            }
            rows_check.check(&mut report, &mut faults, row);
            // Carry on from the stored chain, so that each break is reported once.
            chain = to_hash(stored_chain);
            report.events += 1;
            if let Some(head) = witness.head.as_ref().filter(|h| h.position == *position)
                && head.chain_hash.as_slice() != chain.as_slice()
            {
                faults.push(Break {
                    position: *position,
                    reason: "witness head: the chain here differs from the head the witness saw (rewritten)"
                        .into(),
                });
            }
            if let Some(checkpoints) = wanted.remove(position) {
                for (c, from_witness) in checkpoints {
                    let source = if from_witness {
                        "witness checkpoint"
                    } else {
                        "checkpoint"
                    };
                    let fault = if c.chain_hash.as_slice() != chain.as_slice() {
                        Some(format!(
                            "{source}: the chain here differs from the signed one"
                        ))
                    } else if !keys.checkpoints.iter().any(|k| c.signed_by(k)) {
                        Some(format!("{source}: the signature is not the audit key's"))
                    } else {
                        None
                    };
                    match fault {
                        Some(reason) => faults.push(Break {
                            position: *position,
                            reason,
                        }),
                        None if report.breaks_total == 0 => report.proven = *position,
                        None => {}
                    }
                    report.checkpoints += 1;
                }
            }
            expected = position + 1;
        }
        progress(report.events, total);
    }
    for c in lacking.into_iter().filter(|c| c.position < expected) {
        faults.push(Break {
            position: c.position,
            reason: format!(
                "witness: the database has no checkpoint at this position, the witness has{} (deleted, or signed after this copy of the database was taken)",
                c.sequence.map(|n| format!(" number {n}")).unwrap_or_default()
            ),
        });
    }
    // Checkpoints beyond the chain: signed positions that no longer exist.
    let mut beyond: Vec<(i64, bool)> = wanted
        .into_iter()
        .flat_map(|(position, list)| list.into_iter().map(move |(_, w)| (position, w)))
        .collect();
    beyond.sort_unstable();
    for (position, from_witness) in beyond {
        faults.push(Break {
            position,
            reason: format!(
                "{}: signed for position {position}, which the chain no longer has (rows removed at the end)",
                if from_witness { "witness checkpoint" } else { "checkpoint" }
            ),
        });
        report.checkpoints += 1;
    }
    if let Some(head) = &witness.head
        && head.position >= expected
    {
        faults.push(Break {
            position: head.position,
            reason: format!(
                "witness head: the witness saw the chain reach position {}; it now ends at {} (events removed at the end)",
                head.position,
                expected - 1
            ),
        });
    }
    if !faults.is_empty() {
        // A proof stops at the first bad checkpoint.
        let first_bad = faults.iter().map(|f| f.position).min().unwrap_or(0);
        report.proven = report.proven.min((first_bad - 1).max(0));
    }
    report.unprovable = report.events - report.proven;
    report.bad_checkpoints = faults;
    let horizon = now_utc() - Duration::minutes(STRAGGLER_WINDOW_MINUTES);
    report.unsealed = audit_events::table
        .left_join(audit_chain::table)
        .filter(audit_chain::event_id.is_null())
        .filter(audit_events::occurred_at.lt(horizon))
        .count()
        .get_result(conn)?;
    Ok(report)
}

/// The MAC of one event: from the first event with a MAC on, every event must have one (and,
/// with the key, the right one); events before it were recorded before MACs existed.
fn check_event(
    report: &mut Report,
    key: Option<&EventKey>,
    position: i64,
    event: &AuditEvent,
    seen_mac: &mut bool,
) {
    match (&event.mac, key) {
        (Some(_), Some(key)) => {
            *seen_mac = true;
            if !key.authenticates(event) {
                report.broke(
                    position,
                    "forged: the event's MAC is not the servers' (written or changed without the audit key)",
                );
            }
        }
        (Some(_), None) => *seen_mac = true,
        (None, _) if *seen_mac => report.broke(
            position,
            "forged: an event without a MAC after events that carry one (written without the audit key)",
        ),
        (None, _) => report.without_mac += 1,
    }
}

/// Unsealed events, for readiness and tests. It reads the whole trail (a hash anti-join of the
/// events and the chain: about 0.7 s on PostgreSQL at 1,000,000 events), so nothing should
/// call it on a schedule.
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
            mac: None,
        }
    }

    #[test]
    fn a_mac_is_encoded_after_the_columns_before_it_and_covers_them() {
        let key = EventKey::from_audit_seed(&[3; 32]);
        let mut a = event();
        let plain = encode(&a);
        a.mac = Some(key.mac(&a));
        assert!(key.authenticates(&a));
        assert!(encode(&a).starts_with(&plain), "a MAC only appends");
        assert_ne!(encode(&a), plain, "the leaf covers the MAC");
        let mut changed = a.clone();
        changed.outcome = "failure".into();
        assert!(!key.authenticates(&changed), "the MAC covers every column");
        assert!(!EventKey::from_audit_seed(&[4; 32]).authenticates(&a));
        let mut stripped = a.clone();
        stripped.mac = None;
        assert!(!key.authenticates(&stripped));
        // With a client id but no client request id, both slots are written before the MAC.
        let mut b = event();
        b.actor_client_id = Some("client".into());
        let before = encode(&b);
        b.mac = Some(key.mac(&b));
        assert!(encode(&b).starts_with(&before));
    }

    #[test]
    fn checkpoints_name_their_predecessor() {
        let signer = AuditSigner::from_seed(&[7; 32]);
        let first = signer.sign(10, &[1; 32], 1, &GENESIS);
        let second = signer.sign(20, &[2; 32], 2, &first.note_hash());
        let mut list = vec![first.clone(), second.clone()];
        let mut faults = Vec::new();
        check_sequence(&list, &mut faults);
        assert!(faults.is_empty(), "{faults:?}");
        let third = signer.sign(30, &[3; 32], 3, &second.note_hash());
        list.push(third.clone());
        list.remove(1);
        check_sequence(&list, &mut faults);
        assert_eq!(faults.len(), 1, "a deleted checkpoint breaks the sequence");
        faults.clear();
        check_sequence(&[second, third], &mut faults);
        assert_eq!(faults.len(), 1, "so does deleting the oldest");
        assert!(
            first
                .body()
                .ends_with(&format!("1 {}\n", BASE64.encode(GENESIS)))
        );
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
        let c = signer.sign(42, &[9; 32], 1, &GENESIS);
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
