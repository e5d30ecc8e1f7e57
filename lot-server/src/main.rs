//! `lot-server`: the lot server binary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use lot_server::settings::Settings;
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(version, about = "Lot server: sessions, settlement, reports, dashboard")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve: the HTTP API, ingestion of gate events from MQTT, the lists
    /// and tariff for the controllers (and the embedded broker, if set).
    Run {
        /// TOML files, later ones overriding earlier ones.
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Create or bring the database schema up to date, then exit.
    Migrate {
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Load and validate the configuration and the tariffs, then print what
    /// they say.
    CheckConfig {
        /// TOML files, later ones overriding earlier ones.
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Make or check a VietQR payment payload.
    Vietqr {
        #[command(subcommand)]
        command: lot_server::vietqr_cli::VietQrCommand,
    },
    /// The tamper-evident journal: verify it, seal a day, print the public key.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// The revenue report of a period, with its reconciliation, as JSON,
    /// CSV or XLSX (to --out, or standard output).
    Report {
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
        /// First local day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last local day, YYYY-MM-DD (included).
        #[arg(long)]
        to: String,
        /// The lot (default: the configured one).
        #[arg(long)]
        lot: Option<String>,
        /// Only this vehicle class.
        #[arg(long)]
        class: Option<String>,
        /// Only this channel: account, transfer, pass, free or manual.
        #[arg(long)]
        channel: Option<String>,
        #[arg(long, value_enum, default_value = "json")]
        format: lot_server::tax::export::ExportFormat,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Time the monthly revenue report over a generated month of stays;
    /// the last line is JSON with `report_ms`.
    BenchReport(lot_server::bench_report::ReportArgs),
    /// Measure sustained ingestion from MQTT through commit to acknowledgement.
    BenchIngest(lot_server::bench::IngestArgs),
    /// Verify a hash-chained journal of a million records and check that
    /// every kind of tampering is detected; the last line is JSON.
    BenchLedger(lot_server::bench_ledger::LedgerArgs),
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Create a token and print it, once: only its hash is stored.
    Create {
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
        /// admin, operator or tax_officer.
        #[arg(long)]
        role: lot_server::tokens::Role,
        /// Whose token it is, e.g. "gate staff, shift A".
        #[arg(long, default_value = "created on the command line")]
        label: String,
    },
    /// List tokens (never the tokens themselves).
    List {
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Revoke a token by its id.
    Revoke {
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
        token_id: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::CheckConfig { config } => check(&config),
        Command::Migrate { config } => load(&config).and_then(|s| block_on(migrate(s))),
        Command::Run { config } => load(&config).and_then(|s| {
            telemetry();
            block_on(serve(s))
        }),
        Command::Token { command } => block_on(token(command)),
        Command::Vietqr { command } => lot_server::vietqr_cli::run(command),
        Command::BenchIngest(args) => block_on(lot_server::bench::run(args)),
        Command::BenchLedger(args) => lot_server::bench_ledger::run(args),
        Command::BenchReport(args) => block_on(lot_server::bench_report::run(args)),
        Command::Report { config, from, to, lot, class, channel, format, out } => block_on(async move {
            let s = load(&config)?;
            let db = database(&config).await?;
            let lot = lot.unwrap_or_else(|| s.lot.id.as_str().to_owned());
            let q = lot_server::tax::report::ReportQuery::new(&lot, &from, &to, class, channel.as_deref())?;
            let r = lot_server::tax::report::revenue(&db, &q, tag_reader::reader::now()).await?;
            let bytes = lot_server::tax::export::export(&r, format)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!(
                        "revenue {}..{}: {} stays, {} đồng with VAT, {} mismatches; written to {}",
                        r.from,
                        r.to,
                        r.totals.count,
                        r.totals.total_vnd,
                        r.reconciliation.mismatches.len(),
                        path.display()
                    );
                }
                None => std::io::Write::write_all(&mut std::io::stdout(), &bytes)?,
            }
            Ok(())
        }),
        Command::Ledger { command } => block_on(ledger(command)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn load(config: &[PathBuf]) -> anyhow::Result<Settings> {
    Ok(Settings::load(config)?)
}

fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(f: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(f)
}

fn telemetry() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // rumqttd logs every connection at info.
        .unwrap_or_else(|_| "info,rumqttd=warn".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

async fn migrate(s: Settings) -> anyhow::Result<()> {
    let db = lot_server::db::Db::connect(s.database.url.expose()).await?;
    db.migrate().await?;
    println!("database schema up to date ({:?})", db.backend);
    Ok(())
}

async fn database(config: &[PathBuf]) -> anyhow::Result<lot_server::db::Db> {
    let s = load(config)?;
    let db = lot_server::db::Db::connect(s.database.url.expose()).await?;
    db.migrate().await?;
    Ok(db)
}

async fn token(command: TokenCommand) -> anyhow::Result<()> {
    let now = lot_server::db::now_ms();
    match command {
        TokenCommand::Create { config, role, label } => {
            let t = lot_server::tokens::create(&database(&config).await?, role, &label, now).await?;
            eprintln!("token {} ({role}, {label}); it is shown once, keep it secret:", t.info.token_id);
            println!("{}", t.token);
        }
        TokenCommand::List { config } => {
            for t in lot_server::tokens::list(&database(&config).await?).await? {
                let state = if t.revoked_ms.is_some() { "revoked" } else { "live" };
                println!("{}  {:<11}  {:<7}  {}", t.token_id, t.role.as_str(), state, t.label);
            }
        }
        TokenCommand::Revoke { config, token_id } => {
            if !lot_server::tokens::revoke(&database(&config).await?, &token_id, now).await? {
                anyhow::bail!("no live token {token_id}");
            }
            println!("token {token_id} revoked");
        }
    }
    Ok(())
}

async fn serve(s: Settings) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(s.server.listen)
        .await
        .with_context(|| format!("cannot listen on {} (server.listen)", s.server.listen))?;
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    lot_server::run(s, listener, shutdown).await
}

#[derive(Subcommand, Debug)]
enum LedgerCommand {
    /// Check every record and seal; exits 1 naming where and how the
    /// journal was tampered with.
    Verify {
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
        /// The lot's published public key (hex); default: the one of
        /// `tax.journal_key`.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Seal a day (YYYY-MM-DD) at the journal's current end.
    Seal {
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
        #[arg(long)]
        day: String,
    },
    /// Print the public key that verifies this lot's seals.
    PublicKey {
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Write the journal as JSON lines, for `journal-verify` or any
    /// verifier that follows the README's algorithm.
    Export {
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
}

async fn ledger(command: LedgerCommand) -> anyhow::Result<()> {
    use parking_core::chain;
    let (config, public, day) = match &command {
        LedgerCommand::Verify { config, public_key, .. } => (config, public_key.clone(), None),
        LedgerCommand::Seal { config, day } => (config, None, Some(day.clone())),
        LedgerCommand::PublicKey { config } | LedgerCommand::Export { config, .. } => (config, None, None),
    };
    let s = Settings::load(config)?;
    let key = s.tax.journal_key().context("tax.journal_key")?;
    if let LedgerCommand::PublicKey { .. } = command {
        let key = key.context("tax.journal_key is not set")?;
        println!("{}", chain::public_hex(&key));
        return Ok(());
    }
    let db = lot_server::db::Db::connect(s.database.url.expose()).await?;
    db.migrate().await?;
    lot_server::audit::init(&db, s.lot.id.as_str()).await?;
    if let LedgerCommand::Export { out, .. } = &command {
        let file = std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
        let mut w = std::io::BufWriter::new(file);
        let n = lot_server::audit::export(&db, &mut w).await?;
        std::io::Write::flush(&mut w)?;
        let pending = lot_server::audit::pending(&db).await?;
        eprintln!("{n} records written to {} ({pending} not chained yet)", out.display());
        return Ok(());
    }
    if let Some(day) = day {
        time::Date::parse(&day, &time::macros::format_description!("[year]-[month]-[day]"))
            .with_context(|| format!("--day {day:?} is not YYYY-MM-DD"))?;
        let key = key.context("tax.journal_key is not set: nothing to seal with")?;
        let seal = lot_server::audit::seal(&db, &key, &day, tag_reader::reader::now().unix_millis()).await?;
        println!("{}", serde_json::to_string(&seal)?);
        return Ok(());
    }
    let public = match public {
        Some(hex) => chain::verifying_key(&hex).context("--public-key")?,
        None => key.context("give --public-key, or set tax.journal_key")?.verifying_key(),
    };
    let pending = lot_server::audit::pending(&db).await?;
    match lot_server::audit::verify(&db, &public).await? {
        Ok(v) => {
            println!(
                "{}",
                serde_json::json!({
                    "ok": true, "records": v.records, "seals": v.seals, "last_hash": v.last_hash,
                    "pending": pending,
                })
            );
            Ok(())
        }
        Err(t) => anyhow::bail!("the journal does not verify: {t}"),
    }
}

fn check(config: &[PathBuf]) -> anyhow::Result<()> {
    let s = Settings::load(config)?;
    let book = lot_server::tariffs::load_dir(Path::new(&s.lot.tariff_dir), &s.lot.zone)?;
    println!("config ok: lot {} ({}), zone {}, listening on {}", s.lot.id, s.lot.name, s.lot.zone, s.server.listen);
    for t in book.tariffs() {
        println!("  tariff {} for zone {} from {}", t.version(), t.zone(), t.effective_from());
    }
    let vat = s.tax.schedule().context("[tax] vat")?;
    let today = vat.rate_at(tag_reader::reader::now()).context("[tax] vat")?;
    println!("  VAT {today} today ({} dated periods)", vat.periods().len());
    let k = &s.settlement;
    let providers: Vec<&str> = [
        (k.sepay_api_key.is_some() || k.sepay_hmac_secret.is_some(), "SePay"),
        (k.casso_secret.is_some(), "Casso"),
        (k.sepay_poll.is_some(), "SePay reconciliation"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    println!(
        "  transfer notifications: {}",
        if providers.is_empty() { "none configured".into() } else { providers.join(", ") }
    );
    match lot_server::tax::invoicing::Issuer::from_settings(&s.invoice).map_err(|e| anyhow::anyhow!("[invoice] {e}"))? {
        Some(i) => println!(
            "  invoices: series {} by {} (MST {}), delivered to {}{}",
            i.series(tag_reader::reader::now()),
            i.seller.name,
            i.seller.tax_code,
            s.invoice.drop_dir.display(),
            if s.invoice.topups { "; top-ups invoiced" } else { "" }
        ),
        None => println!("  invoices: no seller configured ([invoice]): sales wait for their invoices"),
    }
    Ok(())
}
