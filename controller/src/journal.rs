//! The local journal: SQLite through sqlx, in WAL mode with
//! `synchronous = FULL`, so a committed batch survives a crash or a power
//! cut.
//!
//! A batch of gate events and the lot-state changes they imply are
//! committed in one transaction, so after a restart the state (who is
//! inside, used tickets, the ticket serial, each gate's sequence number)
//! always agrees with the events. An event row is deleted only when the
//! lot server acknowledges its id. The last good lists (a snapshot and the
//! deltas after it) and tariff are kept here too.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use parking_core::gate::{Inside, LastOpen, LotChange};
use parking_core::wire::GateEvent;
use parking_core::{Epc, EventId, Plate, Timestamp, VehicleClass};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Row, SqliteConnection};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Why the journal failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("journal schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("journal holds a bad row: {0}")]
    Corrupt(String),
}

/// One event to commit.
#[derive(Clone, Debug)]
pub struct Entry {
    pub event: GateEvent,
    /// The event as published (compact JSON).
    pub payload: Vec<u8>,
}

/// An event waiting for its acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unacked {
    pub seq: i64,
    pub event_id: EventId,
    pub gate: String,
}

/// What a restart recovers.
#[derive(Debug, Default)]
pub struct Restored {
    pub changes: Vec<LotChange>,
    pub seqs: HashMap<String, u64>,
    /// The lists snapshot, then the deltas after it, as received.
    pub lists: Vec<(String, Vec<u8>)>,
    pub tariff: Option<Vec<u8>>,
    pub unacked: Vec<Unacked>,
}

/// The journal's one connection (SQLite has one writer anyway).
#[derive(Debug)]
pub struct Journal {
    conn: SqliteConnection,
    /// The last lists snapshot, as received, beside the database: a
    /// million-tag snapshot is tens of megabytes, written straight from
    /// the received buffer rather than copied into a statement.
    snapshot_path: std::path::PathBuf,
    /// Stamps each commit (`journaled_ms`).
    clock: parking_runtime::Clock,
}

