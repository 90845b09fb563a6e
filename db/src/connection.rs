//! Connections and the pool: one enum over both engines, chosen from the URL scheme.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::connection::{
    AnsiTransactionManager, InstrumentationEvent, SimpleConnection, TransactionManager,
};
use diesel::r2d2::R2D2Connection;
use diesel::{Connection, PgConnection, SqliteConnection};

use crate::DbError;

/// A live connection to either engine. Named queries take `&mut DbConn`; engine-specific SQL
/// matches on the variant explicitly.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    /// Production: PostgreSQL.
    Postgresql(PgConnection),
    /// The embedded default: SQLite with WAL, a busy timeout and foreign keys on.
    Sqlite(SqliteConnection),
}

impl fmt::Debug for DbConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DbConn").field(&self.engine()).finish()
    }
}

impl DbConn {
    /// Which engine this connection talks to.
    pub fn engine(&self) -> Engine {
        match self {
            Self::Postgresql(_) => Engine::Postgres,
            Self::Sqlite(_) => Engine::Sqlite,
        }
    }

    /// Runs `work` in a transaction that takes the write lock up front.
    ///
    /// On SQLite a deferred transaction that reads and then writes can fail with `SQLITE_BUSY`
    /// when another writer committed in between, and the busy timeout cannot help; `BEGIN
    /// IMMEDIATE` queues for the lock instead. On PostgreSQL this is an ordinary transaction.
    /// Nested `transaction` calls inside `work` become savepoints, as usual, and so does a
    /// `write_transaction` called inside another transaction (the outer one already holds, or
    /// will take, the write lock), so that named queries which write atomically can also be
    /// part of a caller's larger transaction.
    ///
    /// The error type is the caller's own, as long as a [`DbError`] converts into it: a failure
    /// of the database itself (BEGIN, COMMIT) arrives as one. Any error rolls back.
    ///
    ///
    /// A transaction that lost a race (a serialization failure or a deadlock) fails with
    /// [`DbError::Interrupted`] of [`Unavailability::Contention`](crate::Unavailability), which
    /// the API answers 503 with `Retry-After: 1`.
    pub fn write_transaction<T, E, F>(&mut self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E>,
        E: From<DbError>,
    {
        self.write_transaction_diesel(|conn| work(conn).map_err(TxError::Work))
            .map_err(TxError::into_error)
    }

    /// Whether a transaction (or savepoint) is open on this connection.
    fn in_transaction(&mut self) -> Result<bool, diesel::result::Error> {
        Ok(match self {
            Self::Postgresql(conn) => {
                AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth()?
            }
            Self::Sqlite(conn) => {
                AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth()?
            }
        }
        .is_some())
    }

    fn write_transaction_diesel<T, E, F>(&mut self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        if let Self::Postgresql(_) = self {
            return self.transaction(work);
        }
        if let Self::Sqlite(conn) = self {
            let depth =
                AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth()?;
            if depth.is_some() {
                // Already inside a (write) transaction: nest as a savepoint.
                return self.transaction(work);
            }
            AnsiTransactionManager::begin_transaction_sql(conn, "BEGIN IMMEDIATE")?;
        }
        let outcome = work(self);
        let Self::Sqlite(conn) = self else {
            return outcome;
        };
        match outcome {
            Ok(value) => match AnsiTransactionManager::commit_transaction(conn) {
                Ok(()) => Ok(value),
                Err(commit_error) => {
                    // A failed COMMIT may leave the transaction open; close it before the
                    // connection goes back to the pool. The commit error is what matters.
                    let _ = AnsiTransactionManager::rollback_transaction(conn);
                    Err(commit_error.into())
                }
            },
            Err(work_error) => {
                // The work's error is the one to report; a failed rollback marks the connection
                // broken and the pool discards it.
                let _ = AnsiTransactionManager::rollback_transaction(conn);
                Err(work_error)
            }
        }
    }
}

impl DbConn {
    /// Runs `work` in a read-only transaction: one consistent view of the data that takes no
    /// write lock. On SQLite a deferred `BEGIN` (in WAL mode readers never block the writer,
    /// so a long list does not hold up anyone's write); on PostgreSQL a `REPEATABLE READ,
    /// READ ONLY` transaction (one snapshot for every statement in it, where the default READ
    /// COMMITTED would take a new one per statement; a read-only transaction never fails to
    /// serialise). Nested inside another transaction it is a savepoint of that one.
    pub fn read_transaction<T, E, F>(&mut self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E>,
        E: From<DbError>,
    {
        self.read_transaction_diesel(|conn| work(conn).map_err(TxError::Work))
            .map_err(TxError::into_error)
    }

    fn read_transaction_diesel<T, E, F>(&mut self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        let nested = self.in_transaction()?;
        self.transaction(|conn| {
            if !nested && let Self::Postgresql(_) = conn {
                conn.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
            }
            work(conn)
        })
    }
}

/// An error inside a transaction: the database's own, or the work's.
enum TxError<E> {
    Db(diesel::result::Error),
    Work(E),
}

impl<E> From<diesel::result::Error> for TxError<E> {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(err)
    }
}

impl<E: From<DbError>> TxError<E> {
    fn into_error(self) -> E {
        match self {
            Self::Db(err) => E::from(DbError::from(err)),
            Self::Work(err) => err,
        }
    }
}

/// The storage engines Tumaini runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    /// SQLite, embedded in the binary.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Engine {
    /// Lower-case name for logs and tests.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a database URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Neither `sqlite:` nor `postgres:`/`postgresql:`.
    #[error("database URL must start with sqlite:// or postgres:// (got scheme {0:?})")]
    UnknownScheme(String),
    /// `sqlite://` with no file path.
    #[error("sqlite URL names no file")]
    MissingSqlitePath,
    /// An in-memory SQLite database would be a different, empty database on every pooled
    /// connection.
    #[error("in-memory SQLite is not supported: name a file")]
    InMemorySqlite,
}

