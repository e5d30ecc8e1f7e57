//! How many spaces of a class are taken and free: the vehicles the lot
//! counted inside (its open stays), moved by the offset an operator set
//! when they counted the bays themselves, and held within the class's
//! capacity. A lot that lost an exit (a car left while a lane was down)
//! would otherwise show fewer free spaces for ever; one that missed an
//! entry would show more than there are.

use serde::Serialize;

/// One class's figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ClassOccupancy {
    pub capacity: u32,
    /// Taken: never below 0 nor above `capacity`.
    pub occupied: u32,
    /// `capacity - occupied`.
    pub free: u32,
}

impl ClassOccupancy {
    /// `counted` open stays of the class, `offset` the operator's latest
    /// correction (what they counted minus what the lot counted then).
    pub fn new(capacity: u32, counted: i64, offset: i64) -> Self {
        let taken = counted.saturating_add(offset).clamp(0, i64::from(capacity));
        let occupied = u32::try_from(taken).unwrap_or(capacity);
        ClassOccupancy { capacity, occupied, free: capacity - occupied }
    }

    /// The offset that makes the figure read `inside` while the lot counts
    /// `counted`.
    pub fn offset_for(inside: u32, counted: i64) -> i64 {
        i64::from(inside).saturating_sub(counted)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::ClassOccupancy;

    #[test]
    fn an_operators_count_moves_the_figure_and_capacity_bounds_it() {
        assert_eq!(ClassOccupancy::new(120, 83, 0), ClassOccupancy { capacity: 120, occupied: 83, free: 37 });
        // Three stale stays of cars long gone: the operator counts 80.
        let offset = ClassOccupancy::offset_for(80, 83);
        assert_eq!(ClassOccupancy::new(120, 83, offset).free, 40);
        // More open stays than bays (a missed exit): full, not negative.
        assert_eq!(ClassOccupancy::new(120, 130, 0).free, 0);
        assert_eq!(ClassOccupancy::new(120, 2, -5).occupied, 0);
        assert_eq!(ClassOccupancy::new(0, 4, 0), ClassOccupancy { capacity: 0, occupied: 0, free: 0 });
    }

    proptest! {
        #[test]
        fn never_below_zero_nor_above_capacity(capacity in 0u32..5_000, counted in any::<i64>(), offset in any::<i64>()) {
            let o = ClassOccupancy::new(capacity, counted, offset);
            prop_assert!(o.occupied <= capacity);
            prop_assert_eq!(o.occupied + o.free, capacity);
        }
    }
}
