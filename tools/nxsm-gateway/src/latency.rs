//! End-to-end latency of the fleet path: from the publisher's clock when it published a
//! message (the MQTT 5 user property [`SENT_PROPERTY`], unix nanoseconds) to the gateway's
//! clock when it had handled that message (decoded, and its IPFIX datagrams sent). Both
//! clocks must agree (one host, or hosts synchronised well below the figures measured).
//!
//! Samples go into a fixed log-linear histogram (0.1 % resolution above 1 ms, exact below),
//! so a run of any length costs the same memory and a hostile property costs nothing.

/// The user property a publisher stamps its publish time into: unix nanoseconds, decimal.
pub const SENT_PROPERTY: &str = "nxsm-sent-ns";

/// Values below this (microseconds) have a bucket each; above, 512 buckets per power of 2.
const LINEAR: u64 = 1024;
const HALF: u64 = LINEAR / 2;
/// Buckets for every u64 value.
const BUCKETS: usize = (64 - 10 + 2) * HALF as usize;

/// Parses a [`SENT_PROPERTY`] value: at most 20 decimal digits, no sign.
pub fn parse_sent(value: &str) -> Option<u64> {
    if value.is_empty() || value.len() > 20 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

fn bucket(us: u64) -> usize {
    if us < LINEAR {
        return us as usize;
    }
    // us >> shift lies in [512, 1024): its top 10 bits.
    let shift = 63 - u64::from(us.leading_zeros()) - 9;
    (shift * HALF + (us >> shift)) as usize
}

fn bucket_low(index: usize) -> u64 {
    let index = index as u64;
    if index < LINEAR {
        return index;
    }
    let shift = index / HALF - 1;
    (index - shift * HALF) << shift
}

/// A latency histogram in microseconds.
#[derive(Clone, Debug)]
pub struct Latency {
    counts: Vec<u64>,
    samples: u64,
    max_us: u64,
    /// Samples whose publish time was after the receive time (clocks apart): counted as 0.
    pub ahead: u64,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            counts: vec![0; BUCKETS],
            samples: 0,
            max_us: 0,
            ahead: 0,
        }
    }
}

impl Latency {
    /// Records one message published at `sent_ns` and handled at `done_ns` (unix ns).
    pub fn record(&mut self, sent_ns: u64, done_ns: u64) {
        let us = match done_ns.checked_sub(sent_ns) {
            Some(ns) => ns / 1000,
            None => {
                self.ahead += 1;
                0
            }
        };
        if let Some(count) = self.counts.get_mut(bucket(us)) {
            *count += 1;
        }
        self.samples += 1;
        self.max_us = self.max_us.max(us);
    }

    /// Samples recorded.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// The largest sample (microseconds).
    pub fn max_us(&self) -> u64 {
        self.max_us
    }

    /// The `q` quantile (0 to 1) in microseconds: the lower bound of the bucket holding it
    /// (within 0.1 %); `None` without samples.
    pub fn quantile_us(&self, q: f64) -> Option<u64> {
        if self.samples == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.samples as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(bucket_low(index));
            }
        }
        Some(self.max_us)
    }

    /// `latency_samples=N latency_p50_us=.. latency_p99_us=.. latency_max_us=..
    /// latency_ahead=N` (the quantiles `-` without samples).
    pub fn stats(&self) -> String {
        let q = |q| self.quantile_us(q).map_or("-".into(), |v| v.to_string());
        format!(
            "latency_samples={} latency_p50_us={} latency_p99_us={} latency_max_us={} latency_ahead={}",
            self.samples,
            q(0.5),
            q(0.99),
            self.max_us,
            self.ahead
        )
    }
}

/// Unix nanoseconds now (0 before 1970).
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_close() {
        let mut previous = 0;
        for index in 1..BUCKETS {
            let low = bucket_low(index);
            assert!(low > previous, "{index}");
            assert_eq!(bucket(low), index);
            previous = low;
        }
        for us in [0, 1, 1023, 1024, 1025, 99_999, 1 << 40, u64::MAX] {
            let low = bucket_low(bucket(us));
            assert!(low <= us && us - low <= us / 512, "{us}");
        }
    }

    #[test]
    fn quantiles() {
        let mut l = Latency::default();
        assert_eq!(l.quantile_us(0.5), None);
        for us in 1..=1000u64 {
            l.record(0, us * 1000);
        }
        assert_eq!(l.quantile_us(0.5), Some(500));
        assert_eq!(l.quantile_us(0.99), Some(990));
        assert_eq!(l.max_us(), 1000);
        l.record(10, 5);
        assert_eq!((l.ahead, l.samples()), (1, 1001));
        assert!(l.stats().starts_with("latency_samples=1001 "));
    }

    #[test]
    fn hostile_properties() {
        assert_eq!(parse_sent("123"), Some(123));
        for bad in [
            "",
            "-1",
            "+1",
            "1e9",
            "123456789012345678901",
            "99999999999999999999",
        ] {
            assert_eq!(parse_sent(bad), None, "{bad}");
        }
    }
}
