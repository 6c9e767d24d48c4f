//! `RateLimit<K>`: token buckets keyed by `K` (governor's GCRA), used for
//! message sends per (user, channel) and login attempts per e-mail.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Keyed token buckets; cloning shares them.
pub struct RateLimit<K: Hash + Eq + Clone> {
    limiter: Arc<DefaultKeyedRateLimiter<K>>,
    clock: DefaultClock,
}

impl<K: Hash + Eq + Clone> Clone for RateLimit<K> {
    fn clone(&self) -> Self {
        RateLimit {
            limiter: self.limiter.clone(),
            clock: self.clock.clone(),
        }
    }
}

impl<K: Hash + Eq + Clone> RateLimit<K> {
    /// `burst` at once, then one token every `period`.
    pub fn new(burst: u32, period: Duration) -> Self {
        let quota = Quota::with_period(period.max(Duration::from_micros(1)))
            .expect("a positive period")
            .allow_burst(NonZeroU32::new(burst.max(1)).expect("max(1)"));
        RateLimit {
            limiter: Arc::new(RateLimiter::keyed(quota)),
            clock: DefaultClock::default(),
        }
    }

    /// `burst` at once, then `per_second`.
    pub fn per_second(burst: u32, per_second: u32) -> Self {
        Self::new(burst, Duration::from_secs(1) / per_second.max(1))
    }

    /// Takes one token for `key`, or says how many milliseconds until one
    /// is free.
    pub fn check(&self, key: &K) -> Result<(), u64> {
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            (wait.as_millis() as u64).max(1)
        })
    }

    /// Forgets buckets that are full again (call periodically to bound memory).
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// Token buckets for sends (and resumes), keyed by (user, channel).
pub type SendLimiter = RateLimit<(crate::protocol::UserId, crate::protocol::ChannelId)>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait() {
        let limit = RateLimit::per_second(3, 1);
        for _ in 0..3 {
            assert!(limit.check(&"k").is_ok());
        }
        let wait = limit.check(&"k").unwrap_err();
        assert!(wait > 0 && wait <= 1000, "{wait}");
        assert!(limit.check(&"other").is_ok(), "keys are independent");
    }
}
