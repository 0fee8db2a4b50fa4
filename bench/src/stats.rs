//! Summary statistics of a set of samples.

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub median: f64,
    pub p90: f64,
    pub max: f64,
    pub n: usize,
}

/// `None` for an empty set.
pub fn summarize(samples: &[f64]) -> Option<Summary> {
    let mut s: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    Some(Summary {
        median,
        p90: nearest_rank(&s, 90.0),
        max: s[n - 1],
        n,
    })
}

/// The nearest-rank percentile of sorted, non-empty samples: the smallest sample such that
/// at least `p` percent of the samples are less than or equal to it. Unlike interpolation it
/// always names a value that was actually measured.
pub fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(nearest_rank(&s, 90.0), 9.0);
        assert_eq!(nearest_rank(&s, 91.0), 10.0);
        assert_eq!(nearest_rank(&s, 0.0), 1.0);
        assert_eq!(nearest_rank(&s, 100.0), 10.0);
        assert_eq!(nearest_rank(&[5.0], 90.0), 5.0);
        let three = [1.0, 2.0, 3.0];
        assert_eq!(nearest_rank(&three, 90.0), 3.0);
    }

    #[test]
    fn summary_of_unsorted_samples() {
        let s = summarize(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert_eq!(s.p90, 4.0);
        assert_eq!(s.max, 4.0);
        assert_eq!(s.n, 4);
        assert_eq!(summarize(&[3.0, 1.0, 2.0]).unwrap().median, 2.0);
        assert!(summarize(&[]).is_none());
    }
}
