//! Storage: SQLite by default (a file, nothing to set up), PostgreSQL by
//! configuration, through sqlx's `Any` driver so every query is written
//! once. The migrations in `lot-server/migrations` are portable SQL and
//! run on both; instants are Unix milliseconds and money whole đồng, both
//! `BIGINT`. Several lot-server instances may share one PostgreSQL
//! database: `lock_tx` takes the transaction locks they need. Several lots
//! may share one PostgreSQL database, each in its own schema
//! ([`Db::connect_in`]); their locks are apart too.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Which database is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database URL must start with sqlite:// or postgres://")]
    UnknownScheme,
    #[error("a schema ({0}) is for PostgreSQL; on SQLite each lot has its own file")]
    SchemaOnSqlite(String),
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A connection pool and what it is.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// Set apart the advisory locks of a lot in its own schema from those
    /// of the other lots of the database (0: the URL's own schema).
    lock_space: u32,
}

impl Db {
    /// Connects (creating a SQLite file and its directory if missing). The
    /// URL is never logged: it may carry a password.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        Db::connect_in(url, None).await
    }

    /// Connects with every table in `schema` (PostgreSQL), creating it if
    /// missing: one lot's tables among other lots' in one database.
    pub async fn connect_in(url: &str, schema: Option<&str>) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(DbError::UnknownScheme);
        };
        if backend == Backend::Sqlite {
            if let Some(path) = sqlite_path(url) {
                if let Some(dir) = std::path::Path::new(&path).parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| DbError::Sqlx(sqlx::Error::Io(e)))?;
                }
            }
        }
        let options = AnyConnectOptions::from_str(url)?.disable_statement_logging();
        let set_path = match schema {
            None => None,
            Some(s) if backend == Backend::Sqlite => return Err(DbError::SchemaOnSqlite(s.to_owned())),
            Some(s) => {
                let quoted = quote_ident(s);
                let mut conn = options.connect().await?;
                // Two instances starting at once may both create it.
                if let Err(e) = conn.execute(format!("CREATE SCHEMA IF NOT EXISTS {quoted}").as_str()).await {
                    let exists: bool =
                        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
                            .bind(s)
                            .fetch_one(&mut conn)
                            .await?;
                    if !exists {
                        return Err(e.into());
                    }
                }
                conn.close().await?;
                Some(format!("SET search_path TO {quoted}"))
            }
        };
        let lock_space = schema.map_or(0, lock_space_of);
        let pool = AnyPoolOptions::new()
            // SQLite has one writer; a few readers share the file in WAL mode.
            .max_connections(if backend == Backend::Sqlite { 4 } else { 16 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                let set_path = set_path.clone();
                Box::pin(async move {
                    if let Some(set_path) = set_path {
                        conn.execute(set_path.as_str()).await?;
                    }
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; \
                             PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        if backend == Backend::Sqlite {
            tokio::spawn(checkpoints(pool.clone()));
        }
        Ok(Db { pool, backend, lock_space })
    }

    /// A transaction that will write: on SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`), so a transaction that reads first cannot
    /// fail on upgrading when another writer committed in between (that
    /// failure skips the busy timeout); on PostgreSQL a plain `BEGIN`.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Brings the schema up to date.
    pub async fn migrate(&self) -> Result<(), DbError> {
        let mut conn = self.pool.acquire().await?;
        MIGRATOR.run_direct(&mut *conn).await?;
        Ok(())
    }
}

/// Copies SQLite's write-ahead log into the database file every second,
/// off the commit path, until the pool closes. SQLite's own automatic
/// checkpoint runs inside whichever commit crosses 1,000 pages, with its
/// fsyncs: that commit, and every event waiting on it, took the tail of
/// the ingest latency. A passive checkpoint never blocks a writer.
async fn checkpoints(pool: AnyPool) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "SQLite checkpoint failed; will retry");
        }
    }
}

/// A decode error naming what was stored wrong.
pub(crate) fn decode_error(what: &str, e: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(format!("stored {what}: {e}").into())
}

/// A value stored as text (an EPC, a plate, a class…), parsed back.
pub(crate) fn parse_stored<T: FromStr>(what: &str, s: &str) -> Result<T, sqlx::Error>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| decode_error(what, e))
}

/// How dates are stored: `YYYY-MM-DD`.
pub(crate) const ISO_DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// A value as the JSON text a column holds.
pub(crate) fn json_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Now, in Unix milliseconds: how instants are stored.
pub fn now_ms() -> i64 {
    tag_reader::reader::now().unix_millis()
}

