//! The registry and the lists it drives, on both databases: what a
//! controller holds after a snapshot and the deltas that follow must be
//! what a fresh snapshot says.

use parking_core::gate::lists::EdgeLists;
use parking_core::ids::Epc;
use parking_core::wire::{DenyReason, DenyTarget};

use super::*;
use crate::lists;

fn lot() -> parking_core::LotId {
    "reg-lot".parse().unwrap()
}

fn now() -> parking_core::Timestamp {
    parking_core::Timestamp::from_unix_seconds(1_790_000_000).unwrap()
}

fn vehicle(plate: &str, account: Option<&str>) -> VehicleInput {
    VehicleInput {
        plate: plate.parse().unwrap(),
        class: VehicleClass::Car,
        owner_id: None,
        account_id: account.map(str::to_owned),
        state: VehicleState::Active,
    }
}

fn tag(epc: &str, vehicle_id: &str) -> TagInput {
    TagInput { epc: epc.parse().unwrap(), tid: None, vehicle_id: vehicle_id.to_owned(), state: TagState::Active }
}

/// Applies the delta since `held` to `edge`, as a controller would.
async fn catch_up(db: &Db, edge: &mut EdgeLists) {
    if let Some(d) = lists::delta_since(db, &lot(), edge.version(), now()).await.unwrap() {
        edge.apply_delta(d).unwrap();
    }
}

fn same(a: &EdgeLists, b: &EdgeLists, epcs: &[&str]) {
    assert_eq!(a.version(), b.version());
    assert_eq!(a.tag_count(), b.tag_count());
    for e in epcs {
        let epc: Epc = e.parse().unwrap();
        assert_eq!(a.tag(&epc), b.tag(&epc), "{e}");
        assert_eq!(a.denied(&DenyTarget::Epc(epc.clone())), b.denied(&DenyTarget::Epc(epc)), "{e}");
    }
}

