//! The seeded traffic generator: a day of visits shaped by an hourly
//! arrival curve, a class mix, shares of tags, tickets and passes,
//! log-normal stays, payment delays, and a given number of each bad actor.
//! The same settings and seed give the same visits, byte for byte (ChaCha8
//! is value-stable across versions of its crate).

use std::collections::BTreeMap;

use parking_core::{GateId, Plate, Timestamp, VehicleClass};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use time::Date;

use super::{Actor, CredentialKind, TrafficError, Visit, epc_of};

/// `[traffic]`: what the generator makes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficSettings {
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default = "default_visits")]
    pub visits: usize,
    /// The local day the visits arrive on.
    #[serde(default = "default_day")]
    pub day: Date,
    /// Relative arrivals in each local hour, 0 to 23.
    #[serde(default = "default_hourly")]
    pub hourly: Vec<f64>,
    /// Relative share of each vehicle class.
    #[serde(default = "default_classes")]
    pub classes: BTreeMap<String, f64>,
    /// Share of vehicles with an account-linked tag.
    #[serde(default = "default_tagged")]
    pub tagged: f64,
    /// Share of vehicles with a monthly pass (the rest take tickets).
    #[serde(default = "default_passes")]
    pub passes: f64,
    /// Median stay, minutes (log-normal).
    #[serde(default = "default_stay_median")]
    pub stay_median_min: f64,
    /// The log-normal's sigma: 0.8 gives most stays between a quarter and
    /// four times the median.
    #[serde(default = "default_stay_sigma")]
    pub stay_sigma: f64,
    /// Seconds a driver takes to pay a VietQR: uniform in [min, max].
    #[serde(default = "default_pay_delay")]
    pub pay_delay_s: [u32; 2],
    #[serde(default = "one")]
    pub denylisted: usize,
    #[serde(default = "one")]
    pub cloned: usize,
    #[serde(default = "one")]
    pub tailgaters: usize,
    #[serde(default = "one")]
    pub underpayers: usize,
    /// Take a paid ticket out with another car: held at the exit.
    #[serde(default = "one")]
    pub thieves: usize,
    /// Tags moved to another car: flagged at both gates.
    #[serde(default = "one")]
    pub moved_tags: usize,
    /// The first vehicle's number (tags and plates follow from it): a
    /// later day of a multi-day run starts after the earlier days' vehicles.
    #[serde(default = "first_vehicle")]
    pub first_vehicle: u64,
    #[serde(default = "default_entries")]
    pub entry_gates: Vec<GateId>,
    #[serde(default = "default_exits")]
    pub exit_gates: Vec<GateId>,
}

fn default_seed() -> u64 {
    20_261_123
}
fn default_visits() -> usize {
    5_000
}
fn default_day() -> Date {
    time::macros::date!(2026 - 11 - 23)
}
/// A city-centre lot: a morning rush, a lunch bump, an evening peak.
fn default_hourly() -> Vec<f64> {
    vec![
        0.2, 0.1, 0.1, 0.1, 0.2, 0.6, 2.0, 5.0, 8.0, 7.0, 6.0, 6.0, 7.0, 6.0, 5.5, 5.5, 6.0, 7.5, 8.0, 6.0, 4.0, 2.5,
        1.2, 0.5,
    ]
}
fn default_classes() -> BTreeMap<String, f64> {
    BTreeMap::from([
        ("motorbike".to_owned(), 0.60),
        ("car".to_owned(), 0.35),
        ("bicycle".to_owned(), 0.03),
        ("bus_truck".to_owned(), 0.02),
    ])
}
fn default_tagged() -> f64 {
    0.55
}
fn default_passes() -> f64 {
    0.10
}
fn default_stay_median() -> f64 {
    95.0
}
fn default_stay_sigma() -> f64 {
    0.8
}
fn default_pay_delay() -> [u32; 2] {
    [5, 45]
}
fn one() -> usize {
    1
}
/// `{prefix}-1` and `{prefix}-2`: the demo lot's two lanes each way.
pub fn gates(prefix: &str) -> Vec<GateId> {
    (1..=2).filter_map(|i| format!("{prefix}-{i}").parse().ok()).collect()
}
fn default_entries() -> Vec<GateId> {
    gates("entry")
}
fn default_exits() -> Vec<GateId> {
    gates("exit")
}

fn first_vehicle() -> u64 {
    1
}

impl Default for TrafficSettings {
    fn default() -> Self {
        TrafficSettings {
            seed: default_seed(),
            visits: default_visits(),
            day: default_day(),
            hourly: default_hourly(),
            classes: default_classes(),
            tagged: default_tagged(),
            passes: default_passes(),
            stay_median_min: default_stay_median(),
            stay_sigma: default_stay_sigma(),
            pay_delay_s: default_pay_delay(),
            denylisted: 1,
            cloned: 1,
            tailgaters: 1,
            underpayers: 1,
            thieves: 1,
            moved_tags: 1,
            first_vehicle: first_vehicle(),
            entry_gates: default_entries(),
            exit_gates: default_exits(),
        }
    }
}