/// A listing's page: `limit` 1 to 1,000 (100 if absent), `offset` from 0.
pub(crate) fn page(limit: Option<i64>, offset: Option<i64>) -> Result<(i64, i64), String> {
    let (limit, offset) = (limit.unwrap_or(100), offset.unwrap_or(0));
    if !(1..=1000).contains(&limit) {
        return Err(format!("limit must be 1 to 1000, not {limit}"));
    }
    if offset < 0 {
        return Err(format!("offset must not be negative, not {offset}"));
    }
    Ok((limit, offset))
}

/// Rows per multi-row statement: well under both databases' limits on
/// bound parameters (SQLite 32,766, PostgreSQL 65,535).
pub(crate) const CHUNK: usize = 64;

/// Splits `items` into runs of power-of-two lengths, at most `max` long
/// (37 → 32, 4, 1).
pub(crate) fn pow2_chunks<T>(items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut n = max.min(rest.len()).max(1);
        n = 1 << (usize::BITS - 1 - n.leading_zeros());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        Some(chunk)
    })
}

/// Locks held for a transaction on PostgreSQL, where several lot-server
/// instances may write one database (SQLite has one writer at a time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxLock {
    /// Stays and what settles them: ingestion reads sessions, changes them
    /// in memory and writes them back, and matches payment requests with
    /// transfers already booked; the settler matches transfers with
    /// requests already ingested. Under READ COMMITTED, two such
    /// transactions on different instances (or connections) could each miss
    /// the other's uncommitted half and leave a transfer held for ever, so
    /// they commit one at a time. Taken first, before any row lock.
    Stays = 0x5041_524b,
}

