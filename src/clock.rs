//! The simulated clock: real time plus an offset, or frozen. It is the only
//! module that reads the system time; everything else asks it.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, FixedOffset, NaiveDateTime, Offset, TimeZone};

/// Business times are written like this, in the engine's zone.
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The last time [`TIME_FORMAT`] can write with a four-digit year. The
/// clock never passes it, and no `end_time` may lie beyond it.
pub const LAST_TIME: &str = "9999-12-31 23:59:59";

/// The first time [`TIME_FORMAT`] can write with a four-digit year.
pub const FIRST_TIME: &str = "0000-01-01 00:00:00";

/// The last second (UNIX) that is still [`LAST_TIME`] or earlier in `zone`.
pub fn last_second(zone: FixedOffset) -> i64 {
    parse_time(LAST_TIME, zone).unwrap_or(i64::MAX)
}

/// A clock move that would take the clock past [`LAST_TIME`].
#[derive(Debug, PartialEq, Eq)]
pub struct OutOfRange;

/// Milliseconds since the UNIX epoch on the real wall clock.
pub fn wall_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Seconds since the UNIX epoch on the real wall clock (for the `time` skew check,
/// which the simulated clock never affects).
pub fn wall_seconds() -> i64 {
    wall_millis() / 1000
}

/// The persisted part of a clock: enough to rebuild it after a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClockState {
    /// Simulated minus real time, in milliseconds, while ticking.
    pub offset_ms: i64,
    /// The simulated time at which the clock stands still, when frozen.
    pub frozen_at_ms: Option<i64>,
}