/// A database URL whose engine is known. Its `Debug` and `Display` hide any password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    engine: Engine,
    /// For PostgreSQL the whole URL (handed to libpq); for SQLite the file path.
    target: String,
}

impl DatabaseUrl {
    /// Parses a URL, choosing the engine from its scheme.
    ///
    /// `sqlite://./data/tumaini.db` and `sqlite:data/tumaini.db` are relative paths,
    /// `sqlite:///var/lib/tumaini/tumaini.db` is absolute; `postgres://` and `postgresql://`
    /// URLs go to libpq as they are.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let url = url.trim();
        let (scheme, rest) = url
            .split_once(':')
            .ok_or_else(|| UrlError::UnknownScheme(String::new()))?;
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                if path.is_empty() {
                    return Err(UrlError::MissingSqlitePath);
                }
                if path == ":memory:" || path.contains("mode=memory") {
                    return Err(UrlError::InMemorySqlite);
                }
                Ok(Self {
                    engine: Engine::Sqlite,
                    target: path.to_owned(),
                })
            }
            "postgres" | "postgresql" => Ok(Self {
                engine: Engine::Postgres,
                target: url.to_owned(),
            }),
            other => Err(UrlError::UnknownScheme(other.chars().take(20).collect())),
        }
    }

    /// The engine the URL names.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The SQLite file, for a SQLite URL.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self.engine {
            Engine::Sqlite => Some(Path::new(&self.target)),
            Engine::Postgres => None,
        }
    }

    /// The URL with its password and query replaced, safe for logs.
    pub fn redacted(&self) -> String {
        match self.engine {
            Engine::Sqlite => format!("sqlite://{}", self.target),
            Engine::Postgres => redact_postgres(&self.target),
        }
    }

    /// Opens one connection, configured for Tumaini (see [`DbConnector`]) but without the
    /// server's statement, lock and idle-in-transaction timeouts: for commands and tests. For
    /// SQLite the file's directory is created first.
    pub fn connect(&self) -> Result<DbConn, DbError> {
        if let Some(path) = self.sqlite_path() {
            create_parent_dir(path)?;
        }
        // An operator's command (a migration building an index, a key rotation, a backup's
        // checks) may rightly run long: the server's statement, lock and idle-in-transaction
        // bounds are for answering requests in time, and are off here (0).
        let options = PoolOptions {
            statement_timeout: Duration::ZERO,
            lock_timeout: Duration::ZERO,
            idle_in_transaction_timeout: Duration::ZERO,
            ..PoolOptions::default()
        };
        DbConnector::new(self.clone(), options)
            .open()
            .map_err(|err| DbError::Unavailable(err.to_string()))
    }
}

/// A PostgreSQL URL taken apart for libpq's command-line tools (`pg_dump`, `pg_restore`): the
/// URL without its password, which may go on a command line, and the password, which goes to
/// the child only through its environment (`PGPASSWORD`). Its `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientToolTarget {
    /// The URL with no password in its user part or its query.
    pub url: String,
    /// The password, percent-decoded, if the URL held one.
    pub password: Option<zeroize::Zeroizing<String>>,
}

impl fmt::Debug for ClientToolTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientToolTarget")
            .field("url", &self.url)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

