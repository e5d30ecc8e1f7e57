//! Vehicle classes: the four the city's tariff names, plus any that
//! configuration adds (a tariff file may price `electric_bicycle`, say).

use std::fmt;
use std::str::FromStr;

use crate::ids::{IdError, string_serde};

/// The class a vehicle is priced by.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VehicleClass {
    Bicycle,
    Motorbike,
    /// A car with up to 9 seats.
    Car,
    /// A car with 10 or more seats, or a truck.
    BusTruck,
    /// A class added by configuration; its name is a lower-case slug.
    Other(Box<str>),
}

impl VehicleClass {
    /// The built-in classes, in the order the tariff lists them.
    pub const BUILT_IN: [VehicleClass; 4] =
        [VehicleClass::Bicycle, VehicleClass::Motorbike, VehicleClass::Car, VehicleClass::BusTruck];

    pub fn as_str(&self) -> &str {
        match self {
            VehicleClass::Bicycle => "bicycle",
            VehicleClass::Motorbike => "motorbike",
            VehicleClass::Car => "car",
            VehicleClass::BusTruck => "bus_truck",
            VehicleClass::Other(name) => name,
        }
    }
}

impl FromStr for VehicleClass {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Ok(match s {
            "bicycle" => VehicleClass::Bicycle,
            "motorbike" => VehicleClass::Motorbike,
            "car" => VehicleClass::Car,
            "bus_truck" => VehicleClass::BusTruck,
            other => {
                let ok = (1..=32).contains(&other.len())
                    && other.as_bytes()[0].is_ascii_lowercase()
                    && other.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if !ok {
                    return Err(IdError::Invalid {
                        what: "vehicle class",
                        input: other.chars().take(40).collect(),
                        reason: "must be bicycle, motorbike, car, bus_truck or a configured name of a-z, 0-9, '_'",
                    });
                }
                VehicleClass::Other(other.into())
            }
        })
    }
}

impl fmt::Display for VehicleClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for VehicleClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VehicleClass({})", self.as_str())
    }
}
string_serde!(VehicleClass);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_and_configured_classes_round_trip() {
        for c in VehicleClass::BUILT_IN {
            assert_eq!(c.as_str().parse::<VehicleClass>().unwrap(), c);
        }
        let custom: VehicleClass = "electric_bicycle".parse().unwrap();
        assert_eq!(custom, VehicleClass::Other("electric_bicycle".into()));
        assert!("Car".parse::<VehicleClass>().is_err());
        assert!("9seat".parse::<VehicleClass>().is_err());
        assert!("".parse::<VehicleClass>().is_err());
    }
}
