//! What a run is judged by: each receiver's sequence of `seq`s (lost,
//! duplicated, out of order), of `message.updated` revs (repeated, out of
//! order) and latency percentiles.

/// The seqs one connection received, as a bitset.
#[derive(Debug, Default)]
pub struct SeqLog {
    bits: Vec<u64>,
    /// Highest seq received.
    pub max: i64,
    /// Frames whose seq this connection had already received.
    pub duplicated: u64,
    /// Frames that arrived after a higher seq (and were new).
    pub reordered: u64,
    /// Distinct seqs received.
    pub distinct: u64,
}

impl SeqLog {
    /// Records one received seq.
    pub fn record(&mut self, seq: i64) {
        if seq <= 0 {
            self.reordered += 1;
            return;
        }
        let (word, bit) = ((seq as usize) / 64, seq as u64 % 64);
        if word >= self.bits.len() {
            self.bits.resize(word + 1 + word / 2, 0);
        }
        if self.bits[word] & (1 << bit) != 0 {
            self.duplicated += 1;
            return;
        }
        self.bits[word] |= 1 << bit;
        self.distinct += 1;
        if seq < self.max {
            self.reordered += 1;
        }
        self.max = self.max.max(seq);
    }

    /// Seqs in `(after, head]` this connection never received.
    pub fn missing(&self, after: i64, head: i64) -> u64 {
        (after + 1..=head)
            .filter(|&s| {
                let (word, bit) = ((s as usize) / 64, s as u64 % 64);
                self.bits.get(word).is_none_or(|w| w & (1 << bit) == 0)
            })
            .count() as u64
    }
}

/// The revs of the `message.updated` frames one connection received. The
/// contract: strictly increasing (a connection may be sent one current
/// state for several changes after falling behind, so revs may be skipped,
/// but never repeated or sent backwards).
#[derive(Debug, Default, Clone, Copy)]
pub struct RevLog {
    /// Highest rev received (0: none).
    pub last: i64,
    /// Frames received.
    pub frames: u64,
    /// Frames whose rev equalled the one before.
    pub repeated: u64,
    /// Frames whose rev was below the one before.
    pub reordered: u64,
}

impl RevLog {
    /// Records one received rev.
    pub fn record(&mut self, rev: i64) {
        self.frames += 1;
        if rev == self.last {
            self.repeated += 1;
        } else if rev < self.last {
            self.reordered += 1;
        }
        self.last = self.last.max(rev);
    }
}

/// Percentiles of a set of samples (microseconds).
#[derive(Debug, Clone, Copy, Default)]
pub struct Percentiles {
    /// Median.
    pub p50: u64,
    /// 95th percentile.
    pub p95: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
}

impl Percentiles {
    /// Sorts `samples` and reads the percentiles (nearest rank).
    pub fn of(samples: &mut [u64]) -> Self {
        if samples.is_empty() {
            return Percentiles::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            samples[rank - 1]
        };
        Percentiles {
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: samples[samples.len() - 1],
        }
    }
}

/// The median of some numbers (the mean of the middle two for an even count).
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfect_sequence_has_no_faults() {
        let mut log = SeqLog::default();
        for s in 1..=200 {
            log.record(s);
        }
        assert_eq!(
            (log.duplicated, log.reordered, log.missing(0, 200)),
            (0, 0, 0)
        );
        assert_eq!(log.missing(0, 203), 3);
    }

    #[test]
    fn duplicates_gaps_and_reordering_are_counted() {
        let mut log = SeqLog::default();
        for s in [1, 2, 4, 3, 3, 6, 130] {
            log.record(s);
        }
        assert_eq!(log.duplicated, 1);
        assert_eq!(log.reordered, 1);
        assert_eq!(log.missing(0, 130), 130 - 6);
        assert_eq!(log.missing(2, 6), 1);
    }

    #[test]
    fn revs_must_rise() {
        let mut log = RevLog::default();
        for r in [1, 2, 5, 5, 4, 6] {
            log.record(r);
        }
        assert_eq!(
            (log.frames, log.repeated, log.reordered, log.last),
            (6, 1, 1, 6)
        );
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut v: Vec<u64> = (1..=100).collect();
        let p = Percentiles::of(&mut v);
        assert_eq!((p.p50, p.p95, p.p99, p.max), (50, 95, 99, 100));
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