impl DatabaseUrl {
    /// For PostgreSQL, the URL and password apart (see [`ClientToolTarget`]); `None` for
    /// SQLite.
    pub fn client_tool_target(&self) -> Option<ClientToolTarget> {
        match self.engine {
            Engine::Sqlite => None,
            Engine::Postgres => Some(split_password(&self.target)),
        }
    }
}

fn split_password(url: &str) -> ClientToolTarget {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut password = None;
    let base = match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = match rest.find('/') {
                Some(slash) => rest.split_at(slash),
                None => (rest, ""),
            };
            let authority = match authority.rsplit_once('@') {
                Some((userinfo, host)) => match userinfo.split_once(':') {
                    Some((user, secret)) => {
                        password = Some(percent_decode(secret));
                        format!("{user}@{host}")
                    }
                    None => authority.to_owned(),
                },
                None => authority.to_owned(),
            };
            format!("{scheme}://{authority}{path}")
        }
        None => base.to_owned(),
    };
    let mut kept = Vec::new();
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        match pair.split_once('=') {
            Some((name, value)) if name.eq_ignore_ascii_case("password") => {
                password = Some(percent_decode(value));
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    ClientToolTarget {
        url,
        password: password.map(zeroize::Zeroizing::new),
    }
}

/// `%XX` escapes decoded, as libpq decodes them in a URL; anything malformed is kept as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn redact_postgres(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or_default();
    let Some((scheme, rest)) = without_query.split_once("://") else {
        return "postgres://[redacted]".to_owned();
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') {
                format!("{user}:***@{host}")
            } else {
                format!("{user}@{host}")
            }
        }
        None => authority.to_owned(),
    };
    format!("{scheme}://{authority}{path}")
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Told of every connection taken from the pool, and of every wait that timed out: how long the
/// taker waited. Monitoring implements it; it learns nothing but durations.
pub trait PoolObserver: std::fmt::Debug + Send + Sync {
    /// A connection was handed out after waiting `waited`.
    fn checked_out(&self, waited: Duration);
    /// No connection became free within the pool's timeout.
    fn timed_out(&self, waited: Duration);
}

/// Forwards r2d2's checkout events to a [`PoolObserver`].
#[derive(Debug)]
struct ObserverEvents(Arc<dyn PoolObserver>);

impl diesel::r2d2::HandleEvent for ObserverEvents {
    fn handle_checkout(&self, event: diesel::r2d2::event::CheckoutEvent) {
        self.0.checked_out(event.duration());
    }

    fn handle_timeout(&self, event: diesel::r2d2::event::TimeoutEvent) {
        self.0.timed_out(event.timeout());
    }
}

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Most connections held at once.
    pub max_size: u32,
    /// How long a request waits for a free connection before it fails. The API also bounds
    /// each request's whole piece of database work by it (`with_conn`), so it is the longest
    /// a request waits on the database before it is answered 503.
    pub connection_timeout: Duration,
    /// SQLite only: how long a statement waits for a lock held by another connection.
    pub sqlite_busy_timeout: Duration,
    /// PostgreSQL only: the server cancels a statement running longer (`statement_timeout`).
    pub statement_timeout: Duration,
    /// PostgreSQL only: the server gives up a wait for a lock this long (`lock_timeout`).
    pub lock_timeout: Duration,
    /// PostgreSQL only: the server ends a session idle inside a transaction this long
    /// (`idle_in_transaction_session_timeout`), so that a stuck client holds no locks.
    pub idle_in_transaction_timeout: Duration,
    /// PostgreSQL only: libpq gives up opening a connection after this long (`connect_timeout`,
    /// whole seconds, at least 2), unless the URL sets it.
    pub connect_timeout: Duration,
    /// Told how long each checkout waited (monitoring); `None` for no one.
    pub observer: Option<Arc<dyn PoolObserver>>,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 10,
            connection_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(4),
            lock_timeout: Duration::from_secs(2),
            idle_in_transaction_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            observer: None,
        }
    }
}

/// Statements sent to the database by every pooled connection of this process (a statement is
/// a round trip: BEGIN and COMMIT count).
static STATEMENTS: AtomicU64 = AtomicU64::new(0);

/// How many statements the pooled connections of this process have sent so far: the benchmarks
/// divide its growth by the requests served to print round trips per request.
pub fn statements_run() -> u64 {
    STATEMENTS.load(Ordering::Relaxed)
}

