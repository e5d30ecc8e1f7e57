//! `lot-server backup` and `lot-server restore`: a lot's SQLite database
//! copied while the server runs, and brought back.
//!
//! - **Backup** is SQLite's `VACUUM INTO`: one read transaction, so the
//!   copy is the database as one commit left it, whatever the server
//!   writes meanwhile; it is written beside the target under a `.partial`
//!   name, synced, checked, and only then renamed, so a file with the
//!   backup's name is always whole. It never overwrites.
//! - **Restore** refuses a file that is not a whole database of this
//!   system (integrity check, its tables, its journal verifying), then
//!   puts it where the configuration says the lot's database is. A
//!   database already there stays unless `--force`, and then is kept
//!   aside as `….before-restore-{time}`, with its log. The server must be
//!   stopped; it resumes from the restored state when started.
//! - On PostgreSQL both say how to do it with `pg_dump` and `pg_restore`,
//!   which do it better than this tool could.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;

use super::{Target, load, lot_config};
use crate::db::{Backend, Db};
use crate::settings::LotConfig;

#[derive(Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    pub target: Target,
    /// The backup file to write (never overwritten).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub target: Target,
    /// A file `lot-server backup` wrote.
    #[arg(long)]
    pub from: PathBuf,
    /// Replace a database already in place (kept aside, not deleted).
    #[arg(long)]
    pub force: bool,
}

/// The lot's SQLite file, or the advice for PostgreSQL.
fn sqlite_file(lot: &LotConfig, what: &str) -> anyhow::Result<PathBuf> {
    let url = lot.database.url.expose();
    if Db::backend_of(url) == Some(Backend::Postgres) {
        let schema = lot.database.schema.as_deref().map(|s| format!(" --schema {s}")).unwrap_or_default();
        bail!(
            "lot {} is on PostgreSQL ({}): {what} it with PostgreSQL's own tools, which copy a running database \
             consistently: `pg_dump --format custom{schema} --file lot.dump DATABASE` to back up, \
             `pg_restore --clean --if-exists --dbname DATABASE lot.dump` (the server stopped) to restore",
            lot.lot.id,
            lot.database.describe()
        );
    }
    crate::db::sqlite_path(url)
        .map(PathBuf::from)
        .with_context(|| format!("lot {}: {} names no database file", lot.lot.id, lot.database.describe()))
}

/// What a database holds, to print and compare.
async fn contents(db: &Db) -> anyhow::Result<serde_json::Value> {
    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&db.pool).await?;
    if check != "ok" {
        bail!("the database is damaged: {check}");
    }
    let count = |table: &'static str| async move {
        sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&db.pool)
            .await
            .with_context(|| format!("not a lot server's database (no {table})"))
    };
    Ok(json!({
        "stays": count("sessions").await?,
        "gate_events": count("gate_events").await?,
        "journal_records": count("journal_records").await?,
        "invoices": count("invoices").await?,
    }))
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// `backup`.
pub async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let settings = load(&args.target.config)?;
    let lot = lot_config(&settings, args.target.lot.as_deref())?;
    let file = sqlite_file(&lot, "back up")?;
    if !file.exists() {
        bail!("lot {}: there is no database at {} to back up", lot.lot.id, file.display());
    }
    if args.out.exists() {
        bail!("{} exists: a backup never overwrites a file", args.out.display());
    }
    let started = Instant::now();
    // Opened as it is: a backup never migrates the live database under a
    // server of another version.
    let db = Db::connect_in(lot.database.url.expose(), None)
        .await
        .with_context(|| format!("lot {}: cannot open {}", lot.lot.id, lot.database.describe()))?;
    let mut partial = args.out.clone().into_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    let target = partial.to_str().with_context(|| format!("{} is not a UTF-8 path", partial.display()))?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&db.pool)
        .await
        .with_context(|| format!("cannot write the backup to {}", partial.display()))?;
    db.pool.close().await;
    std::fs::File::open(&partial).and_then(|f| f.sync_all()).context("cannot sync the backup")?;
    let copy = Db::connect(&format!("sqlite://{target}")).await?;
    let held = contents(&copy).await;
    copy.close().await;
    let held = held.with_context(|| format!("the backup at {} does not read back", partial.display()))?;
    // A reopened copy may leave its (empty) log behind; the backup is one file.
    remove_log(&partial);
    std::fs::rename(&partial, &args.out).with_context(|| format!("cannot name the backup {}", args.out.display()))?;
    let ms = started.elapsed().as_millis();
    eprintln!("lot {} backed up to {} in {ms} ms: {held}", lot.lot.id, args.out.display());
    println!(
        "{}",
        json!({"lot": lot.lot.id.as_str(), "file": args.out, "bytes": file_len(&args.out), "ms": ms, "holds": held})
    );
    Ok(())
}

