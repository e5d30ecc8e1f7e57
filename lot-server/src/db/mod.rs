//! Storage: SQLite by default (a file, nothing to set up), PostgreSQL by
//! configuration, through sqlx's `Any` driver so every query is written
//! once. The migrations in `lot-server/migrations` are portable SQL and
//! run on both; instants are Unix milliseconds and money whole đồng, both
//! `BIGINT`. Several lot-server instances may share one PostgreSQL
//! database: `lock_tx` takes the transaction locks they need. Several lots
//! may share one PostgreSQL database, each in its own schema
//! ([`Db::connect_in`]); their locks are apart too.
//!
//! Parts: this file (connecting, migrating, closing); `checkpoint`
//! (SQLite's write-ahead log kept bounded); `sql` (stored values decoded,
//! dates, pages, the dialects' few differences); `locks` (the transaction
//! locks, each lot's apart).

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

pub mod checkpoint;
mod locks;
mod sql;
#[cfg(test)]
mod tests;

use locks::lock_space_of;
pub(crate) use locks::{TxLock, lock_tx};
pub(crate) use sql::{CHUNK, ISO_DATE, decode_error, json_text, page, parse_stored};

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
        Db::connect_with(url, schema, checkpoint::Policy::default()).await
    }

    /// [`Db::connect_in`], with SQLite's log checkpointed by `policy`.
    pub async fn connect_with(url: &str, schema: Option<&str>, policy: checkpoint::Policy) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let backend = Db::backend_of(url).ok_or(DbError::UnknownScheme)?;
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
                        conn.execute(format!("PRAGMA journal_size_limit = {}", checkpoint::LIMIT_BYTES).as_str())
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        if backend == Backend::Sqlite {
            tokio::spawn(checkpoint::run(pool.clone(), policy));
        }
        Ok(Db { pool, backend, lock_space })
    }

    /// The database a URL names, by its scheme.
    pub fn backend_of(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Backend::Postgres)
        } else {
            None
        }
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

    /// Closes the pool once its connections come back; on SQLite the log
    /// is first emptied into the database file, so a stopped server leaves
    /// one file behind, whatever its last seconds wrote.
    pub async fn close(&self) {
        if self.backend == Backend::Sqlite {
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.pool).await {
                tracing::warn!(error = %e, "SQLite log not emptied at stop");
            }
        }
        self.pool.close().await;
    }

    /// Brings the schema up to date.
    pub async fn migrate(&self) -> Result<(), DbError> {
        let mut conn = self.pool.acquire().await?;
        MIGRATOR.run_direct(&mut *conn).await?;
        Ok(())
    }
}

/// `"name"`, with any `"` doubled: a schema name is an identifier, never text.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The file of a `sqlite://path?…` URL, if it names one.
pub(crate) fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.to_owned())
}