/// Takes `lock` until the end of `tx` (PostgreSQL), waiting for another
/// instance's transaction holding it to end. Nothing on SQLite. Each lot
/// of a shared database locks only itself: its schema's hash is the key's
/// high half.
pub(crate) async fn lock_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    db: &Db,
    lock: TxLock,
) -> Result<(), sqlx::Error> {
    if db.backend == Backend::Postgres {
        // Wrapped: `void` is not a type sqlx's Any driver can describe.
        sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS locked")
            .bind(lock_key(db.lock_space, lock))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

impl Backend {
    /// ` FOR UPDATE` on PostgreSQL, for a read whose rows the transaction
    /// will write; nothing on SQLite, whose write transaction locks the
    /// whole database already.
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// How a multi-row statement splits `items`, at most `max` rows each.
    /// A statement's text depends on its row count. On SQLite, runs of
    /// power-of-two lengths keep the texts few, so the prepared statements
    /// are cached and reused (bench-ingest p99 45 → 32 ms). PostgreSQL
    /// fared worse with that (its generic plans: p99 60 → 165-300 ms), so
    /// there it is plain runs of `max`, prepared afresh each time.
    pub(crate) fn chunks<T>(self, items: &[T], max: usize) -> Box<dyn Iterator<Item = &[T]> + Send + '_>
    where
        T: Sync,
    {
        match self {
            Backend::Sqlite => Box::new(pow2_chunks(items, max)),
            Backend::Postgres => Box::new(items.chunks(max)),
        }
    }

    /// Whether multi-row statements are kept prepared: see [`Backend::chunks`].
    pub(crate) fn cache_statements(self) -> bool {
        self == Backend::Sqlite
    }

    /// `($1, $2, …), ($k, …)` for `rows` rows of `cols` parameters
    /// (`(?, ?, …)` on SQLite, see [`Backend::params`]).
    pub(crate) fn placeholders(self, rows: usize, cols: usize) -> String {
        let mut s = String::with_capacity(rows * cols * 5);
        for r in 0..rows {
            if r > 0 {
                s.push_str(", ");
            }
            s.push('(');
            s.push_str(&self.params(r * cols + 1, cols));
            s.push(')');
        }
        s
    }

    /// `$first, $first+1, …`: `n` parameters, e.g. for `x IN (…)`. On
    /// SQLite, anonymous `?`s bound in order: sqlx looks each `$n` up by
    /// name, which SQLite answers by a linear scan, so a statement of a
    /// thousand `$n` spent most of a commit in `strncmp` (measured with
    /// perf: a quarter of the bench's CPU).
    pub(crate) fn params(self, first: usize, n: usize) -> String {
        match self {
            Backend::Sqlite => vec!["?"; n].join(", "),
            Backend::Postgres => (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", "),
        }
    }
}

/// A lock's key: the lot's space above, the lock below.
fn lock_key(space: u32, lock: TxLock) -> i64 {
    (i64::from(space) << 32) | lock as i64
}

/// A schema's lock space: FNV-1a of its name, never 0 (the URL's own).
fn lock_space_of(schema: &str) -> u32 {
    let h = schema.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    (h & 0x7fff_ffff).max(1)
}

/// `"name"`, with any `"` doubled: a schema name is an identifier, never text.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The file of a `sqlite://path?…` URL, if it names one.
fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_of_two_chunks() {
        let items: Vec<u32> = (0..37).collect();
        let sizes: Vec<usize> = pow2_chunks(&items, 64).map(<[u32]>::len).collect();
        assert_eq!(sizes, vec![32, 4, 1]);
        let sizes: Vec<usize> = pow2_chunks(&items, 16).map(<[u32]>::len).collect();
        assert_eq!(sizes, vec![16, 16, 4, 1]);
        assert_eq!(pow2_chunks(&items[..0], 64).count(), 0);
        let all: Vec<u32> = pow2_chunks(&items, 8).flatten().copied().collect();
        assert_eq!(all, items);
    }

    #[test]
    fn placeholder_lists() {
        assert_eq!(Backend::Postgres.placeholders(2, 2), "($1, $2), ($3, $4)");
        assert_eq!(Backend::Postgres.params(3, 2), "$3, $4");
        assert_eq!(Backend::Sqlite.placeholders(2, 2), "(?, ?), (?, ?)");
    }

    #[test]
    fn each_lots_locks_are_its_own() {
        assert_eq!(lock_key(0, TxLock::Stays), 0x5041_524b, "the URL's own schema keeps the key it always had");
        let (a, b) = (lock_space_of("lot_a"), lock_space_of("lot_b"));
        assert_ne!(a, b);
        assert!(a > 0 && b > 0);
        assert_ne!(lock_key(a, TxLock::Stays), lock_key(b, TxLock::Stays));
        assert!(lock_key(a, TxLock::Stays) > 0, "a positive bigint");
        assert_eq!(quote_ident("lot_x-1"), "\"lot_x-1\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[tokio::test]
    async fn a_schema_is_refused_on_sqlite() {
        let dir = std::env::temp_dir().join(format!("parking-schema-{}", uuid::Uuid::new_v4().simple()));
        let url = format!("sqlite://{}?mode=rwc", dir.join("x.sqlite").display());
        let e = Db::connect_in(&url, Some("lot_x")).await.unwrap_err().to_string();
        assert!(e.contains("own file"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Two lots in schemas of one PostgreSQL database: neither sees the
    /// other's rows, a second instance finds the same schema, and each
    /// lot's transaction lock holds back only its own lot.
    #[tokio::test]
    #[ignore = "needs PostgreSQL (PARKING_TEST_DATABASE_URL); .ci/run runs it"]
    async fn lots_in_schemas_of_one_database_are_apart() {
        use crate::tokens::{self, Role};
        let t = crate::testing::TestDb::postgres().await.expect("postgres test database");
        let a = Db::connect_in(&t.url, Some("lot_a")).await.unwrap();
        a.migrate().await.unwrap();
        let b = Db::connect_in(&t.url, Some("lot_b")).await.unwrap();
        b.migrate().await.unwrap();
        let made = tokens::create(&a, Role::Operator, "a's", 0).await.unwrap();
        assert!(tokens::verify(&a, &made.token).await.unwrap().is_some());
        assert!(tokens::verify(&b, &made.token).await.unwrap().is_none(), "lot a's token means nothing in lot b");
        assert!(tokens::verify(&t.db, &made.token).await.unwrap().is_none(), "nor in the public schema");
        let a2 = Db::connect_in(&t.url, Some("lot_a")).await.unwrap();
        a2.migrate().await.unwrap();
        assert!(tokens::verify(&a2, &made.token).await.unwrap().is_some(), "a second instance finds lot a");

        let mut held = a.begin_write().await.unwrap();
        lock_tx(&mut held, &a, TxLock::Stays).await.unwrap();
        let mut other_lot = b.begin_write().await.unwrap();
        let took = tokio::time::timeout(Duration::from_secs(5), lock_tx(&mut other_lot, &b, TxLock::Stays)).await;
        assert!(matches!(took, Ok(Ok(()))), "lot b is not held back by lot a's lock");
        let mut same_lot = a2.begin_write().await.unwrap();
        let waited = tokio::time::timeout(Duration::from_millis(500), lock_tx(&mut same_lot, &a2, TxLock::Stays)).await;
        assert!(waited.is_err(), "lot a's second instance waits for the first");
        drop(same_lot);
        held.rollback().await.unwrap();
        other_lot.rollback().await.unwrap();
        for db in [a, a2, b] {
            db.pool.close().await;
        }
        t.drop_db().await;
    }

    #[test]
    fn sqlite_paths() {
        assert_eq!(sqlite_path("sqlite://var/a.sqlite?mode=rwc").as_deref(), Some("var/a.sqlite"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }
}