/// Counts each statement a connection starts into [`STATEMENTS`].
fn count_statements(event: InstrumentationEvent<'_>) {
    if let InstrumentationEvent::StartQuery { .. } = event {
        STATEMENTS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Opens connections for the pool, choosing the engine from the parsed URL and applying the
/// per-connection settings Tumaini relies on.
#[derive(Debug)]
pub struct DbConnector {
    url: DatabaseUrl,
    options: PoolOptions,
}

impl DbConnector {
    fn new(url: DatabaseUrl, options: PoolOptions) -> Self {
        Self { url, options }
    }

    fn open(&self) -> Result<DbConn, diesel::r2d2::Error> {
        use diesel::r2d2::Error;
        match self.url.engine {
            Engine::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.url.target)
                    .map_err(Error::ConnectionError)?;
                let busy_ms = self.options.sqlite_busy_timeout.as_millis();
                // WAL is a property of the file, set once in `build_pool`; these are per
                // connection. `secure_delete` overwrites deleted content with zeros, so what an
                // erasure or retention deletes (ciphertexts, blind-index values) does not linger
                // in the file's free pages.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {busy_ms};
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;
                     PRAGMA secure_delete = ON;"
                ))
                .map_err(Error::QueryError)?;
                conn.set_instrumentation(count_statements);
                Ok(DbConn::Sqlite(conn))
            }
            Engine::Postgres => {
                let target = with_client_timeouts(&self.url.target, &self.options);
                let mut conn = PgConnection::establish(&target).map_err(Error::ConnectionError)?;
                // Timestamps are stored as UTC `timestamp`; pin the session so that no server
                // default can shift a value on its way in or out. The timeouts make the server
                // give up a slow statement or lock wait, and a session stuck in a transaction,
                // before the request's own bound passes (a stopped server enforces none of
                // them: the request's bound and `connect_timeout` cover that).
                let millis = |d: Duration| d.as_millis();
                conn.batch_execute(&format!(
                    "SET TIME ZONE 'UTC';
                     SET statement_timeout = {};
                     SET lock_timeout = {};
                     SET idle_in_transaction_session_timeout = {};",
                    millis(self.options.statement_timeout),
                    millis(self.options.lock_timeout),
                    millis(self.options.idle_in_transaction_timeout),
                ))
                .map_err(Error::QueryError)?;
                conn.set_instrumentation(count_statements);
                Ok(DbConn::Postgresql(conn))
            }
        }
    }
}

impl diesel::r2d2::ManageConnection for DbConnector {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        self.open()
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        // A connection dropped while unwinding may sit inside an open transaction; one handed
        // to `discard` was given up on.
        std::thread::panicking() || DISCARDING.get() || conn.is_broken()
    }
}

