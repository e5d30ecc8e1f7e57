#![allow(clippy::unwrap_used, clippy::expect_used)]

use parking_core::wire::acl::NodeKind;
use rumqttc::mqttbytes::v4::ConnectReturnCode;

use super::provision::{Provisioned, provision};
use super::{auth::NodeAuth, export, list, remove, secret};
use crate::db::Db;
use crate::settings::NodeEntry;

fn entry(dir: &std::path::Path, id: &str, kind: &str, gates: &[&str]) -> NodeEntry {
    NodeEntry {
        id: id.parse().unwrap(),
        kind: kind.into(),
        gates: gates.iter().map(|g| g.parse().unwrap()).collect(),
        lot: None,
        secret_file: dir.join(format!("{id}.secret")),
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("parking-nodes-{name}-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn secrets_are_written_once_and_only_their_hashes_kept(db: &Db) {
    let dir = scratch("provision");
    let lot = "lot-1".parse().unwrap();
    let mut entries =
        vec![entry(&dir, "controller-1", "controller", &["entry-1"]), entry(&dir, "board", "viewer", &[])];
    assert_eq!(provision(db, &entries, &lot, 1).await.unwrap(), [Provisioned::Written, Provisioned::Written]);
    let s1 = secret::read_file(&entries[0].secret_file).unwrap().unwrap();
    let nodes = list(db).await.unwrap();
    assert_eq!(nodes.len(), 2);
    let c1 = nodes.iter().find(|n| n.id.as_str() == "controller-1").unwrap();
    assert!(secret::verify(&s1, &c1.secret_hash) && !c1.secret_hash.contains(&s1), "only the hash is stored");

    // A second start keeps the secret, and takes the gates from the configuration.
    entries[0].gates.push("exit-1".parse().unwrap());
    assert_eq!(provision(db, &entries, &lot, 2).await.unwrap(), [Provisioned::Kept, Provisioned::Kept]);
    assert_eq!(secret::read_file(&entries[0].secret_file).unwrap().unwrap(), s1);
    let c1 = list(db).await.unwrap().into_iter().find(|n| n.id.as_str() == "controller-1").unwrap();
    assert_eq!(c1.role, NodeKind::Controller { gates: vec!["entry-1".parse().unwrap(), "exit-1".parse().unwrap()] });
    assert_eq!(c1.created_ms, 1);

    // A lost file: a new secret, and the old one no longer works.
    std::fs::remove_file(&entries[0].secret_file).unwrap();
    assert_eq!(provision(db, &entries, &lot, 3).await.unwrap()[0], Provisioned::Written);
    let s2 = secret::read_file(&entries[0].secret_file).unwrap().unwrap();
    assert_ne!(s1, s2);
    let auth = NodeAuth::new("lot-server", "own-secret", parking_core::wire::acl::Grant::default());
    auth.load(&list(db).await.unwrap());
    assert!(auth.check(Some(("controller-1", &s2))).is_ok());
    assert_eq!(auth.check(Some(("controller-1", &s1))).unwrap_err(), ConnectReturnCode::BadUserNamePassword);
    assert_eq!(auth.check(Some(("nobody", &s2))).unwrap_err(), ConnectReturnCode::BadUserNamePassword);
    assert_eq!(auth.check(None).unwrap_err(), ConnectReturnCode::NotAuthorized);
    let (_, grant) = auth.check(Some(("lot-server", "own-secret"))).unwrap();
    assert!(grant.read.is_empty(), "the server's own user has the grant it was given");
    let (_, grant) = auth.check(Some(("controller-1", &s2))).unwrap();
    assert!(grant.may_publish("parking/lot-1/gate/exit-1/event"));
    assert!(!grant.may_publish("parking/lot-1/gate/exit-2/event"));

    // Export: the same users for Mosquitto.
    let nodes = list(db).await.unwrap();
    let passwd = export::passwd(&nodes);
    let c1 = nodes.iter().find(|n| n.id.as_str() == "controller-1").unwrap();
    assert!(passwd.lines().any(|l| l == format!("controller-1:{}", c1.secret_hash)), "{passwd}");
    assert!(!passwd.contains(&s2));
    let acl = export::acl(&nodes);
    assert!(acl.contains("user board\ntopic read parking/lot-1/gate/+/status\n"), "{acl}");
    assert!(acl.contains("topic write parking/lot-1/gate/exit-1/event\n"), "{acl}");

    assert!(remove(db, &"board".parse().unwrap()).await.unwrap());
    assert!(!remove(db, &"board".parse().unwrap()).await.unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}
crate::on_both_databases!(nodes_provision_auth_export, secrets_are_written_once_and_only_their_hashes_kept);
