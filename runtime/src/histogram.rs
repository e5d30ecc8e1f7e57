//! The benches' figures: samples collected, then read as nearest-rank
//! percentiles. Every bench of the workspace reports through this one.

/// Samples of one measure (milliseconds, microseconds: the caller's unit).
#[derive(Clone, Debug, Default)]
pub struct Samples {
    values: Vec<f64>,
    sorted: bool,
}

impl Samples {
    pub fn new() -> Samples {
        Samples::default()
    }

    pub fn with_capacity(n: usize) -> Samples {
        Samples { values: Vec::with_capacity(n), sorted: true }
    }

    pub fn push(&mut self, value: f64) {
        self.values.push(value);
        self.sorted = false;
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn sort(&mut self) {
        if !self.sorted {
            self.values.sort_by(f64::total_cmp);
            self.sorted = true;
        }
    }

    /// The `p` quantile (0 to 1) by nearest rank: the smallest sample with
    /// at least `p` of the samples at or below it; 0 with no samples.
    pub fn percentile(&mut self, p: f64) -> f64 {
        self.sort();
        percentile(&self.values, p)
    }

    /// The largest sample; 0 with no samples.
    pub fn max(&mut self) -> f64 {
        self.sort();
        self.values.last().copied().unwrap_or(0.0)
    }

    /// The mean; 0 with no samples.
    pub fn mean(&self) -> f64 {
        if self.values.is_empty() { 0.0 } else { self.values.iter().sum::<f64>() / self.values.len() as f64 }
    }
}

impl Extend<f64> for Samples {
    fn extend<I: IntoIterator<Item = f64>>(&mut self, iter: I) {
        self.values.extend(iter);
        self.sorted = false;
    }
}

impl FromIterator<f64> for Samples {
    fn from_iter<I: IntoIterator<Item = f64>>(iter: I) -> Samples {
        Samples { values: iter.into_iter().collect(), sorted: false }
    }
}

/// The `p` quantile (0 to 1) of `sorted` samples by nearest rank; 0 when
/// empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let rank = (sorted.len() as f64 * p.clamp(0.0, 1.0)).ceil() as usize;
    sorted.get(rank.saturating_sub(1)).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut s: Samples = (1..=100).rev().map(f64::from).collect();
        assert_eq!(s.percentile(0.5), 50.0);
        assert_eq!(s.percentile(0.99), 99.0);
        assert_eq!(s.percentile(0.999), 100.0);
        assert_eq!(s.percentile(0.0), 1.0);
        assert_eq!(s.max(), 100.0);
        assert_eq!(s.mean(), 50.5);
        let mut one = Samples::new();
        assert_eq!(one.percentile(0.99), 0.0);
        one.push(7.5);
        assert_eq!(one.percentile(0.01), 7.5);
    }
}
