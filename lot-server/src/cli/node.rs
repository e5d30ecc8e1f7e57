//! `lot-server node add|list|remove|export`: the broker's users. `add`
//! prints a node's secret once (only its hash is kept); `export
//! --mosquitto` writes the same users and grants for Mosquitto.

use std::path::PathBuf;

use clap::Subcommand;
use parking_core::wire::acl::NodeKind;
use parking_core::{GateId, NodeId};

use super::{Target, lot_config, open};
use crate::db::Db;
use crate::nodes;

#[derive(Subcommand, Debug)]
pub enum NodeCommand {
    /// Add a node, or give one a new secret, and print the secret once.
    Add {
        #[command(flatten)]
        target: Target,
        /// The node id, also its broker user name (e.g. controller-2).
        node: NodeId,
        /// controller, reader, devices, viewer or server.
        #[arg(long)]
        kind: String,
        /// The gates of a controller, reader or devices node, comma-separated.
        #[arg(long, value_delimiter = ',')]
        gates: Vec<GateId>,
    },
    /// List the nodes (never a secret).
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Remove a node: its secret stops working.
    Remove {
        #[command(flatten)]
        target: Target,
        node: NodeId,
    },
    /// Write the users for Mosquitto: DIR/passwd (password_file) and DIR/acl (acl_file).
    Export {
        #[command(flatten)]
        target: Target,
        /// The directory to write them to.
        #[arg(long)]
        mosquitto: PathBuf,
    },
}

/// The database the broker's users live in (the first lot's: the
/// broker is the server's, whatever lots it serves), and the lot `--lot`
/// names, for a node's grant.
async fn users(target: &Target) -> anyhow::Result<(crate::settings::Settings, parking_core::LotId, Db)> {
    let settings = super::load(&target.config)?;
    let lot = lot_config(&settings, target.lot.as_deref())?.lot.id;
    let db = open(&lot_config(&settings, None)?).await?;
    Ok((settings, lot, db))
}

/// Runs a node command.
pub async fn run(command: NodeCommand) -> anyhow::Result<()> {
    match command {
        NodeCommand::Add { target, node, kind, gates } => {
            let entry =
                crate::settings::NodeEntry { id: node.clone(), kind, gates, lot: None, secret_file: PathBuf::new() };
            let role = entry.role(0).map_err(|(key, message, hint)| {
                anyhow::anyhow!("{}: {message}{hint}", key.replace("nodes[0].", "--"))
            })?;
            let (settings, lot, db) = users(&target).await?;
            let secret = nodes::add(&db, node.clone(), lot.clone(), role, settings.clock.now_ms()).await?;
            eprintln!(
                "node {node} of lot {lot}: its broker user is {node}, and its secret, shown once, is below. \
                 Put it in the node's broker.password_file."
            );
            println!("{secret}");
        }
        NodeCommand::List { target } => {
            for n in nodes::list(&users(&target).await?.2).await? {
                let gates: Vec<&str> = n.role.gates().iter().map(GateId::as_str).collect();
                println!("{:<24}  {:<10}  {:<20}  {}", n.id, n.role.kind(), n.lot, gates.join(","));
            }
        }
        NodeCommand::Remove { target, node } => {
            if !nodes::remove(&users(&target).await?.2, &node).await? {
                anyhow::bail!("no node {node}");
            }
            println!("node {node} removed; its secret no longer works");
        }
        NodeCommand::Export { target, mosquitto } => {
            // As the server does on start: a fresh install exports its
            // configured nodes (their secret files written) before the
            // server has ever reached the broker it exports for.
            let (settings, _, db) = users(&target).await?;
            let first = lot_config(&settings, None)?.lot.id;
            nodes::provision::provision(&db, &settings.nodes, &first, settings.clock.now_ms()).await?;
            let list = nodes::list(&db).await?;
            let [passwd, acl] = nodes::export::write(&mosquitto, &list)?;
            println!("{} nodes: {} (password_file) and {} (acl_file)", list.len(), passwd.display(), acl.display());
            if !list.iter().any(|n| matches!(n.role, NodeKind::Server)) {
                eprintln!(
                    "note: no node of kind server: add the lot server itself ([[nodes]] kind = \"server\"), \
                     or it cannot connect to Mosquitto"
                );
            }
        }
    }
    Ok(())
}
