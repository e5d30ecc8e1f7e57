//! `lot-server token create|list|revoke`: API tokens for machines; only
//! a token's hash is stored, and it is printed once.

use clap::Subcommand;

use super::{Target, database};

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token and print it, once: only its hash is stored.
    Create {
        #[command(flatten)]
        target: Target,
        /// admin, operator or tax_officer.
        #[arg(long)]
        role: crate::tokens::Role,
        /// Whose token it is, e.g. "gate staff, shift A".
        #[arg(long, default_value = "created on the command line")]
        label: String,
    },
    /// List tokens (never the tokens themselves).
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Revoke a token by its id.
    Revoke {
        #[command(flatten)]
        target: Target,
        token_id: String,
    },
}

/// Runs a token command.
pub async fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { target, role, label } => {
            let (settings, lot, db) = database(&target).await?;
            let t = crate::tokens::create(&db, role, &label, settings.clock.now_ms()).await?;
            eprintln!(
                "token {} ({role}, {label}) of lot {}; it is shown once, keep it secret:",
                t.info.token_id, lot.lot.id
            );
            println!("{}", t.token);
        }
        TokenCommand::List { target } => {
            for t in crate::tokens::list(&database(&target).await?.2).await? {
                let state = if t.revoked_ms.is_some() { "revoked" } else { "live" };
                println!("{}  {:<11}  {:<7}  {}", t.token_id, t.role.as_str(), state, t.label);
            }
        }
        TokenCommand::Revoke { target, token_id } => {
            let (settings, _, db) = database(&target).await?;
            if !crate::tokens::revoke(&db, &token_id, settings.clock.now_ms()).await? {
                anyhow::bail!("no live token {token_id}");
            }
            println!("token {token_id} revoked");
        }
    }
    Ok(())
}
