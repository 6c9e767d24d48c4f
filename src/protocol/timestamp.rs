//! Instants as the wire carries them, without a date library in the browser.
//!
//! chrono cost the Wasm bundle about 37 KB before optimisation (its
//! formatter and parser), and the page needs little of it: read an RFC 3339
//! string, compare instants, and show a local date and time at a fixed UTC
//! offset. [`Timestamp`] does exactly that on both sides. On the wire it is
//! the string chrono writes for a `DateTime<Utc>` (RFC 3339, `Z`, and 0, 3,
//! 6 or 9 fraction digits as needed), so the contract is unchanged; the
//! server converts to and from chrono at its edges (`ssr` only), and a test
//! checks the two writers agree.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const MICROS_PER_SECOND: i64 = 1_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// An instant with microsecond precision (what both databases keep).
///
/// Ordered and compared as instants; `Default` is the Unix epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    micros: i64,
}

/// A calendar date (proleptic Gregorian), for day separators and labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CivilDate {
    year: i32,
    month: u8,
    day: u8,
}

/// A wall-clock reading at some UTC offset: the date and the time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// The local date.
    pub date: CivilDate,
    /// 0-23.
    pub hour: u8,
    /// 0-59.
    pub minute: u8,
    /// 0-59.
    pub second: u8,
}

/// Why a string is not an RFC 3339 instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError(&'static str);

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an RFC 3339 timestamp: {}", self.0)
    }
}

impl std::error::Error for TimestampError {}

impl Timestamp {
    /// The instant `micros` microseconds after 1970-01-01T00:00:00Z.
    pub const fn from_micros(micros: i64) -> Self {
        Timestamp { micros }
    }

    /// The instant `millis` milliseconds after the epoch (what
    /// `Date.now()` gives), saturating at the ends of the range.
    pub const fn from_millis(millis: i64) -> Self {
        Timestamp {
            micros: millis.saturating_mul(1000),
        }
    }

    /// Microseconds since the epoch.
    pub const fn micros(self) -> i64 {
        self.micros
    }

    /// Whole seconds from `earlier` to `self`, rounded toward zero
    /// (negative when `earlier` is later).
    pub const fn seconds_since(self, earlier: Timestamp) -> i64 {
        (self.micros as i128 - earlier.micros as i128) as i64 / MICROS_PER_SECOND
    }

    /// Midnight UTC of `date` plus the given time of day (saturating at the
    /// ends of the range).
    pub fn at_utc(date: CivilDate, hour: u8, minute: u8, second: u8) -> Self {
        let seconds = date
            .days_since_epoch()
            .saturating_mul(SECONDS_PER_DAY)
            .saturating_add(i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second));
        Timestamp::from_micros(seconds.saturating_mul(MICROS_PER_SECOND))
    }

    /// The wall clock at `utc_offset_minutes` east of UTC.
    pub fn local(self, utc_offset_minutes: i32) -> LocalTime {
        let shifted = self
            .micros
            .div_euclid(MICROS_PER_SECOND)
            .saturating_add(i64::from(utc_offset_minutes) * 60);
        let days = shifted.div_euclid(SECONDS_PER_DAY);
        let secs = shifted.rem_euclid(SECONDS_PER_DAY);
        LocalTime {
            date: CivilDate::from_days_since_epoch(days),
            hour: (secs / 3600) as u8,
            minute: (secs / 60 % 60) as u8,
            second: (secs % 60) as u8,
        }
    }

    /// The date in UTC.
    pub fn utc_date(self) -> CivilDate {
        self.local(0).date
    }

    /// RFC 3339 with `+00:00`, as chrono's `to_rfc3339` writes it (the
    /// `datetime` attribute of `<time>` elements).
    pub fn to_rfc3339(self) -> String {
        let mut out = String::with_capacity(32);
        // Writing to a String cannot fail.
        let _ = self.write(&mut out, "+00:00");
        out
    }

    /// Writes the instant in UTC with 0, 3 or 6 fraction digits as needed,
    /// then `zone` (`Z` or `+00:00`).
    fn write(self, out: &mut impl fmt::Write, zone: &str) -> fmt::Result {
        let t = self.local(0);
        let year = t.date.year;
        // chrono: four digits in 0..=9999, otherwise a sign and at least four.
        if (0..=9999).contains(&year) {
            write!(out, "{year:04}")?;
        } else {
            write!(out, "{year:+05}")?;
        }
        write!(
            out,
            "-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.date.month, t.date.day, t.hour, t.minute, t.second
        )?;
        let fraction = self.micros.rem_euclid(MICROS_PER_SECOND);
        if fraction != 0 && fraction % 1000 == 0 {
            write!(out, ".{:03}", fraction / 1000)?;
        } else if fraction != 0 {
            write!(out, ".{fraction:06}")?;
        }
        out.write_str(zone)
    }
}

