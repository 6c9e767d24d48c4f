//! Reconnect delays: exponential from 500 ms, capped at 30 s, with jitter so
//! a restarted server is not hit by every client at once.

/// First retry delay.
pub const BASE_MS: u32 = 500;
/// Longest delay between attempts.
pub const CAP_MS: u32 = 30_000;

/// Delay before reconnect attempt `attempt` (0-based). `jitter` in [0, 1)
/// scales the delay into [50 %, 100 %] of the exponential value.
pub fn delay_ms(attempt: u32, jitter: f64) -> u32 {
    let exp = BASE_MS.saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX));
    let capped = exp.min(CAP_MS) as f64;
    let jitter = jitter.clamp(0.0, 1.0);
    (capped * (0.5 + 0.5 * jitter)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_stay_at_the_cap() {
        assert_eq!(delay_ms(0, 1.0), 500);
        assert_eq!(delay_ms(1, 1.0), 1000);
        assert_eq!(delay_ms(5, 1.0), 16_000);
        assert_eq!(delay_ms(6, 1.0), 30_000);
        assert_eq!(delay_ms(60, 1.0), 30_000);
    }

    #[test]
    fn jitter_never_goes_below_half() {
        assert_eq!(delay_ms(3, 0.0), 2000);
    }
}
