//! The bad actors a generated day holds: distinct visits, each made what
//! its part needs (a tag, a ticket).

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::generate::TrafficSettings;
use super::{Actor, CredentialKind, Visit, epc_of};

/// Gives `s`'s count of each bad actor to distinct visits.
pub(super) fn assign(visits: &mut [Visit], rng: &mut ChaCha8Rng, s: &TrafficSettings) {
    let mut order: Vec<usize> = (0..visits.len()).collect();
    order.shuffle(rng);
    let mut chosen = order.into_iter();
    let roles = [
        (Actor::Denylisted, s.denylisted),
        (Actor::Cloned, s.cloned),
        (Actor::Tailgater, s.tailgaters),
        (Actor::Underpayer, s.underpayers),
        (Actor::Thief, s.thieves),
        (Actor::TagMoved, s.moved_tags),
    ];
    for (actor, count) in roles {
        for _ in 0..count {
            let Some(i) = chosen.next() else { break };
            let v = &mut visits[i];
            v.actor = actor;
            match actor {
                Actor::Denylisted | Actor::Cloned | Actor::TagMoved => {
                    v.credential = CredentialKind::Tag;
                    v.epc = Some(epc_of(v.vehicle));
                }
                Actor::Underpayer | Actor::Thief => {
                    v.credential = CredentialKind::Ticket;
                    v.epc = None;
                }
                Actor::Tailgater | Actor::Normal => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::super::generate::generate;
    use super::*;

    #[test]
    fn exactly_the_bad_actors_asked_for() {
        let s = TrafficSettings {
            visits: 500,
            denylisted: 2,
            cloned: 3,
            tailgaters: 4,
            underpayers: 5,
            thieves: 6,
            moved_tags: 7,
            ..Default::default()
        };
        let visits = generate(&s).unwrap();
        let count = |a: Actor| visits.iter().filter(|v| v.actor == a).count();
        let counts =
            [Actor::Denylisted, Actor::Cloned, Actor::Tailgater, Actor::Underpayer, Actor::Thief, Actor::TagMoved]
                .map(count);
        assert_eq!(counts, [2, 3, 4, 5, 6, 7]);
        let tagged = |a: &Visit| a.epc.is_some() && a.credential == CredentialKind::Tag;
        let with = |a: Actor| visits.iter().filter(move |v| v.actor == a);
        assert!(with(Actor::Denylisted).chain(with(Actor::Cloned)).chain(with(Actor::TagMoved)).all(tagged));
        assert!(with(Actor::Underpayer).chain(with(Actor::Thief)).all(|v| v.credential == CredentialKind::Ticket));
    }
}
