//! The lanes' ANPR cameras as the simulator plays them: each reads the
//! plate of the vehicle at the barrier, just before its tag or ticket,
//! with the error rate of a real camera (`[sim] plate_misread`,
//! `plate_missed`): now and then one character misread (which the lanes
//! tolerate), now and then no plate at all. The draw is a hash of the
//! vehicle and the gate's side, so a run is the same every time.
//!
//! Two bad actors show another car's plate: a thief at the exit (the
//! ticket was printed to another car) and a moved tag at both gates.

use parking_core::{Plate, VehicleClass};

use crate::traffic::{Actor, Visit};

/// How often the cameras get a plate wrong.
#[derive(Clone, Copy, Debug)]
pub struct Camera {
    /// Share of reads with one character wrong.
    pub plate_misread: f64,
    /// Share of vehicles whose plate is not read at all.
    pub plate_missed: f64,
}

/// A few in a hundred: what vendors quote for daylight lanes.
pub fn default_misread() -> f64 {
    0.03
}
pub fn default_missed() -> f64 {
    0.02
}

impl Default for Camera {
    fn default() -> Self {
        Camera { plate_misread: default_misread(), plate_missed: default_missed() }
    }
}

/// The plate of the car a bad actor drives instead: a province no
/// generated vehicle has.
fn other_car(v: &Visit) -> Plate {
    crate::traffic::generate::painted(&VehicleClass::Car, 99, 'K', v.vehicle)
}

/// One character of `p` misread: its series letter, as one the generator
/// never paints (`A`..`H` read as `S`..`Z`), so the misread is no other
/// vehicle's plate (a digit misread here would be the next vehicle's
/// number, and could open for its pass).
fn misread(p: &Plate) -> Plate {
    let text: String = p
        .compact()
        .char_indices()
        .map(
            |(i, c)| if i == 2 { "ABCDEFGH".find(c).and_then(|k| "STUVWXYZ".chars().nth(k)).unwrap_or('S') } else { c },
        )
        .collect();
    text.parse().unwrap_or_else(|_| p.clone())
}

/// A uniform draw in [0, 1) from the vehicle and the side (SplitMix64).
fn draw(vehicle: u64, exit: bool) -> f64 {
    let mut z = vehicle.wrapping_mul(2).wrapping_add(u64::from(exit)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // The top 53 bits as a fraction: exact in an f64.
    #[allow(clippy::cast_precision_loss)]
    let x = (z >> 11) as f64 / (1u64 << 53) as f64;
    x
}

impl Camera {
    /// What the camera at an entry (`exit` false) or exit reads of `v`.
    pub fn reading(&self, v: &Visit, exit: bool) -> Option<Plate> {
        match v.actor {
            Actor::TagMoved => return Some(other_car(v)),
            Actor::Thief if exit => return Some(other_car(v)),
            // The car the ticket was printed to, read clearly: the case
            // is the thief's, not the camera's.
            Actor::Thief => return Some(v.plate.clone()),
            _ => {}
        }
        let x = draw(v.vehicle, exit);
        if x < self.plate_missed {
            None
        } else if x < self.plate_missed + self.plate_misread {
            Some(misread(&v.plate))
        } else {
            Some(v.plate.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::traffic::generate::{TrafficSettings, generate};

    #[test]
    fn the_error_rate_is_what_it_says_and_errors_stay_within_one_character() {
        let visits = generate(&TrafficSettings { visits: 20_000, ..Default::default() }).unwrap();
        let camera = Camera::default();
        let (mut missed, mut wrong, mut reads) = (0usize, 0usize, 0usize);
        for v in visits.iter().filter(|v| v.actor == Actor::Normal) {
            for exit in [false, true] {
                reads += 1;
                match camera.reading(v, exit) {
                    None => missed += 1,
                    Some(p) if p != v.plate => {
                        wrong += 1;
                        assert!(p.close_to(&v.plate), "{p} vs {}", v.plate);
                    }
                    Some(_) => {}
                }
            }
        }
        #[allow(clippy::cast_precision_loss)]
        let share = |n: usize| n as f64 / reads as f64;
        assert!((share(missed) - 0.02).abs() < 0.005, "missed {}", share(missed));
        assert!((share(wrong) - 0.03).abs() < 0.005, "misread {}", share(wrong));
        let again: Vec<_> = visits.iter().take(50).map(|v| camera.reading(v, true)).collect();
        assert_eq!(again, visits.iter().take(50).map(|v| camera.reading(v, true)).collect::<Vec<_>>());
    }

    #[test]
    fn bad_actors_show_another_car() {
        let visits =
            generate(&TrafficSettings { visits: 200, thieves: 1, moved_tags: 1, ..Default::default() }).unwrap();
        let camera = Camera { plate_misread: 0.0, plate_missed: 0.0 };
        let thief = visits.iter().find(|v| v.actor == Actor::Thief).unwrap();
        assert_eq!(camera.reading(thief, false), Some(thief.plate.clone()), "its own car entered");
        assert!(!camera.reading(thief, true).unwrap().close_to(&thief.plate), "another car leaves");
        let moved = visits.iter().find(|v| v.actor == Actor::TagMoved).unwrap();
        for exit in [false, true] {
            assert!(!camera.reading(moved, exit).unwrap().close_to(&moved.plate));
        }
    }
}