#[derive(Debug)]
pub struct Clock {
    state: Mutex<ClockState>,
    /// Seconds east of UTC for rendering business times.
    utc_offset: FixedOffset,
    /// [`LAST_TIME`] in this zone, in UNIX seconds: the clock stops there.
    last_second: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub struct BackwardsError;

impl Clock {
    pub fn new(utc_offset_seconds: i32) -> Clock {
        let utc_offset = FixedOffset::east_opt(utc_offset_seconds)
            .unwrap_or_else(|| FixedOffset::east_opt(0).unwrap_or(chrono::Utc.fix()));
        Clock {
            state: Mutex::new(ClockState::default()),
            utc_offset,
            last_second: last_second(utc_offset),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn state(&self) -> ClockState {
        *self.lock()
    }

    pub fn restore(&self, state: ClockState) {
        *self.lock() = state;
    }

    /// The simulated time; a ticking clock set near the end of year 9999
    /// stops at its last second instead of ticking past it.
    fn now_ms_locked(&self, state: &ClockState) -> i64 {
        let now = state
            .frozen_at_ms
            .unwrap_or_else(|| wall_millis() + state.offset_ms);
        now.min(self.last_second().saturating_mul(1000).saturating_add(999))
    }

    /// Simulated milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.now_ms_locked(&self.lock())
    }

    /// Simulated seconds since the epoch.
    pub fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    pub fn offset_seconds(&self) -> i64 {
        let state = self.lock();
        // While ticking the offset is stored; computing it from two reads of
        // the wall clock would show -1 right after a reset when a millisecond
        // passes between them.
        match state.frozen_at_ms {
            Some(at) => ((at - wall_millis()) as f64 / 1000.0).round() as i64,
            None => state.offset_ms.div_euclid(1000),
        }
    }

    pub fn frozen(&self) -> bool {
        self.lock().frozen_at_ms.is_some()
    }

    /// Moves the clock forward by `seconds`; refused (and nothing moves)
    /// when that would pass [`LAST_TIME`].
    pub fn advance(&self, seconds: i64) -> Result<(), OutOfRange> {
        let mut state = self.lock();
        let now = self.now_ms_locked(&state).div_euclid(1000);
        if now.saturating_add(seconds) > self.last_second() {
            return Err(OutOfRange);
        }
        let delta = seconds.saturating_mul(1000);
        match state.frozen_at_ms.as_mut() {
            Some(at) => *at = at.saturating_add(delta),
            None => state.offset_ms = state.offset_ms.saturating_add(delta),
        }
        Ok(())
    }

    /// The last second the clock may reach: [`LAST_TIME`] in the engine's zone.
    pub fn last_second(&self) -> i64 {
        self.last_second
    }

    /// Jumps to `target` (seconds); never backwards, and never past
    /// [`LAST_TIME`] (a later target, which no parsed time can be, stops there).
    pub fn set(&self, target: i64) -> Result<(), BackwardsError> {
        let target = target.min(self.last_second());
        let mut state = self.lock();
        let now = self.now_ms_locked(&state);
        let target_ms = target.saturating_mul(1000);
        if target_ms < now - 999 {
            return Err(BackwardsError);
        }
        let delta = (target_ms - now).max(0);
        match state.frozen_at_ms.as_mut() {
            Some(at) => *at += delta,
            None => state.offset_ms += delta,
        }
        Ok(())
    }

    pub fn freeze(&self) {
        let mut state = self.lock();
        if state.frozen_at_ms.is_none() {
            state.frozen_at_ms = Some(self.now_ms_locked(&state));
        }
    }

    pub fn resume(&self) {
        let mut state = self.lock();
        if let Some(at) = state.frozen_at_ms.take() {
            state.offset_ms = at - wall_millis();
        }
    }

    /// Back to real time, ticking.
    pub fn reset(&self) {
        *self.lock() = ClockState::default();
    }

    /// Renders UNIX seconds as a business time in the engine's zone.
    pub fn format(&self, unix: i64) -> String {
        format_time(unix, self.utc_offset)
    }

    /// Parses a business time (`YYYY-MM-DD HH:MM:SS`, engine's zone) into UNIX seconds.
    pub fn parse(&self, text: &str) -> Option<i64> {
        parse_time(text, self.utc_offset)
    }

    pub fn zone(&self) -> FixedOffset {
        self.utc_offset
    }
}

/// Today's real date as `YYYYMMDD` in a zone `offset_seconds` east of UTC
/// (the `vtime` a client sends).
pub fn wall_date_yyyymmdd(offset_seconds: i32) -> String {
    let zone = FixedOffset::east_opt(offset_seconds).unwrap_or(chrono::Utc.fix());
    match DateTime::from_timestamp(wall_seconds(), 0) {
        Some(t) => t.with_timezone(&zone).format("%Y%m%d").to_string(),
        None => String::new(),
    }
}

/// Renders UNIX seconds as `YYYY-MM-DD HH:MM:SS` in `zone`. A time outside
/// the four-digit years (only a pending transition can be: one due after
/// an `end_time` near the end of year 9999) is written as the nearest end
/// of the range, so that every time on the wire has one shape.
pub fn format_time(unix: i64, zone: FixedOffset) -> String {
    use chrono::Datelike;
    match DateTime::from_timestamp(unix, 0).map(|t| t.with_timezone(&zone)) {
        Some(t) if t.year() > 9999 => LAST_TIME.to_string(),
        Some(t) if t.year() < 0 => FIRST_TIME.to_string(),
        Some(t) => t.format(TIME_FORMAT).to_string(),
        None if unix > 0 => LAST_TIME.to_string(),
        None => FIRST_TIME.to_string(),
    }
}

/// Parses exactly `YYYY-MM-DD HH:MM:SS` (four-digit year, two-digit
/// fields; surrounding blanks allowed) in `zone`. chrono alone would also
/// take a signed or five-digit year (`+10000-01-01 00:00:00`), a time the
/// engine cannot write back.
pub fn parse_time(text: &str, zone: FixedOffset) -> Option<i64> {
    let text = text.trim();
    let shape_ok = text.len() == 19
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b' ',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    let naive = NaiveDateTime::parse_from_str(text, TIME_FORMAT).ok()?;
    zone.from_local_datetime(&naive)
        .single()
        .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_freeze_and_set() {
        let clock = Clock::new(8 * 3600);
        clock.freeze();
        let t0 = clock.now();
        assert_eq!(clock.advance(3600), Ok(()));
        assert_eq!(clock.now(), t0 + 3600);
        assert_eq!(clock.set(t0), Err(BackwardsError));
        assert!(clock.set(t0 + 7200).is_ok());
        assert_eq!(clock.now(), t0 + 7200);
        clock.resume();
        assert!(!clock.frozen());
        assert!(clock.now() >= t0 + 7199);
    }

    #[test]
    fn formats_in_engine_zone() {
        let zone = FixedOffset::east_opt(8 * 3600).unwrap_or(chrono::Utc.fix());
        assert_eq!(format_time(1629173863, zone), "2021-08-17 12:17:43");
        assert_eq!(parse_time("2021-08-17 12:17:43", zone), Some(1629173863));
        assert_eq!(parse_time("2021-13-17 12:17:43", zone), None);
    }

    #[test]
    fn times_stay_within_four_digit_years() {
        let zone = FixedOffset::east_opt(8 * 3600).unwrap_or(chrono::Utc.fix());
        let last = last_second(zone);
        assert_eq!(format_time(last, zone), LAST_TIME);
        assert_eq!(format_time(last + 120, zone), LAST_TIME);
        assert_eq!(format_time(i64::MAX, zone), LAST_TIME);
        assert_eq!(format_time(i64::MIN, zone), FIRST_TIME);
        for bad in [
            "+10000-01-01 00:00:00",
            "10000-01-01 00:00:00",
            "-001-01-01 00:00:00",
            "2021-8-17 12:17:43",
            "2021-08-17T12:17:43",
        ] {
            assert_eq!(parse_time(bad, zone), None, "{bad}");
        }
        assert_eq!(parse_time(" 2021-08-17 12:17:43 ", zone), Some(1629173863));

        let clock = Clock::new(8 * 3600);
        clock.freeze();
        assert!(clock.set(last - 60).is_ok());
        assert_eq!(clock.advance(120), Err(OutOfRange));
        assert_eq!(clock.now(), last - 60, "a refused move moves nothing");
        assert_eq!(clock.advance(60), Ok(()));
        assert_eq!(clock.format(clock.now()), LAST_TIME);
        assert_eq!(clock.advance(1), Err(OutOfRange));
        // A ticking clock stops at the last second too.
        clock.resume();
        assert_eq!(clock.now(), last);
        let ticking = Clock::new(8 * 3600);
        ticking.restore(ClockState {
            offset_ms: (last + 3600 - wall_seconds()) * 1000,
            frozen_at_ms: None,
        });
        assert_eq!(ticking.now(), last);
    }
}