thread_local! {
    /// Set by [`discard`] while it returns a connection, for `has_broken` (which r2d2 calls on
    /// the same thread, inside the drop) to tell the pool to close it.
    static DISCARDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Closes a pooled connection instead of returning it to the pool: one that was stuck (its
/// request stopped waiting for it) may be in any state, and the pool must not hand it out again.
pub fn discard(conn: PooledConn) {
    DISCARDING.set(true);
    drop(conn);
    DISCARDING.set(false);
}

/// Adds libpq's client-side bounds to a PostgreSQL URL, unless it sets them already: a
/// connection attempt gives up after `connect_timeout`, and TCP keepalives find a server
/// whose host went away without closing the connection.
fn with_client_timeouts(url: &str, options: &PoolOptions) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (url, None),
    };
    let query = base
        .split_once('?')
        .map(|(_, query)| query)
        .unwrap_or_default();
    let given = |key: &str| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some(key))
    };
    let connect_secs = options.connect_timeout.as_secs().max(2).to_string();
    let defaults = [
        ("connect_timeout", connect_secs.as_str()),
        ("keepalives", "1"),
        ("keepalives_idle", "10"),
        ("keepalives_interval", "5"),
        ("keepalives_count", "3"),
    ];
    let mut out = base.to_owned();
    for (key, value) in defaults {
        if given(key) {
            continue;
        }
        out.push(if out.contains('?') { '&' } else { '?' });
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// The connection pool shared by request handlers and background jobs.
pub type Pool = diesel::r2d2::Pool<DbConnector>;
/// A connection checked out of the [`Pool`].
pub type PooledConn = diesel::r2d2::PooledConnection<DbConnector>;

/// Builds the pool without waiting for the database: a server whose database is down still
/// starts, answers `/healthz`, and reports not-ready on `/readyz` until the database is back.
/// For SQLite the file's directory is created first.
pub fn build_pool(url: &DatabaseUrl, options: PoolOptions) -> Result<Pool, DbError> {
    let connector = DbConnector::new(url.clone(), options.clone());
    if let Some(path) = url.sqlite_path() {
        create_parent_dir(path)?;
        // Switching to WAL needs the file to itself; do it once, before the pool opens
        // connections concurrently. The mode persists in the file.
        let mut conn = connector
            .open()
            .map_err(|err| DbError::Unavailable(err.to_string()))?;
        conn.batch_execute("PRAGMA journal_mode = WAL")?;
    }
    let mut builder = Pool::builder();
    if let Some(observer) = &options.observer {
        builder = builder.event_handler(Box::new(ObserverEvents(Arc::clone(observer))));
    }
    Ok(builder
        .max_size(options.max_size)
        .min_idle(Some(1))
        .connection_timeout(options.connection_timeout)
        .test_on_check_out(false)
        .build_unchecked(connector))
}

fn create_parent_dir(path: &Path) -> Result<(), DbError> {
    let parent: PathBuf = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => return Ok(()),
    };
    std::fs::create_dir_all(&parent).map_err(|err| {
        DbError::Unavailable(format!(
            "cannot create database directory {}: {err}",
            parent.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_comes_from_the_scheme() {
        let sqlite = DatabaseUrl::parse("sqlite://./data/tumaini.db").unwrap();
        assert_eq!(sqlite.engine(), Engine::Sqlite);
        assert_eq!(sqlite.sqlite_path(), Some(Path::new("./data/tumaini.db")));
        let absolute = DatabaseUrl::parse("sqlite:///var/lib/tumaini/t.db").unwrap();
        assert_eq!(
            absolute.sqlite_path(),
            Some(Path::new("/var/lib/tumaini/t.db"))
        );
        let pg = DatabaseUrl::parse("postgresql://u@db/tumaini").unwrap();
        assert_eq!(pg.engine(), Engine::Postgres);
        assert!(matches!(
            DatabaseUrl::parse("mysql://x"),
            Err(UrlError::UnknownScheme(_))
        ));
        assert_eq!(
            DatabaseUrl::parse("sqlite::memory:"),
            Err(UrlError::InMemorySqlite)
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://"),
            Err(UrlError::MissingSqlitePath)
        );
    }

    #[test]
    fn client_timeouts_are_added_unless_the_url_sets_them() {
        let options = PoolOptions::default();
        assert_eq!(
            with_client_timeouts("postgres://u@db/t", &options),
            "postgres://u@db/t?connect_timeout=3&keepalives=1&keepalives_idle=10\
             &keepalives_interval=5&keepalives_count=3"
        );
        let given = with_client_timeouts(
            "postgres://u@db/t?connect_timeout=9&sslmode=require",
            &options,
        );
        assert!(
            given.starts_with("postgres://u@db/t?connect_timeout=9&sslmode=require&keepalives=1"),
            "{given}"
        );
        assert_eq!(given.matches("connect_timeout").count(), 1, "{given}");
    }

    #[test]
    fn client_tools_get_the_password_apart_from_the_url() {
        let url =
            DatabaseUrl::parse("postgres://app:p%40ss:w@db:5432/tumaini?sslmode=require").unwrap();
        let target = url.client_tool_target().unwrap();
        assert_eq!(target.url, "postgres://app@db:5432/tumaini?sslmode=require");
        assert_eq!(
            target.password.as_deref().map(String::as_str),
            Some("p@ss:w")
        );
        assert!(!format!("{target:?}").contains("p@ss"));
        let in_query =
            DatabaseUrl::parse("postgresql://app@db/t?password=s3cret&sslmode=disable").unwrap();
        let target = in_query.client_tool_target().unwrap();
        assert_eq!(target.url, "postgresql://app@db/t?sslmode=disable");
        assert_eq!(
            target.password.as_deref().map(String::as_str),
            Some("s3cret")
        );
        let none = DatabaseUrl::parse("postgres://postgres@127.0.0.1/x").unwrap();
        let target = none.client_tool_target().unwrap();
        assert_eq!(target.url, "postgres://postgres@127.0.0.1/x");
        assert!(target.password.is_none());
        assert!(
            DatabaseUrl::parse("sqlite://a.db")
                .unwrap()
                .client_tool_target()
                .is_none()
        );
    }

    #[test]
    fn passwords_never_show() {
        let url = DatabaseUrl::parse(
            "postgres://app:s3cret@db.internal:5432/tumaini?sslmode=require&password=x",
        )
        .unwrap();
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("password=x"), "{shown}");
        assert!(
            shown.contains("app:***@db.internal:5432/tumaini"),
            "{shown}"
        );
    }
}