impl Journal {
    /// Opens (or creates) the journal and brings its schema up to date.
    pub async fn open(path: &Path, clock: parking_runtime::Clock) -> Result<Journal, JournalError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| JournalError::Db(sqlx::Error::Io(e)))?;
        }
        let mut conn = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            // The write-ahead log is cut back to nothing each time it
            // restarts, instead of being overwritten in place at its
            // high-water size: a full disk then fails the next commit (and
            // raises `journal_failing` when the disk fills), not some later
            // one when the log outgrows its old size; and a burst does not
            // keep its disk space. One truncate per ~4 MB of log.
            .pragma("journal_size_limit", "0")
            .busy_timeout(std::time::Duration::from_secs(5))
            .connect()
            .await?;
        MIGRATOR.run_direct(&mut conn).await?;
        let mut snapshot_path = path.as_os_str().to_owned();
        snapshot_path.push(".lists.json");
        Ok(Journal { conn, snapshot_path: snapshot_path.into(), clock })
    }

    /// Reads back everything a restart needs.
    pub async fn restore(&mut self) -> Result<Restored, JournalError> {
        let mut r = Restored::default();
        let corrupt = |e: parking_core::IdError| JournalError::Corrupt(e.to_string());
        for row in sqlx::query("SELECT epc, entered_ms, class, plate FROM inside").fetch_all(&mut self.conn).await? {
            let epc: String = row.try_get(0)?;
            let class: String = row.try_get(2)?;
            let plate: Option<String> = row.try_get(3)?;
            let epc = Epc::from_str(&epc).map_err(corrupt)?;
            let class = VehicleClass::from_str(&class).map_err(|e| JournalError::Corrupt(e.to_string()))?;
            let plate = plate.map(|p| Plate::from_str(&p)).transpose().map_err(corrupt)?;
            let entered_at = Timestamp::from_unix_millis(row.try_get(1)?)
                .ok_or_else(|| JournalError::Corrupt("entry time out of range".into()))?;
            r.changes.push(LotChange::Entered { epc, inside: Inside { entered_at, class, plate } });
        }
        for row in sqlx::query("SELECT serial FROM used_tickets").fetch_all(&mut self.conn).await? {
            let serial: i64 = row.try_get(0)?;
            r.changes.push(LotChange::TicketUsed { serial: serial.unsigned_abs() });
        }
        for row in sqlx::query("SELECT serial, plate FROM ticket_plates").fetch_all(&mut self.conn).await? {
            let serial: i64 = row.try_get(0)?;
            let plate: String = row.try_get(1)?;
            let plate = Plate::from_str(&plate).map_err(corrupt)?;
            r.changes.push(LotChange::TicketPlate { serial: serial.unsigned_abs(), plate });
        }
        for row in sqlx::query("SELECT gate, credential, at_ms FROM last_open").fetch_all(&mut self.conn).await? {
            let gate: String = row.try_get(0)?;
            let gate = gate.parse().map_err(|e: parking_core::IdError| JournalError::Corrupt(e.to_string()))?;
            let at = Timestamp::from_unix_millis(row.try_get(2)?)
                .ok_or_else(|| JournalError::Corrupt("open time out of range".into()))?;
            let open = LastOpen { key: row.try_get(1)?, at };
            r.changes.push(LotChange::Opened { gate, open });
        }
        for row in sqlx::query("SELECT key, value FROM meta").fetch_all(&mut self.conn).await? {
            let key: String = row.try_get(0)?;
            let value: i64 = row.try_get(1)?;
            if key == "next_ticket_serial" {
                r.changes.push(LotChange::TicketSerial { next: value.unsigned_abs() });
            } else if let Some(gate) = key.strip_prefix("seq:") {
                r.seqs.insert(gate.to_owned(), value.unsigned_abs());
            }
        }
        match std::fs::read(&self.snapshot_path) {
            Ok(snapshot) => r.lists.push(("snapshot".to_owned(), snapshot)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(JournalError::Db(sqlx::Error::Io(e))),
        }
        for row in sqlx::query("SELECT kind, payload FROM lists WHERE kind = 'delta' ORDER BY version")
            .fetch_all(&mut self.conn)
            .await?
        {
            r.lists.push((row.try_get(0)?, row.try_get(1)?));
        }
        r.tariff = sqlx::query("SELECT payload FROM tariff WHERE id = 1")
            .fetch_optional(&mut self.conn)
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
        r.unacked = self.unacked().await?;
        Ok(r)
    }

    /// Every event not yet acknowledged, in journal order.
    pub async fn unacked(&mut self) -> Result<Vec<Unacked>, JournalError> {
        let rows = sqlx::query("SELECT seq, event_id, gate FROM events ORDER BY seq").fetch_all(&mut self.conn).await?;
        rows.into_iter()
            .map(|row| {
                let id: String = row.try_get(1)?;
                let event_id = EventId::from_str(&id).map_err(|e| JournalError::Corrupt(e.to_string()))?;
                Ok(Unacked { seq: row.try_get(0)?, event_id, gate: row.try_get(2)? })
            })
            .collect()
    }

    /// Commits a batch of events and the lot-state changes their decisions
    /// made, in one transaction; returns each event's journal sequence
    /// number, in order.
    pub async fn commit(&mut self, batch: &[Entry], changes: &[LotChange]) -> Result<Vec<i64>, JournalError> {
        let journaled = self.clock.now_ms();
        let mut tx = self.conn.begin().await?;
        let mut seqs = Vec::with_capacity(batch.len());
        let mut gate_seqs: HashMap<&str, u64> = HashMap::new();
        for e in batch {
            let row = sqlx::query(
                "INSERT INTO events (event_id, gate, payload, decided_ms, journaled_ms) VALUES (?, ?, ?, ?, ?) \
                 RETURNING seq",
            )
            .bind(e.event.event_id.to_string())
            .bind(e.event.gate.as_str())
            .bind(&e.payload)
            .bind(e.event.at.unix_millis())
            .bind(journaled)
            .fetch_one(&mut *tx)
            .await?;
            seqs.push(row.try_get(0)?);
            let s = gate_seqs.entry(e.event.gate.as_str()).or_default();
            *s = (*s).max(e.event.seq);
        }
        for c in changes {
            apply(&mut tx, c, journaled).await?;
        }
        for (gate, seq) in gate_seqs {
            sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = MAX(value, excluded.value)")
                .bind(format!("seq:{gate}"))
                .bind(i64::try_from(seq).unwrap_or(i64::MAX))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(seqs)
    }

    /// Deletes acknowledged events; returns how many were still here.
    pub async fn ack(&mut self, ids: &[EventId]) -> Result<u64, JournalError> {
        let mut tx = self.conn.begin().await?;
        let mut n = 0;
        for id in ids {
            n += sqlx::query("DELETE FROM events WHERE event_id = ?")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(n)
    }

    /// The payloads of these journal rows (those still unacknowledged).
    pub async fn payloads(&mut self, seqs: &[i64]) -> Result<Vec<(i64, String, Vec<u8>)>, JournalError> {
        let mut out = Vec::with_capacity(seqs.len());
        for seq in seqs {
            if let Some(row) = sqlx::query("SELECT seq, gate, payload FROM events WHERE seq = ?")
                .bind(seq)
                .fetch_optional(&mut self.conn)
                .await?
            {
                out.push((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?));
            }
        }
        Ok(out)
    }

    /// Keeps a lists snapshot as the new base, dropping older deltas. The
    /// file is replaced atomically (written aside, synced, renamed), so a
    /// crash leaves the old snapshot or the new one, never half of one.
    pub async fn save_snapshot(&mut self, payload: &[u8]) -> Result<(), JournalError> {
        parking_runtime::files::write_atomically(&self.snapshot_path, payload)
            .map_err(|e| JournalError::Db(sqlx::Error::Io(e)))?;
        sqlx::query("DELETE FROM lists").execute(&mut self.conn).await?;
        Ok(())
    }

    /// Keeps a delta applied on top of the saved lists.
    pub async fn save_delta(&mut self, to_version: u64, payload: &[u8]) -> Result<(), JournalError> {
        sqlx::query("INSERT OR REPLACE INTO lists (version, kind, payload) VALUES (?, 'delta', ?)")
            .bind(i64::try_from(to_version).unwrap_or(i64::MAX))
            .bind(payload)
            .execute(&mut self.conn)
            .await?;
        Ok(())
    }

    pub async fn save_tariff(&mut self, payload: &[u8]) -> Result<(), JournalError> {
        sqlx::query("INSERT OR REPLACE INTO tariff (id, payload) VALUES (1, ?)")
            .bind(payload)
            .execute(&mut self.conn)
            .await?;
        Ok(())
    }
}

async fn apply(conn: &mut SqliteConnection, c: &LotChange, now: i64) -> Result<(), JournalError> {
    match c {
        LotChange::Entered { epc, inside } => {
            sqlx::query("INSERT OR REPLACE INTO inside (epc, entered_ms, class, plate) VALUES (?, ?, ?, ?)")
                .bind(epc.to_string())
                .bind(inside.entered_at.unix_millis())
                .bind(inside.class.as_str())
                .bind(inside.plate.as_ref().map(|p| p.compact().to_owned()))
                .execute(&mut *conn)
                .await?;
        }
        LotChange::Left { epc } => {
            sqlx::query("DELETE FROM inside WHERE epc = ?").bind(epc.to_string()).execute(&mut *conn).await?;
        }
        LotChange::TicketUsed { serial } => {
            let serial = i64::try_from(*serial).unwrap_or(i64::MAX);
            sqlx::query("INSERT OR IGNORE INTO used_tickets (serial, used_ms) VALUES (?, ?)")
                .bind(serial)
                .bind(now)
                .execute(&mut *conn)
                .await?;
            sqlx::query("DELETE FROM ticket_plates WHERE serial = ?").bind(serial).execute(&mut *conn).await?;
        }
        LotChange::TicketPlate { serial, plate } => {
            let serial = i64::try_from(*serial).unwrap_or(i64::MAX);
            sqlx::query(
                "INSERT OR REPLACE INTO ticket_plates (serial, plate) SELECT ?1, ?2 \
                 WHERE NOT EXISTS (SELECT 1 FROM used_tickets WHERE serial = ?1)",
            )
            .bind(serial)
            .bind(plate.compact())
            .execute(&mut *conn)
            .await?;
        }
        LotChange::Opened { gate, open } => {
            sqlx::query("INSERT OR REPLACE INTO last_open (gate, credential, at_ms) VALUES (?, ?, ?)")
                .bind(gate.as_str())
                .bind(&open.key)
                .bind(open.at.unix_millis())
                .execute(&mut *conn)
                .await?;
        }
        LotChange::Passed { gate } => {
            sqlx::query("DELETE FROM last_open WHERE gate = ?").bind(gate.as_str()).execute(&mut *conn).await?;
        }
        LotChange::TicketSerial { next } => {
            sqlx::query(
                "INSERT INTO meta (key, value) VALUES ('next_ticket_serial', ?) \
                 ON CONFLICT(key) DO UPDATE SET value = MAX(value, excluded.value)",
            )
            .bind(i64::try_from(*next).unwrap_or(i64::MAX))
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