/// `restore`.
pub async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let settings = load(&args.target.config)?;
    let lot = lot_config(&settings, args.target.lot.as_deref())?;
    let file = sqlite_file(&lot, "restore")?;
    if !args.from.is_file() {
        bail!("{}: no such backup file", args.from.display());
    }
    whole_sqlite_file(&args.from)?;
    if file.exists() && !args.force {
        bail!(
            "lot {} already has a database at {}: stop the server, then add --force to replace it (it is kept aside)",
            lot.lot.id,
            file.display()
        );
    }
    let started = Instant::now();
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // Checked and brought up to date under a name of its own first.
    let staging = PathBuf::from(format!("{}.restoring", file.display()));
    std::fs::copy(&args.from, &staging).with_context(|| format!("cannot copy {}", args.from.display()))?;
    let url = format!("sqlite://{}", staging.display());
    let checked = async {
        let db = Db::connect(&url).await?;
        let held = async {
            let held = contents(&db).await?;
            journal_verifies(&db, &settings, lot.lot.id.as_str()).await?;
            anyhow::Ok(held)
        }
        .await;
        db.close().await;
        held
    }
    .await;
    let held = match checked {
        Ok(h) => h,
        Err(e) => {
            let _ = std::fs::remove_file(&staging);
            remove_log(&staging);
            return Err(e.context(format!("{} cannot be restored", args.from.display())));
        }
    };
    if file.exists() {
        let aside = format!("{}.before-restore-{}", file.display(), settings.clock.now_ms() / 1000);
        for suffix in ["", LOG_FILES[0], LOG_FILES[1]] {
            let from = format!("{}{suffix}", file.display());
            if Path::new(&from).exists() {
                std::fs::rename(&from, format!("{aside}{suffix}"))
                    .with_context(|| format!("cannot move {from} aside"))?;
            }
        }
        eprintln!("the database that was there is kept as {aside}");
    }
    remove_log(&staging);
    std::fs::rename(&staging, &file).with_context(|| format!("cannot put the database at {}", file.display()))?;
    let ms = started.elapsed().as_millis();
    eprintln!("lot {} restored from {} in {ms} ms: {held}", lot.lot.id, args.from.display());
    println!("{}", json!({"lot": lot.lot.id.as_str(), "file": file, "ms": ms, "holds": held}));
    Ok(())
}

/// The restored journal verifies under the lot's key (if one is set).
async fn journal_verifies(db: &Db, settings: &crate::settings::Settings, lot: &str) -> anyhow::Result<()> {
    db.migrate().await?;
    crate::audit::init(db, lot).await?;
    let Some(key) = settings.tax.journal_key().context("tax.journal_key")? else { return Ok(()) };
    match crate::audit::verify(db, &key.verifying_key()).await? {
        Ok(_) => Ok(()),
        Err(t) => bail!("its journal does not verify: {t}"),
    }
}

/// A SQLite database by its header, and as long as the header says: a
/// copy cut short is refused before anything opens it.
fn whole_sqlite_file(path: &Path) -> anyhow::Result<()> {
    let mut head = [0u8; 100];
    let read = std::fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head));
    if read.is_err() || &head[..16] != b"SQLite format 3\0" {
        bail!("{} is not a SQLite database: a file `lot-server backup` wrote is one", path.display());
    }
    // The page size (1 means 65,536) and the page count, big-endian.
    let page = match u32::from(u16::from_be_bytes([head[16], head[17]])) {
        1 => 65_536,
        n => u64::from(n),
    };
    let pages = u64::from(u32::from_be_bytes([head[28], head[29], head[30], head[31]]));
    let (want, got) = (page * pages, file_len(path));
    if got < want {
        bail!("{} is cut short: {got} bytes of the {want} its header promises", path.display());
    }
    Ok(())
}

/// What SQLite keeps beside a database in WAL mode.
const LOG_FILES: [&str; 2] = ["-wal", "-shm"];

/// Removes a database's log files, if any.
fn remove_log(path: &Path) {
    for suffix in LOG_FILES {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
