//! `lot-server user create|list|disable|enable|reset-password`: the
//! accounts people sign in to the dashboard with. A password is read from
//! standard input (`--password-stdin`) or generated and printed once; only
//! its Argon2id hash is stored. Each change is journalled as the command
//! line's.

use std::io::Read as _;

use clap::Subcommand;

use super::{Target, database};
use crate::db::Db;
use crate::people::Principal;
use crate::people::actions::{self, Action};
use crate::people::users::{self, NewUser, WithPassword};
use crate::tokens::Role;

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account; without --password-stdin, a strong password is
    /// generated and printed once.
    Create {
        #[command(flatten)]
        target: Target,
        /// 3 to 32 of a-z, 0-9, '.', '_', '-'.
        #[arg(long)]
        username: String,
        /// admin, operator or tax_officer.
        #[arg(long)]
        role: Role,
        /// The name shown and recorded, e.g. "Nguyễn Văn An".
        #[arg(long)]
        name: Option<String>,
        /// Read the password (10 to 128 characters) from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts (never a password).
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Disable an account: it cannot sign in, and its sessions end.
    Disable {
        #[command(flatten)]
        target: Target,
        username: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[command(flatten)]
        target: Target,
        username: String,
    },
    /// Set a new password (generated, unless --password-stdin); the
    /// account's sessions end.
    ResetPassword {
        #[command(flatten)]
        target: Target,
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

/// The command line, as the journal names it.
fn console() -> Principal {
    let login = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    Principal {
        role: Role::Admin,
        name: format!("command line ({login})"),
        id: "cli:lot-server".into(),
        username: None,
        token_id: None,
    }
}

fn password(from_stdin: bool) -> anyhow::Result<Option<String>> {
    if !from_stdin {
        return Ok(None);
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    Ok(Some(text.trim_end_matches(['\r', '\n']).to_owned()))
}

async fn journal(db: &Db, what: &str, username: &str, now_ms: i64) -> anyhow::Result<()> {
    let action = Action::new(&console(), format!("user {what}"), format!("user:{username}"), 0);
    Ok(actions::record(db, &action, now_ms).await?)
}

fn show(done: &WithPassword, what: &str) {
    let u = &done.user;
    eprintln!("{what} {} ({}, {})", u.username, u.role, u.display_name);
    if let Some(p) = &done.generated_password {
        eprintln!("its password is shown once; give it to its owner:");
        println!("{p}");
    }
}

/// Runs a user command.
pub async fn run(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create { target, username, role, name, password_stdin } => {
            let password = password(password_stdin)?;
            let (settings, _, db) = database(&target).await?;
            let now = settings.clock.now_ms();
            let made = users::create(&db, NewUser { username, display_name: name, role, password }, now).await?;
            journal(&db, "create", &made.user.username, now).await?;
            show(&made, "created");
        }
        UserCommand::List { target } => {
            for u in users::list(&database(&target).await?.2).await? {
                let state = if u.disabled_ms.is_some() { "disabled" } else { "active" };
                println!("{:<24}  {:<11}  {:<8}  {}", u.username, u.role.as_str(), state, u.display_name);
            }
        }
        UserCommand::Disable { target, username } => {
            let (settings, _, db) = database(&target).await?;
            let u = users::set_disabled(&db, &username, true, settings.clock.now_ms()).await?;
            journal(&db, "disable", &u.username, settings.clock.now_ms()).await?;
            println!("{} disabled; its sessions have ended", u.username);
        }
        UserCommand::Enable { target, username } => {
            let (settings, _, db) = database(&target).await?;
            let u = users::set_disabled(&db, &username, false, settings.clock.now_ms()).await?;
            journal(&db, "enable", &u.username, settings.clock.now_ms()).await?;
            println!("{} enabled", u.username);
        }
        UserCommand::ResetPassword { target, username, password_stdin } => {
            let password = password(password_stdin)?;
            let (settings, _, db) = database(&target).await?;
            let now = settings.clock.now_ms();
            let done = users::reset_password(&db, &username, password, now).await?;
            journal(&db, "reset-password", &done.user.username, now).await?;
            show(&done, "new password for");
        }
    }
    Ok(())
}