impl fmt::Display for Timestamp {
    /// The wire form: RFC 3339 in UTC with `Z`, written straight into the
    /// formatter (serialising a frame allocates nothing for it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, "Z")
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    /// Reads RFC 3339: `YYYY-MM-DDTHH:MM:SS`, an optional fraction of up to
    /// nine digits (kept to the microsecond), then `Z` or `±HH:MM`. A lower
    /// case `t`/`z` and a space for `T` are accepted, as chrono does.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut p = Cursor(s.as_bytes());
        let negative_year = p.eat(b'-');
        if !negative_year {
            p.eat(b'+');
        }
        let year_digits = p.0.iter().take_while(|b| b.is_ascii_digit()).count();
        if !(4..=6).contains(&year_digits) {
            return Err(TimestampError("year"));
        }
        let year = p.number(year_digits)? as i32;
        let year = if negative_year { -year } else { year };
        p.expect(b'-')?;
        let month = p.number(2)? as u8;
        p.expect(b'-')?;
        let day = p.number(2)? as u8;
        let date = CivilDate::new(year, month, day).ok_or(TimestampError("date"))?;
        if !(p.eat(b'T') || p.eat(b't') || p.eat(b' ')) {
            return Err(TimestampError("separator"));
        }
        let hour = p.number(2)?;
        p.expect(b':')?;
        let minute = p.number(2)?;
        p.expect(b':')?;
        let second = p.number(2)?;
        if hour > 23 || minute > 59 || second > 59 {
            return Err(TimestampError("time of day"));
        }
        let mut fraction = 0i64;
        if p.eat(b'.') {
            let digits = p.0.iter().take_while(|b| b.is_ascii_digit()).count();
            if !(1..=9).contains(&digits) {
                return Err(TimestampError("fraction"));
            }
            let value = p.number(digits)?;
            // Scale to microseconds, dropping anything finer.
            fraction = if digits <= 6 {
                value * 10i64.pow(6 - digits as u32)
            } else {
                value / 10i64.pow(digits as u32 - 6)
            };
        }
        let offset_seconds = if p.eat(b'Z') || p.eat(b'z') {
            0
        } else {
            let sign = if p.eat(b'+') {
                1
            } else if p.eat(b'-') {
                -1
            } else {
                return Err(TimestampError("offset"));
            };
            let hours = p.number(2)?;
            p.expect(b':')?;
            let minutes = p.number(2)?;
            if hours > 23 || minutes > 59 {
                return Err(TimestampError("offset"));
            }
            sign * (hours * 3600 + minutes * 60)
        };
        if !p.0.is_empty() {
            return Err(TimestampError("trailing characters"));
        }
        let seconds =
            date.days_since_epoch() * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second
                - offset_seconds;
        seconds
            .checked_mul(MICROS_PER_SECOND)
            .and_then(|m| m.checked_add(fraction))
            .map(Timestamp::from_micros)
            .ok_or(TimestampError("out of range"))
    }
}