impl TrafficSettings {
    /// Checks what the generator cannot work with, naming the key.
    pub fn check(&self) -> Result<(), TrafficError> {
        let bad = |m: String| Err(TrafficError::Settings(m));
        if self.visits == 0 || self.visits > 10_000_000 {
            return bad(format!("visits must be 1 to 10,000,000, not {}", self.visits));
        }
        if self.hourly.len() != 24 || self.hourly.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return bad("hourly must list 24 weights, none negative".into());
        }
        if self.hourly.iter().sum::<f64>() <= 0.0 {
            return bad("hourly must have some arrivals".into());
        }
        if self.classes.is_empty() || self.classes.values().any(|w| !w.is_finite() || *w < 0.0) {
            return bad("classes must give each class a weight, none negative".into());
        }
        for name in self.classes.keys() {
            name.parse::<VehicleClass>().map_err(|e| TrafficError::Settings(format!("classes: {name:?}: {e}")))?;
        }
        let share = |v: f64| (0.0..=1.0).contains(&v);
        if !share(self.tagged) || !share(self.passes) || self.tagged + self.passes > 1.0 {
            return bad("tagged and passes are shares from 0 to 1 that add up to at most 1".into());
        }
        if !(self.stay_median_min > 0.0 && self.stay_sigma >= 0.0 && self.stay_sigma.is_finite()) {
            return bad("stay_median_min must be above 0 and stay_sigma at least 0".into());
        }
        if self.pay_delay_s[0] > self.pay_delay_s[1] {
            return bad("pay_delay_s is [min, max]".into());
        }
        let actors =
            self.denylisted + self.cloned + self.tailgaters + self.underpayers + self.thieves + self.moved_tags;
        if actors * 4 > self.visits {
            return bad(format!("{actors} bad actors is too many for {} visits", self.visits));
        }
        if self.entry_gates.is_empty() || self.exit_gates.is_empty() {
            return bad("entry_gates and exit_gates must name at least one gate each".into());
        }
        Ok(())
    }
}

