use std::sync::Arc;

use parking_core::wire::acl::Grant;
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{ConnectReturnCode, Packet, Publish, Subscribe, SubscribeReasonCode};

use super::Router;
use crate::Login;

fn login(user: &str) -> Login {
    Login { user: user.into(), grant: Arc::new(Grant { read: vec!["a/#".into()], write: vec!["a/#".into()] }) }
}

fn publishes(packets: &[Packet]) -> Vec<String> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => Some(String::from_utf8_lossy(&p.payload).into_owned()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_share_group_gets_each_message_once_in_turns() {
    let mut r = Router::default();
    let c1 = r.connect("s1", &login("srv"), true).unwrap().connection;
    let c2 = r.connect("s2", &login("srv"), true).unwrap().connection;
    r.subscribe("s1", Subscribe::new("$share/g/a/+", QoS::AtLeastOnce));
    r.subscribe("s2", Subscribe::new("$share/g/a/+", QoS::AtLeastOnce));
    r.take("s1", c1);
    r.take("s2", c2);
    for i in 0..4 {
        r.publish(Publish::new("a/x", QoS::AtLeastOnce, i.to_string()));
    }
    let got1 = publishes(&r.take("s1", c1).unwrap());
    let got2 = publishes(&r.take("s2", c2).unwrap());
    assert_eq!(got1.len() + got2.len(), 4, "{got1:?} {got2:?}");
    assert_eq!(got1.len(), 2, "turns: {got1:?} {got2:?}");
}

#[test]
fn retained_messages_reach_a_new_subscriber_and_an_empty_one_clears_them() {
    let mut r = Router::default();
    let mut m = Publish::new("a/r", QoS::AtLeastOnce, "kept");
    m.retain = true;
    r.publish(m);
    let c = r.connect("c", &login("u"), true).unwrap().connection;
    r.subscribe("c", Subscribe::new("a/#", QoS::AtLeastOnce));
    let out = r.take("c", c).unwrap();
    assert!(matches!(out[0], Packet::ConnAck(_)));
    assert!(matches!(out[1], Packet::SubAck(_)), "the suback comes before the retained message: {out:?}");
    assert_eq!(publishes(&out), ["kept"]);
    let mut clear = Publish::new("a/r", QoS::AtLeastOnce, "");
    clear.retain = true;
    r.publish(clear);
    r.take("c", c);
    let c2 = r.connect("d", &login("u"), true).unwrap().connection;
    r.subscribe("d", Subscribe::new("a/#", QoS::AtLeastOnce));
    assert!(publishes(&r.take("d", c2).unwrap()).is_empty());
}

#[test]
fn a_filter_outside_the_grant_is_refused_in_the_suback() {
    let mut r = Router::default();
    let c = r.connect("c", &login("u"), true).unwrap().connection;
    let mut sub = Subscribe::new("a/x", QoS::AtLeastOnce);
    sub.add("#".into(), QoS::AtLeastOnce);
    assert_eq!(r.subscribe("c", sub), ["#"]);
    let out = r.take("c", c).unwrap();
    let Some(Packet::SubAck(ack)) = out.get(1) else { panic!("{out:?}") };
    assert_eq!(ack.return_codes, [SubscribeReasonCode::Success(QoS::AtLeastOnce), SubscribeReasonCode::Failure]);
}

#[test]
fn a_persistent_session_keeps_messages_while_away_and_sends_unacked_ones_again() {
    let mut r = Router::default();
    let c = r.connect("p", &login("u"), false).unwrap().connection;
    r.subscribe("p", Subscribe::new("a/#", QoS::AtLeastOnce));
    r.publish(Publish::new("a/1", QoS::AtLeastOnce, "sent"));
    assert_eq!(publishes(&r.take("p", c).unwrap()), ["sent"]);
    r.detach("p", c);
    r.publish(Publish::new("a/2", QoS::AtLeastOnce, "kept"));
    r.publish(Publish::new("a/3", QoS::AtMostOnce, "qos0"));
    let back = r.connect("p", &login("u"), false).unwrap();
    assert!(back.session_present);
    assert_eq!(publishes(&r.take("p", back.connection).unwrap()), ["sent", "kept"]);
    assert!(r.take("p", c).is_none(), "the old connection is not live");
}

#[test]
fn another_user_cannot_take_a_client_id() {
    let mut r = Router::default();
    r.connect("controller-1", &login("controller-1"), false).unwrap();
    assert_eq!(r.connect("controller-1", &login("reader-1"), true).unwrap_err(), ConnectReturnCode::NotAuthorized);
}
