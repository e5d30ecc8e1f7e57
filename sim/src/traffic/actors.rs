//! The bad actors a generated day holds: distinct visits, each made what
//! its part needs (a tag, a ticket).

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::{Actor, CredentialKind, Visit, epc_of};

/// Gives each actor its count of distinct visits, in the order given.
pub(super) fn assign(visits: &mut [Visit], rng: &mut ChaCha8Rng, roles: &[(Actor, usize)]) {
    let mut order: Vec<usize> = (0..visits.len()).collect();
    order.shuffle(rng);
    let mut chosen = order.into_iter();
    for &(actor, count) in roles {
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