/// Picks an index by weight.
fn pick(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A plate of a random province and series letter.
fn plate(rng: &mut ChaCha8Rng, class: &VehicleClass, n: u64) -> Plate {
    let province = [29, 30, 31, 32, 33, 40][rng.random_range(0..6)];
    let letter = char::from(b'A' + rng.random_range(0..8u8));
    painted(class, province, letter, n)
}

/// The plate of vehicle `n`, painted the way its class carries it:
/// `29-A1 012.34` on two wheels, `29A-012.34` on four.
pub(crate) fn painted(class: &VehicleClass, province: u64, letter: char, n: u64) -> Plate {
    let number = n % 100_000;
    let text = match class {
        VehicleClass::Motorbike | VehicleClass::Bicycle => format!("{province}-{letter}1 {number:05}"),
        _ => format!("{province}{letter}-{number:05}"),
    };
    text.parse().unwrap_or_else(|_| unreachable!("a well-formed plate: {text}"))
}

/// Makes the day's visits, sorted by entry time.
pub fn generate(s: &TrafficSettings) -> Result<Vec<Visit>, TrafficError> {
    s.check()?;
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    let classes: Vec<(VehicleClass, f64)> =
        s.classes.iter().filter_map(|(k, w)| Some((k.parse::<VehicleClass>().ok()?, *w))).collect();
    let weights: Vec<f64> = classes.iter().map(|(_, w)| *w).collect();
    let midnight_ms = Timestamp::from_local(s.day.midnight()).unix_millis();
    let at = |ms: i64| {
        Timestamp::from_unix_millis(ms).ok_or_else(|| TrafficError::Settings(format!("day {} is out of range", s.day)))
    };
    let mut visits = Vec::with_capacity(s.visits);
    for i in 0..s.visits {
        let vehicle = u64::try_from(i).unwrap_or(u64::MAX).saturating_add(s.first_vehicle);
        let class = classes[pick(&mut rng, &weights)].0.clone();
        let x = rng.random::<f64>();
        let credential = if x < s.tagged {
            CredentialKind::Tag
        } else if x < s.tagged + s.passes {
            CredentialKind::Pass
        } else {
            CredentialKind::Ticket
        };
        let hour = i64::try_from(pick(&mut rng, &s.hourly)).unwrap_or(0);
        let entry_ms = midnight_ms + hour * 3_600_000 + rng.random_range(0..3_600_000);
        let stay_min = (s.stay_median_min * (s.stay_sigma * normal(&mut rng)).exp()).clamp(2.0, 23.0 * 60.0);
        // At most 23 hours: the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation)]
        let exit_ms = entry_ms + (stay_min * 60_000.0) as i64;
        visits.push(Visit {
            vehicle,
            plate: plate(&mut rng, &class, vehicle),
            class,
            credential,
            epc: (credential != CredentialKind::Ticket).then(|| epc_of(vehicle)),
            entry_at: at(entry_ms)?,
            exit_at: at(exit_ms)?,
            entry_gate: s.entry_gates[rng.random_range(0..s.entry_gates.len())].clone(),
            exit_gate: s.exit_gates[rng.random_range(0..s.exit_gates.len())].clone(),
            actor: Actor::Normal,
            pay_delay_s: rng.random_range(s.pay_delay_s[0]..=s.pay_delay_s[1]),
        });
    }
    let roles = [
        (Actor::Denylisted, s.denylisted),
        (Actor::Cloned, s.cloned),
        (Actor::Tailgater, s.tailgaters),
        (Actor::Underpayer, s.underpayers),
        (Actor::Thief, s.thieves),
        (Actor::TagMoved, s.moved_tags),
    ];
    super::actors::assign(&mut visits, &mut rng, &roles);
    visits.sort_by_key(|v| (v.entry_at, v.vehicle));
    Ok(visits)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn hour_of(t: Timestamp) -> usize {
        usize::from(t.local().hour())
    }

    #[test]
    fn a_seed_replays_and_another_does_not() {
        let s = TrafficSettings { visits: 2_000, ..TrafficSettings::default() };
        let a = generate(&s).unwrap();
        assert_eq!(a, generate(&s).unwrap());
        let b = generate(&TrafficSettings { seed: 7, ..s }).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn the_day_has_the_shape_and_mix_asked_for() {
        let s = TrafficSettings { visits: 20_000, ..TrafficSettings::default() };
        let visits = generate(&s).unwrap();
        assert_eq!(visits.len(), 20_000);
        assert!(visits.windows(2).all(|w| w[0].entry_at <= w[1].entry_at), "sorted by entry");
        // Arrivals per hour follow the weights (within 15% for busy hours).
        let total: f64 = s.hourly.iter().sum();
        let mut per_hour = [0usize; 24];
        for v in &visits {
            assert_eq!(v.entry_at.local_date(), s.day, "arrivals on the day");
            assert!(v.exit_at > v.entry_at);
            per_hour[hour_of(v.entry_at)] += 1;
        }
        for (h, w) in s.hourly.iter().enumerate() {
            let want = w / total * 20_000.0;
            if want > 500.0 {
                let got = per_hour[h] as f64;
                assert!((got - want).abs() / want < 0.15, "hour {h}: {got} arrivals, about {want} expected");
            }
        }
        let share = |f: &dyn Fn(&Visit) -> bool| visits.iter().filter(|v| f(v)).count() as f64 / 20_000.0;
        assert!((share(&|v| v.class == VehicleClass::Motorbike) - 0.60).abs() < 0.02);
        assert!((share(&|v| v.class == VehicleClass::Car) - 0.35).abs() < 0.02);
        assert!((share(&|v| v.credential == CredentialKind::Tag) - 0.55).abs() < 0.02);
        assert!((share(&|v| v.credential == CredentialKind::Pass) - 0.10).abs() < 0.02);
        // Tickets have no tag; tags and passes do.
        assert!(visits.iter().all(|v| v.epc.is_some() == (v.credential != CredentialKind::Ticket)));
        // The median stay is near 95 minutes.
        let mut stays: Vec<i64> = visits.iter().map(|v| v.exit_at.since(v.entry_at).whole_minutes()).collect();
        stays.sort_unstable();
        assert!((85..=105).contains(&stays[stays.len() / 2]), "median stay {}", stays[stays.len() / 2]);
        assert!(visits.iter().all(|v| (5..=45).contains(&v.pay_delay_s)));
    }

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

    #[test]
    fn settings_it_cannot_use_are_named() {
        let cases = [
            (TrafficSettings { visits: 0, ..Default::default() }, "visits"),
            (TrafficSettings { hourly: vec![1.0; 23], ..Default::default() }, "hourly"),
            (TrafficSettings { hourly: vec![0.0; 24], ..Default::default() }, "hourly"),
            (TrafficSettings { tagged: 0.95, passes: 0.1, ..Default::default() }, "tagged"),
            (
                TrafficSettings { classes: BTreeMap::from([("hovercraft!".into(), 1.0)]), ..Default::default() },
                "classes",
            ),
            (TrafficSettings { pay_delay_s: [9, 3], ..Default::default() }, "pay_delay_s"),
            (TrafficSettings { visits: 10, tailgaters: 5, ..Default::default() }, "bad actors"),
            (TrafficSettings { exit_gates: vec![], ..Default::default() }, "exit_gates"),
        ];
        for (s, key) in cases {
            let e = generate(&s).unwrap_err().to_string();
            assert!(e.contains(key), "{e}");
        }
    }
}
