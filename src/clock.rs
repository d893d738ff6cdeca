//! The one clock everything time-based reads, and the words for time on the command line.
//!
//! Reminders, snoozes and scheduled mail fire "at a time"; tests cannot wait three days, so every
//! such decision reads [`now`], which a test can move forward for a running process: when
//! `TIDINGS_CLOCK_FILE` names a file, its contents shift the clock — `+3d` (or `3d`, `-2h`) is an
//! offset from the real time, an RFC 3339 instant pins the clock there. The file is read on each
//! call so a test can change it while `tidings watch` or the TUI runs. Without the variable this is
//! the system clock and nothing else.
//!
//! Durations are written `90s`, `30m`, `2h`, `3d`, `1w` (the CLI contract of `--remind-after`).
//! Times are the user's local time on screen and RFC 3339 in JSON.

use chrono::{DateTime, Duration, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use std::sync::OnceLock;

/// The environment variable naming the test clock file.
pub const CLOCK_FILE_ENV: &str = "TIDINGS_CLOCK_FILE";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TimeError {
    #[error("{0:?} is not a duration: write a number and a unit, like 90s, 30m, 2h, 3d or 1w")]
    BadDuration(String),
    #[error(
        "{0:?} is not a time: write \"2026-12-08 09:00\" (local time), an RFC 3339 time, \
         \"09:00\", \"tomorrow 09:00\" or \"in 2h\""
    )]
    BadTime(String),
    #[error("{0} does not exist in the local time zone (a daylight-saving gap)")]
    NoSuchLocalTime(String),
}

/// Now, as every time-based decision in tidings sees it.
pub fn now() -> DateTime<Utc> {
    let real = Utc::now();
    match clock_file() {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => shifted(real, text.trim()),
            // A missing or unreadable file means "no shift": the test has not moved the clock yet.
            Err(_) => real,
        },
        None => real,
    }
}

fn clock_file() -> Option<&'static std::path::PathBuf> {
    static FILE: OnceLock<Option<std::path::PathBuf>> = OnceLock::new();
    FILE.get_or_init(|| {
        std::env::var_os(CLOCK_FILE_ENV)
            .filter(|v| !v.is_empty())
            .map(Into::into)
    })
    .as_ref()
}

fn shifted(real: DateTime<Utc>, text: &str) -> DateTime<Utc> {
    if text.is_empty() {
        return real;
    }
    if let Ok(fixed) = DateTime::parse_from_rfc3339(text) {
        return fixed.with_timezone(&Utc);
    }
    let (sign, rest) = match text.as_bytes()[0] {
        b'-' => (-1, &text[1..]),
        b'+' => (1, &text[1..]),
        _ => (1, text),
    };
    match parse_duration(rest) {
        Ok(d) => real + d * sign,
        Err(_) => real,
    }
}

/// `90s`, `30m`, `2h`, `3d`, `1w`; also combined (`1d12h`) and with spaces around the parts.
pub fn parse_duration(text: &str) -> Result<Duration, TimeError> {
    let bad = || TimeError::BadDuration(text.to_string());
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() || compact.len() > 40 {
        return Err(bad());
    }
    let mut total = Duration::zero();
    let mut digits = String::new();
    for c in compact.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: i64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        let unit = match c.to_ascii_lowercase() {
            's' => Duration::try_seconds(n),
            'm' => Duration::try_minutes(n),
            'h' => Duration::try_hours(n),
            'd' => Duration::try_days(n),
            'w' => Duration::try_weeks(n),
            _ => None,
        };
        total = unit.and_then(|u| total.checked_add(&u)).ok_or_else(bad)?;
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// The shortest exact way to write `d` in the CLI's units: `3d`, `36h`, `90s`.
pub fn format_duration(d: Duration) -> String {
    let secs = d.num_seconds();
    let (sign, secs) = if secs < 0 { ("-", -secs) } else { ("", secs) };
    let unit = [(604_800, "w"), (86_400, "d"), (3_600, "h"), (60, "m")]
        .into_iter()
        .find(|(n, _)| secs != 0 && secs % n == 0);
    match unit {
        Some((n, u)) => format!("{sign}{}{u}", secs / n),
        None => format!("{sign}{secs}s"),
    }
}

/// A point in time as a person types it, read in the local time zone: an RFC 3339 time,
/// `YYYY-MM-DD HH:MM[:SS]`, `YYYY-MM-DD` (09:00 that day), `HH:MM` (the next such time),
/// `today|tomorrow [HH:MM]` (09:00 when no time is given), or `in 2h` / `+2h`.
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimeError> {
    parse_time_in(text, now, &Local)
}

/// [`parse_time`] in a given zone, so tests do not depend on the machine's.
pub fn parse_time_in<Tz: TimeZone>(
    text: &str,
    now: DateTime<Utc>,
    zone: &Tz,
) -> Result<DateTime<Utc>, TimeError> {
    let bad = || TimeError::BadTime(text.to_string());
    let t = text.trim();
    if t.is_empty() || t.len() > 64 {
        return Err(bad());
    }
    if let Ok(fixed) = DateTime::parse_from_rfc3339(t) {
        return Ok(fixed.with_timezone(&Utc));
    }
    let lower = t.to_ascii_lowercase();
    if let Some(rest) = lower
        .strip_prefix("in ")
        .or_else(|| lower.strip_prefix('+'))
    {
        return parse_duration(rest).map(|d| now + d).map_err(|_| bad());
    }
    let today = now.with_timezone(zone).date_naive();
    let default_time = NaiveTime::from_hms_opt(9, 0, 0).ok_or_else(bad)?;
    let (day_word, time_part) = match lower.split_once(' ') {
        Some((d, rest)) => (d, Some(rest.trim())),
        None => (lower.as_str(), None),
    };
    let relative_day = match day_word {
        "today" => Some(today),
        "tomorrow" => today.succ_opt(),
        _ => None,
    };
    if let Some(day) = relative_day {
        let time = match time_part {
            Some(p) => parse_clock_time(p).ok_or_else(bad)?,
            None => default_time,
        };
        return local(zone, day.and_time(time), t);
    }
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, format) {
            return local(zone, naive, t);
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return local(zone, day.and_time(default_time), t);
    }
    if let Some(time) = parse_clock_time(&lower) {
        let candidate = local(zone, today.and_time(time), t)?;
        if candidate > now {
            return Ok(candidate);
        }
        let tomorrow = today.succ_opt().ok_or_else(bad)?;
        return local(zone, tomorrow.and_time(time), t);
    }
    Err(bad())
}

