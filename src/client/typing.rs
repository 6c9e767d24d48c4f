//! When the composer sends `typing.start` / `typing.stop` (the seed's
//! rule): start once when typing begins, stop after 2 s without a keystroke
//! or when the message is sent. Pure state over millisecond timestamps, so
//! it is tested natively; the component feeds it the clock.

/// Idle time after which typing stops.
pub const TYPING_IDLE_MS: f64 = 2000.0;

/// What to send, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypingSignal {
    /// Send `typing.start`.
    Start,
    /// Send `typing.stop`.
    Stop,
}

/// Typing state of the local user.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TypingThrottle {
    /// Time of the last keystroke while typing, if typing.
    last_key_ms: Option<f64>,
}

impl TypingThrottle {
    /// A keystroke at `now_ms`: `Start` only for the first one.
    pub fn keystroke(&mut self, now_ms: f64) -> Option<TypingSignal> {
        let was_typing = self.last_key_ms.is_some();
        self.last_key_ms = Some(now_ms);
        (!was_typing).then_some(TypingSignal::Start)
    }

    /// A timer tick at `now_ms`: `Stop` once 2 s passed without a keystroke.
    pub fn tick(&mut self, now_ms: f64) -> Option<TypingSignal> {
        match self.last_key_ms {
            Some(last) if now_ms - last >= TYPING_IDLE_MS => {
                self.last_key_ms = None;
                Some(TypingSignal::Stop)
            }
            _ => None,
        }
    }

    /// The message was sent (or the draft cleared): `Stop` if typing.
    pub fn sent(&mut self) -> Option<TypingSignal> {
        self.last_key_ms.take().map(|_| TypingSignal::Stop)
    }

    /// Whether the local user counts as typing.
    pub fn is_typing(&self) -> bool {
        self.last_key_ms.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_starts_once_and_stops_after_two_idle_seconds() {
        let mut t = TypingThrottle::default();
        assert_eq!(t.keystroke(0.0), Some(TypingSignal::Start));
        assert_eq!(t.keystroke(500.0), None);
        assert_eq!(t.tick(2000.0), None, "only 1.5 s since the last key");
        assert_eq!(t.tick(2500.0), Some(TypingSignal::Stop));
        assert_eq!(t.tick(9000.0), None, "stop is sent once");
        assert_eq!(t.keystroke(9100.0), Some(TypingSignal::Start));
    }

    #[test]
    fn sending_stops_typing() {
        let mut t = TypingThrottle::default();
        t.keystroke(0.0);
        assert_eq!(t.sent(), Some(TypingSignal::Stop));
        assert_eq!(t.sent(), None);
        assert!(!t.is_typing());
    }
}
