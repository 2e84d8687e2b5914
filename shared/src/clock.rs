//! Time as a dependency: rules such as the link lifetime and the UTC quota day are tested by
//! moving a clock, never by sleeping.

use std::sync::Arc;
use time::OffsetDateTime;

/// Where "now" comes from.
pub trait Clock: Send + Sync {
    /// The current instant, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A shared, cheaply cloned clock.
pub type SharedClock = Arc<dyn Clock>;

/// A clock that stands still until moved, for tests and benchmarks.
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<OffsetDateTime>);

impl ManualClock {
    /// A clock showing `start`.
    pub fn at(start: OffsetDateTime) -> Arc<Self> {
        Arc::new(Self(std::sync::Mutex::new(start)))
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: time::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
