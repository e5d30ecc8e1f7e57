use super::*;

fn ids(gates: &[&str]) -> Vec<GateId> {
    gates.iter().map(|g| g.parse().unwrap()).collect()
}

fn topics() -> Topics {
    Topics::new("lot-1".parse().unwrap())
}

#[test]
fn filters_match_as_mqtt_says() {
    assert!(matches("a/+/c", "a/b/c"));
    assert!(!matches("a/+/c", "a/b/d"));
    assert!(matches("a/#", "a"));
    assert!(matches("a/#", "a/b/c"));
    assert!(matches("#", "a/b"));
    assert!(!matches("#", "$SYS/x"));
    assert!(!matches("a/b", "a/b/c"));
    assert!(!matches("a/b/c", "a/b"));
    assert!(matches("+", "a"));
    assert!(!matches("+", "a/b"));
}

#[test]
fn a_grant_covers_only_what_it_reads_all_of() {
    assert!(covers("parking/l/gate/+/event", "parking/l/gate/+/event"));
    assert!(covers("parking/l/gate/+/event", "parking/l/gate/exit-1/event"));
    assert!(!covers("parking/l/gate/exit-1/event", "parking/l/gate/+/event"));
    assert!(!covers("parking/l/gate/+/event", "parking/l/gate/#"));
    assert!(covers("parking/l/#", "parking/l/gate/#"));
    assert!(covers("parking/l/#", "parking/l"));
    assert!(!covers("parking/l/#", "#"));
    assert!(!covers("parking/l/#", "parking/+/gate/x/event"));
    assert!(covers("#", "#"));
}

#[test]
fn malformed_topics_and_filters_are_refused() {
    for bad in ["", "a/#/b", "a/b#", "a/+b", "x\0"] {
        assert!(!valid_filter(bad), "{bad:?}");
    }
    for good in ["#", "+/+", "a/+/c/#"] {
        assert!(valid_filter(good), "{good:?}");
    }
    assert!(!valid_topic("a/+"));
    assert!(!valid_topic(""));
    assert!(valid_topic("a/b"));
}

#[test]
fn a_controller_reaches_its_own_lanes_only() {
    let t = topics();
    let node = "controller-1".parse().unwrap();
    let g = Grant::for_node(&t, &node, &NodeKind::Controller { gates: ids(&["entry-1", "exit-1"]) });
    assert!(g.may_publish("parking/lot-1/gate/entry-1/event"));
    assert!(g.may_publish("parking/lot-1/gate/exit-1/barrier"));
    assert!(!g.may_publish("parking/lot-1/gate/entry-2/event"), "another controller's gate");
    assert!(!g.may_publish("parking/lot-1/gate/entry-1/cmd"), "commands come from the server");
    assert!(!g.may_publish("parking/lot-1/lists"));
    assert!(g.may_publish("parking/lot-1/node/controller-1/status"));
    assert!(!g.may_publish("parking/lot-1/node/controller-2/status"));
    assert!(g.may_subscribe("parking/lot-1/gate/+/event"));
    assert!(g.may_subscribe("parking/lot-1/gate/entry-1/read"));
    assert!(!g.may_subscribe("parking/lot-1/gate/entry-2/read"));
    assert!(!g.may_subscribe("#"));
    assert!(!g.may_subscribe("parking/lot-1/#"));
    assert!(g.may_subscribe("parking/lot-1/lists"));
}

#[test]
fn a_reader_publishes_reads_and_nothing_else() {
    let t = topics();
    let node = "reader-1".parse().unwrap();
    let g = Grant::for_node(&t, &node, &NodeKind::Reader { gates: ids(&["entry-1"]) });
    assert!(g.may_publish("parking/lot-1/gate/entry-1/read"));
    assert!(g.may_publish("parking/lot-1/desk/entry-1/read"));
    assert!(!g.may_publish("parking/lot-1/gate/entry-1/barrier"));
    assert!(!g.may_publish("parking/lot-1/gate/entry-2/read"));
    assert!(!g.may_subscribe("parking/lot-1/lists"));
}

#[test]
fn lane_devices_send_for_their_gates_and_watch_every_lane() {
    let t = topics();
    let node = "sim".parse().unwrap();
    let g = Grant::for_node(&t, &node, &NodeKind::Devices { gates: ids(&["entry-1"]) });
    assert!(g.may_publish("parking/lot-1/gate/entry-1/loop"));
    assert!(!g.may_publish("parking/lot-1/gate/entry-2/read"));
    assert!(!g.may_publish("parking/lot-1/gate/entry-1/barrier"));
    assert!(g.may_subscribe("parking/lot-1/gate/+/barrier"));
    assert!(!g.may_subscribe("parking/lot-1/gate/+/cmd"));
    assert!(!g.may_subscribe("parking/lot-1/lists"));
}

#[test]
fn a_viewer_never_reads_the_lists() {
    let t = topics();
    let node = "board".parse().unwrap();
    let g = Grant::for_node(&t, &node, &NodeKind::Viewer);
    assert!(g.may_subscribe("parking/lot-1/availability"));
    assert!(g.may_subscribe("parking/lot-1/gate/+/status"));
    assert!(!g.may_subscribe("parking/lot-1/lists"));
    assert!(!g.may_subscribe("parking/lot-1/gate/+/event"));
    assert!(g.write.is_empty());
}

#[test]
fn a_server_has_its_lot_and_no_other() {
    let t = topics();
    let node = "lot-server".parse().unwrap();
    let g = Grant::for_node(&t, &node, &NodeKind::Server);
    assert!(g.may_subscribe("$share/x/parking/lot-1/gate/+/event".trim_start_matches("$share/x/")));
    assert!(g.may_publish("parking/lot-1/lists"));
    assert!(!g.may_publish("parking/lot-2/lists"));
    assert!(!g.may_subscribe("#"));
}

#[test]
fn roles_round_trip_through_their_kind() {
    for role in [
        NodeKind::Server,
        NodeKind::Viewer,
        NodeKind::Controller { gates: ids(&["a"]) },
        NodeKind::Reader { gates: ids(&["b"]) },
        NodeKind::Devices { gates: ids(&["c"]) },
    ] {
        assert_eq!(NodeKind::from_kind(role.kind(), role.gates().to_vec()), Some(role));
    }
    assert_eq!(NodeKind::from_kind("admin", vec![]), None);
}

#[test]
fn the_mosquitto_block_lists_every_filter() {
    let g = Grant { read: vec!["a/+".into()], write: vec!["b".into()] };
    assert_eq!(g.mosquitto("u1", "x"), "# x\nuser u1\ntopic read a/+\ntopic write b\n");
}
