//! Dates as the panes print them, in the user's local offset.

use chrono::{DateTime, Utc};

/// `ts` and `now` in the local time of `utc_offset_secs`; `None` when either is out of range.
pub(crate) fn local_pair(
    ts: i64,
    now: i64,
    utc_offset_secs: i32,
) -> Option<(DateTime<chrono::FixedOffset>, DateTime<chrono::FixedOffset>)> {
    let off = chrono::FixedOffset::east_opt(utc_offset_secs)
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset is valid"));
    let d = DateTime::<Utc>::from_timestamp(ts, 0)?;
    let n = DateTime::<Utc>::from_timestamp(now, 0)?;
    Some((d.with_timezone(&off), n.with_timezone(&off)))
}

/// A compact date for the list: the time today, else day and month, else the year.
pub fn short_date(ts: i64, now: i64, utc_offset_secs: i32) -> String {
    let Some((d, n)) = local_pair(ts, now, utc_offset_secs) else {
        return String::new();
    };
    if d.date_naive() == n.date_naive() {
        d.format("%H:%M").to_string()
    } else if d.format("%Y").to_string() == n.format("%Y").to_string() {
        d.format("%d %b").to_string()
    } else {
        d.format("%Y-%m").to_string()
    }
}