fn parse_clock_time(text: &str) -> Option<NaiveTime> {
    ["%H:%M", "%H:%M:%S", "%H"]
        .into_iter()
        .find_map(|f| NaiveTime::parse_from_str(text.trim(), f).ok())
}

fn local<Tz: TimeZone>(
    zone: &Tz,
    naive: NaiveDateTime,
    text: &str,
) -> Result<DateTime<Utc>, TimeError> {
    // An ambiguous time (the hour repeated when clocks go back) means its first occurrence.
    zone.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| TimeError::NoSuchLocalTime(text.to_string()))
}

/// A time as shown to the user: local, to the minute, with the zone's offset name.
pub fn format_local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// A time as written in JSON and the database.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn durations_in_the_cli_units_and_nothing_else() {
        assert_eq!(parse_duration("90s"), Ok(Duration::seconds(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::minutes(30)));
        assert_eq!(parse_duration("2h"), Ok(Duration::hours(2)));
        assert_eq!(parse_duration("3d"), Ok(Duration::days(3)));
        assert_eq!(parse_duration("1w"), Ok(Duration::days(7)));
        assert_eq!(parse_duration("1d 12h"), Ok(Duration::hours(36)));
        for bad in [
            "",
            "3",
            "d",
            "3x",
            "-3d",
            "3.5d",
            "99999999999999999999d",
            "3d4",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert!(parse_duration(&"9".repeat(1000)).is_err());
        assert_eq!(format_duration(Duration::days(3)), "3d");
        assert_eq!(format_duration(Duration::hours(36)), "36h");
        assert_eq!(format_duration(Duration::seconds(90)), "90s");
    }

    #[test]
    fn times_are_read_in_the_local_zone() {
        let zone = FixedOffset::east_opt(3600).unwrap();
        let now = at("2026-12-07T13:00:00Z"); // 14:00 local
        assert_eq!(
            parse_time_in("2026-12-08 09:00", now, &zone),
            Ok(at("2026-12-08T08:00:00Z"))
        );
        assert_eq!(
            parse_time_in("2026-12-08T09:00:00+00:00", now, &zone),
            Ok(at("2026-12-08T09:00:00Z"))
        );
        assert_eq!(
            parse_time_in("2026-12-08", now, &zone),
            Ok(at("2026-12-08T08:00:00Z"))
        );
        assert_eq!(
            parse_time_in("tomorrow", now, &zone),
            Ok(at("2026-12-08T08:00:00Z"))
        );
        assert_eq!(
            parse_time_in("today 18:30", now, &zone),
            Ok(at("2026-12-07T17:30:00Z"))
        );
        // A bare time already past today means tomorrow.
        assert_eq!(
            parse_time_in("09:00", now, &zone),
            Ok(at("2026-12-08T08:00:00Z"))
        );
        assert_eq!(
            parse_time_in("15:00", now, &zone),
            Ok(at("2026-12-07T14:00:00Z"))
        );
        assert_eq!(
            parse_time_in("in 2h", now, &zone),
            Ok(at("2026-12-07T15:00:00Z"))
        );
        assert_eq!(
            parse_time_in("+3d", now, &zone),
            Ok(at("2026-12-10T13:00:00Z"))
        );
        for bad in [
            "",
            "soon",
            "2026-13-01",
            "25:00",
            "tomorrow noon",
            "in forever",
        ] {
            assert!(parse_time_in(bad, now, &zone).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_test_clock_shifts_or_pins_now() {
        let real = at("2026-12-07T13:00:00Z");
        assert_eq!(shifted(real, "+3d"), at("2026-12-10T13:00:00Z"));
        assert_eq!(shifted(real, "2h"), at("2026-12-07T15:00:00Z"));
        assert_eq!(shifted(real, "-1h"), at("2026-12-07T12:00:00Z"));
        assert_eq!(
            shifted(real, "2027-01-01T00:00:00Z"),
            at("2027-01-01T00:00:00Z")
        );
        assert_eq!(shifted(real, "garbage"), real);
        assert_eq!(shifted(real, ""), real);
    }
}
