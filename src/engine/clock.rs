//! Moving an engine's clock: forward by seconds or to a time, frozen or
//! resumed, each move saved with the database and followed by the
//! transitions it made due; and the clock as the control API shows it.

use crate::protocol::control::ClockView;

use super::Engine;
use crate::clock;
use crate::store;

impl Engine {
    /// Writes the clock's state into the database (a `--db` file keeps it).
    pub(super) fn save_clock(&self) {
        let state = self.clock.state();
        let conn = self.store.lock();
        if let Err(e) = store::save_clock(&conn, state) {
            tracing::error!(error = %e, "cannot persist the clock");
        }
    }

    /// Moves the clock forward and runs what fell due; refused, with
    /// nothing moved, when it would pass the last time the engine can write.
    pub fn advance(&self, seconds: i64) -> Result<(), clock::OutOfRange> {
        self.clock.advance(seconds)?;
        self.save_clock();
        self.run_due();
        Ok(())
    }

    pub fn set_clock(&self, target: i64) -> Result<(), clock::BackwardsError> {
        self.clock.set(target)?;
        self.save_clock();
        self.run_due();
        Ok(())
    }

    pub fn freeze(&self) {
        self.clock.freeze();
        self.save_clock();
        self.reschedule();
    }

    pub fn resume(&self) {
        self.clock.resume();
        self.save_clock();
        self.reschedule();
    }

    pub fn clock_view(&self) -> ClockView {
        ClockView {
            now: self.clock.format(self.clock.now()),
            offset_seconds: self.clock.offset_seconds(),
            frozen: self.clock.frozen(),
        }
    }
}
