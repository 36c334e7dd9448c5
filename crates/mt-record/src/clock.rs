//! Time as mt records it: microseconds since the Unix epoch, UTC, from one
//! clock function. Everything stored and spooled uses this unit; the type
//! keeps durations and instants from being mixed up at the boundaries.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An instant: microseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_micros(us: i64) -> Timestamp {
        Timestamp(us)
    }

    pub const fn micros(self) -> i64 {
        self.0
    }

    /// This instant moved by `d` (saturating).
    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(micros(d)))
    }

    /// This instant moved back by `d` (saturating).
    pub fn minus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(micros(d)))
    }
}

/// Now, by the system clock (the clock users compare with).
pub fn now() -> Timestamp {
    Timestamp(since_epoch().as_micros() as i64)
}

/// Now as a `Duration` since the epoch, for ids that want nanoseconds.
pub fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// A duration in whole microseconds (saturating at i64::MAX).
pub fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Timestamp::from_micros(i64::MAX - 1);
        assert_eq!(t.plus(Duration::from_secs(1)).micros(), i64::MAX);
        assert_eq!(
            Timestamp::from_micros(5)
                .minus(Duration::from_micros(7))
                .micros(),
            -2
        );
        assert!(now() > Timestamp::from_micros(1_700_000_000_000_000));
    }
}