async fn deltas_follow_the_registry(db: &Db) {
    let reg = Registry::new(db.clone());
    let mut edge = EdgeLists::default();
    edge.apply_snapshot("reg-lot", lists::snapshot(db, &lot(), now()).await.unwrap()).unwrap();
    assert_eq!(edge.tag_count(), 0);

    let owner = reg
        .create_owner(OwnerInput { name: "B".into(), id_number: Some("123456789".into()), phone: None }, 1)
        .await
        .unwrap();
    let account = reg
        .create_account(
            AccountInput { owner_id: owner.owner_id.clone(), credit_limit_vnd: 50_000, state: AccountState::Active },
            1,
        )
        .await
        .unwrap();
    let v1 = reg.create_vehicle(vehicle("30E-123.45", Some(&account.account_id)), 2).await.unwrap();
    let v2 = reg.create_vehicle(vehicle("51LD-1234", None), 2).await.unwrap();
    reg.create_tag(tag("E20000000000000000000001", &v1.vehicle_id), 3).await.unwrap();
    reg.create_tag(tag("E20000000000000000000002", &v2.vehicle_id), 3).await.unwrap();
    catch_up(db, &mut edge).await;
    let t1 = edge.tag(&"E20000000000000000000001".parse().unwrap()).cloned().unwrap();
    // A credit limit lets a zero balance pay.
    assert_eq!(t1.account.as_deref(), Some(account.account_id.as_str()));
    assert_eq!(t1.plate.unwrap().compact(), "30E12345");

    // Block the account, move tag 2 to vehicle 1, mark tag 1 cloned.
    reg.update_account(
        &account.account_id,
        AccountInput { owner_id: owner.owner_id.clone(), credit_limit_vnd: 50_000, state: AccountState::Blocked },
        4,
    )
    .await
    .unwrap();
    catch_up(db, &mut edge).await;
    assert_eq!(edge.denied(&DenyTarget::Account(account.account_id.clone())), Some(DenyReason::BlockedAccount));
    // The tag keeps naming its account (nothing to spend), so the gate finds
    // the account on the deny list and refuses it.
    let blocked = edge.tag(&"E20000000000000000000001".parse().unwrap()).cloned().unwrap();
    assert_eq!(blocked.account.as_deref(), Some(account.account_id.as_str()));
    assert_eq!(blocked.spendable, Some(parking_core::money::Vnd::ZERO));
    reg.update_tag("E20000000000000000000002", tag("E20000000000000000000002", &v1.vehicle_id), 5).await.unwrap();
    let mut cloned = tag("E20000000000000000000001", &v1.vehicle_id);
    cloned.state = TagState::Cloned;
    reg.update_tag("e20000000000000000000001", cloned, 5).await.unwrap();
    catch_up(db, &mut edge).await;
    assert_eq!(edge.tag(&"E20000000000000000000001".parse().unwrap()), None);
    assert_eq!(edge.denied(&DenyTarget::Epc("E20000000000000000000001".parse().unwrap())), Some(DenyReason::ClonedTag));
    assert_eq!(
        edge.tag(&"E20000000000000000000002".parse().unwrap()).unwrap().plate.as_ref().unwrap().compact(),
        "30E12345"
    );

    // What the deltas built is what a fresh snapshot says.
    let mut fresh = EdgeLists::default();
    fresh.apply_snapshot("reg-lot", lists::snapshot(db, &lot(), now()).await.unwrap()).unwrap();
    same(&edge, &fresh, &["E20000000000000000000001", "E20000000000000000000002"]);

    // Nothing changed: no delta, no new version.
    let version = edge.version();
    assert!(lists::delta_since(db, &lot(), version, now()).await.unwrap().is_none());
    reg.update_owner(&owner.owner_id, OwnerInput { name: "B2".into(), id_number: None, phone: None }, 6).await.unwrap();
    assert!(lists::delta_since(db, &lot(), version, now()).await.unwrap().is_none());
    assert!(reg.owner_id_matches(&owner.owner_id, "123456789").await.unwrap(), "the hash survives a rename");

    // Removal reaches the controller as a removal.
    reg.delete_tag("E20000000000000000000002", 5).await.unwrap();
    let d = lists::delta_since(db, &lot(), version, now()).await.unwrap().unwrap();
    assert_eq!(d.remove_tags, vec!["E20000000000000000000002".parse::<Epc>().unwrap()]);
    edge.apply_delta(d).unwrap();
    assert_eq!(edge.tag(&"E20000000000000000000002".parse().unwrap()), None);

    // Versions only grow, and a failed change takes none of the entries.
    let before = lists::snapshot(db, &lot(), now()).await.unwrap().version;
    assert!(matches!(
        reg.create_tag(tag("E20000000000000000000009", "no-such-vehicle"), 7).await,
        Err(RegistryError::Conflict(_))
    ));
    assert_eq!(lists::snapshot(db, &lot(), now()).await.unwrap().version, before);
}
crate::on_both_databases!(registry_deltas_follow_the_registry, deltas_follow_the_registry);

async fn concurrent_changes_keep_versions_consistent(db: &Db) {
    let reg = Registry::new(db.clone());
    let mut handles = Vec::new();
    for i in 0..16u32 {
        let reg = reg.clone();
        handles.push(tokio::spawn(async move {
            let v = reg.create_vehicle(vehicle(&format!("29A-{:03}.{:02}", 100 + i, i), None), 1).await.unwrap();
            reg.create_tag(tag(&format!("E2000000000000000000{:04X}", i), &v.vehicle_id), 1).await.unwrap();
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let snap = lists::snapshot(db, &lot(), now()).await.unwrap();
    assert_eq!(snap.tags.len(), 16);
    // Every change took its own version: replaying all deltas from zero,
    // one version at a time, ends where the snapshot is.
    let mut edge = EdgeLists::default();
    let mut held = 0;
    while let Some(d) = lists::delta_since(db, &lot(), held, now()).await.unwrap() {
        held = d.to_version;
        edge.apply_delta(d).unwrap();
    }
    assert_eq!(edge.version(), snap.version);
    assert_eq!(edge.tag_count(), 16);
}
crate::on_both_databases!(
    registry_concurrent_changes_keep_versions_consistent,
    concurrent_changes_keep_versions_consistent
);
