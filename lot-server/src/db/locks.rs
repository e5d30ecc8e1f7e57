//! The transaction-scoped locks instances sharing a PostgreSQL database
//! take, each lot's in a space of its own.

use super::{Backend, Db};

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

/// A lock's key: the lot's space above, the lock below.
pub(super) fn lock_key(space: u32, lock: TxLock) -> i64 {
    (i64::from(space) << 32) | lock as i64
}

/// A schema's lock space: FNV-1a of its name, never 0 (the URL's own).
pub(super) fn lock_space_of(schema: &str) -> u32 {
    let h = schema.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    (h & 0x7fff_ffff).max(1)
}