/// A byte cursor for the parser.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn eat(&mut self, byte: u8) -> bool {
        match self.0.split_first() {
            Some((&b, rest)) if b == byte => {
                self.0 = rest;
                true
            }
            _ => false,
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), TimestampError> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(TimestampError("punctuation"))
        }
    }

    /// Exactly `digits` ASCII digits as a number.
    fn number(&mut self, digits: usize) -> Result<i64, TimestampError> {
        if self.0.len() < digits {
            return Err(TimestampError("too short"));
        }
        let (head, rest) = self.0.split_at(digits);
        let mut value = 0i64;
        for &b in head {
            if !b.is_ascii_digit() {
                return Err(TimestampError("digit expected"));
            }
            value = value * 10 + i64::from(b - b'0');
        }
        self.0 = rest;
        Ok(value)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl CivilDate {
    /// The date, if it exists (month 1-12, day within the month).
    pub fn new(year: i32, month: u8, day: u8) -> Option<Self> {
        let valid = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        valid.then_some(CivilDate { year, month, day })
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// 1-12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// 1-31.
    pub fn day(self) -> u8 {
        self.day
    }

    /// 0 for Monday through 6 for Sunday.
    pub fn weekday_from_monday(self) -> u8 {
        // 1970-01-01 was a Thursday (3 counted from Monday).
        (self.days_since_epoch() + 3).rem_euclid(7) as u8
    }

    /// The day before.
    pub fn previous(self) -> Self {
        CivilDate::from_days_since_epoch(self.days_since_epoch() - 1)
    }

    /// Days from 1970-01-01 (negative before it).
    pub fn days_since_epoch(self) -> i64 {
        // Count in 400-year eras of 146,097 days whose years start in March,
        // so the leap day is the last day of its year.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let year_of_era = y.rem_euclid(400);
        let m = i64::from(self.month);
        let day_of_year =
            (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The date `days` after 1970-01-01.
    pub fn from_days_since_epoch(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let mp = (5 * day_of_year + 2) / 153;
        let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u8;
        let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u8;
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        CivilDate {
            year: year as i32,
            month,
            day,
        }
    }
}

impl fmt::Display for CivilDate {
    /// `YYYY-MM-DD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn is_leap_year(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The server's conversions at its edges (storage and chrono-based code).
#[cfg(feature = "ssr")]
mod chrono_edges {
    use super::Timestamp;
    use chrono::{DateTime, Utc};

    impl From<DateTime<Utc>> for Timestamp {
        fn from(t: DateTime<Utc>) -> Self {
            Timestamp::from_micros(t.timestamp_micros())
        }
    }

    impl From<Timestamp> for DateTime<Utc> {
        fn from(t: Timestamp) -> Self {
            DateTime::from_timestamp_micros(t.micros()).unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u8, d: u8) -> CivilDate {
        CivilDate::new(y, m, d).expect("valid date")
    }

    #[test]
    fn writes_the_wire_form_with_only_the_digits_needed() {
        let noon = Timestamp::at_utc(date(2026, 11, 25), 12, 0, 0);
        assert_eq!(noon.to_string(), "2026-11-25T12:00:00Z");
        assert_eq!(noon.to_rfc3339(), "2026-11-25T12:00:00+00:00");
        let plus = |us| Timestamp::from_micros(noon.micros() + us).to_string();
        assert_eq!(plus(120_000), "2026-11-25T12:00:00.120Z");
        assert_eq!(plus(123_456), "2026-11-25T12:00:00.123456Z");
        assert_eq!(plus(1), "2026-11-25T12:00:00.000001Z");
        assert_eq!(
            Timestamp::from_micros(-1).to_string(),
            "1969-12-31T23:59:59.999999Z"
        );
    }

    #[test]
    fn reads_offsets_fractions_and_lenient_separators() {
        for (input, wire) in [
            ("2026-11-25T12:00:00Z", "2026-11-25T12:00:00Z"),
            ("2026-11-25t12:00:00z", "2026-11-25T12:00:00Z"),
            ("2026-11-25 14:30:00+02:30", "2026-11-25T12:00:00Z"),
            ("2026-11-25T00:15:00-01:00", "2026-11-25T01:15:00Z"),
            ("2026-11-25T12:00:00.5Z", "2026-11-25T12:00:00.500Z"),
            (
                "2026-11-25T12:00:00.123456789Z",
                "2026-11-25T12:00:00.123456Z",
            ),
        ] {
            let parsed: Timestamp = input.parse().expect(input);
            assert_eq!(parsed.to_string(), wire, "{input}");
        }
        for bad in [
            "",
            "2026-11-25",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-25T24:00:00Z",
            "2026-11-25T12:00:00",
            "2026-11-25T12:00:00.Z",
            "2026-11-25T12:00:00.1234567890Z",
            "2026-11-25T12:00:00Zjunk",
            "2026-11-25T12:00:00+2:00",
            "２０２６-11-25T12:00:00Z",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad:?} was accepted");
        }
        assert!("2024-02-29T00:00:00Z".parse::<Timestamp>().is_ok());
    }

    #[test]
    fn calendar_arithmetic_round_trips_across_eras() {
        assert_eq!(date(1970, 1, 1).days_since_epoch(), 0);
        assert_eq!(date(2000, 3, 1).days_since_epoch(), 11_017);
        assert_eq!(date(1969, 12, 31).days_since_epoch(), -1);
        for days in (-800_000..800_000).step_by(97) {
            let d = CivilDate::from_days_since_epoch(days);
            assert_eq!(d.days_since_epoch(), days);
            assert_eq!(CivilDate::new(d.year(), d.month(), d.day()), Some(d));
        }
        // 2026-11-25 is a Wednesday; 2024-02-29 a Thursday.
        assert_eq!(date(2026, 11, 25).weekday_from_monday(), 2);
        assert_eq!(date(2024, 2, 29).weekday_from_monday(), 3);
        assert_eq!(date(2026, 3, 1).previous(), date(2026, 2, 28));
        assert_eq!(date(2026, 1, 1).previous(), date(2025, 12, 31));
    }

    #[test]
    fn local_time_applies_the_offset_across_midnight() {
        let t = Timestamp::at_utc(date(2026, 11, 25), 23, 30, 5);
        let east = t.local(120);
        assert_eq!(
            (east.date, east.hour, east.minute, east.second),
            (date(2026, 11, 26), 1, 30, 5)
        );
        let west = Timestamp::at_utc(date(2026, 1, 1), 0, 10, 0).local(-60);
        assert_eq!(
            (west.date, west.hour, west.minute),
            (date(2025, 12, 31), 23, 10)
        );
        assert_eq!(
            t.seconds_since(Timestamp::at_utc(date(2026, 11, 25), 23, 0, 0)),
            1805
        );
    }

    /// The contract: every instant is written exactly as chrono wrote it
    /// before, and reads back to itself; chrono reads ours to the same
    /// instant.
    #[cfg(feature = "ssr")]
    #[test]
    fn agrees_with_chrono_on_the_wire() {
        use chrono::{DateTime, Utc};
        let mut rng = fastrand::Rng::with_seed(0x9E37_79B9_7F4A_7C15);
        let mut samples = vec![0i64, -1, 1, 1_000, 999_999, 253_402_300_799_999_999];
        for _ in 0..20_000 {
            // Seeded: instants spread over years -9999..9999 plus round
            // values that take the short fraction forms.
            let micros = rng.i64(-315_000_000_000_000_000..315_000_000_000_000_000);
            samples.extend([micros, micros / 1000 * 1000, micros / 1_000_000 * 1_000_000]);
        }
        for micros in samples {
            let ours = Timestamp::from_micros(micros);
            let theirs = DateTime::<Utc>::from_timestamp_micros(micros).expect("in range");
            let wire = serde_json::to_string(&ours).unwrap();
            assert_eq!(wire, serde_json::to_string(&theirs).unwrap());
            assert_eq!(ours.to_rfc3339(), theirs.to_rfc3339());
            assert_eq!(serde_json::from_str::<Timestamp>(&wire).unwrap(), ours);
            let back: DateTime<Utc> = serde_json::from_str(&wire).unwrap();
            assert_eq!(Timestamp::from(back), ours);
            let local = ours.local(-330);
            let chrono_local =
                theirs.with_timezone(&chrono::FixedOffset::west_opt(330 * 60).unwrap());
            use chrono::{Datelike, Timelike};
            assert_eq!(
                (
                    local.date.year(),
                    u32::from(local.date.month()),
                    u32::from(local.date.day())
                ),
                (
                    chrono_local.year(),
                    chrono_local.month(),
                    chrono_local.day()
                )
            );
            assert_eq!(u32::from(local.hour), chrono_local.hour());
            assert_eq!(
                u32::from(local.date.weekday_from_monday()),
                chrono_local.weekday().num_days_from_monday()
            );
        }
    }
}
