//! Snooze in the list and the reader: `Z` offers later today, tomorrow morning and next week, or
//! takes a typed time ("fri 14:00" is not understood, but "2026-12-11 14:00", "tomorrow 14:00"
//! and "in 3h" are: `clock::parse_time`) in the same picker. The move runs in the runtime
//! (`Effect::Snooze`); the rows leave the list at once and come back on a reload if it fails.

use crate::app::input::LineInput;
use crate::app::msg::Effect;
use crate::app::state::App;
use crate::app::view::{Mode, Picker, PickerPurpose};
use chrono::{DateTime, Datelike, Duration, FixedOffset, TimeZone, Utc};

/// The picker's fixed choices: (label, time) in the app's time zone.
fn choices(now: DateTime<Utc>, zone: &FixedOffset) -> Vec<(String, DateTime<Utc>)> {
    let local = now.with_timezone(zone);
    let at = |days: i64, hour: u32| {
        let day = local.date_naive() + Duration::days(days);
        zone.from_local_datetime(&day.and_hms_opt(hour, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now)
    };
    // "Later today" is three hours on, to the hour; after 18:00 that is tomorrow morning anyway.
    let later = now + Duration::hours(3);
    let later = later - Duration::seconds(i64::from(later.with_timezone(zone).minute_second()));
    let monday = 7 - i64::from(local.weekday().num_days_from_monday());
    let mut out = Vec::new();
    if later.with_timezone(zone).date_naive() == local.date_naive() {
        out.push(("Later today".to_string(), later));
    }
    out.push(("Tomorrow morning".to_string(), at(1, 8)));
    out.push(("Next week".to_string(), at(monday, 8)));
    out.into_iter()
        .map(|(label, t)| {
            let shown = t.with_timezone(zone).format("%a %d %b %H:%M");
            (format!("{label} ({shown})"), t)
        })
        .collect()
}

trait MinuteSecond {
    fn minute_second(&self) -> u32;
}

impl<Tz: TimeZone> MinuteSecond for DateTime<Tz> {
    fn minute_second(&self) -> u32 {
        use chrono::Timelike;
        self.minute() * 60 + self.second()
    }
}

impl App {
    fn zone(&self) -> FixedOffset {
        FixedOffset::east_opt(self.utc_offset_secs).unwrap_or_else(|| chrono::Offset::fix(&Utc))
    }

    fn app_now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.now, 0).unwrap_or_default()
    }

    pub(super) fn open_snooze_picker(&mut self) -> Vec<Effect> {
        let ids = self.targets();
        if ids.is_empty() {
            self.status = Some("select a message to snooze".into());
            return Vec::new();
        }
        let items: Vec<String> = choices(self.app_now(), &self.zone())
            .into_iter()
            .map(|(label, _)| label)
            .collect();
        self.mode = Mode::Picker(Picker {
            title: "Snooze until (or type a time)".into(),
            purpose: PickerPurpose::Snooze { ids },
            matches: (0..items.len()).collect(),
            items,
            input: LineInput::default(),
            cursor: 0,
        });
        Vec::new()
    }

    /// Enter in the snooze picker: a typed time wins over the highlighted choice.
    pub(super) fn pick_snooze(&mut self, p: Picker, ids: Vec<i64>) -> Vec<Effect> {
        let now = self.app_now();
        let typed = p.input.trim();
        let until = if typed.is_empty() {
            None
        } else {
            crate::clock::parse_time_in(typed, now, &self.zone()).ok()
        };
        let until = match until {
            Some(t) => t,
            None => match p.matches.get(p.cursor) {
                Some(&i) => match choices(now, &self.zone()).get(i) {
                    Some((_, t)) => *t,
                    None => return Vec::new(),
                },
                None => {
                    self.status = Some(format!(
                        "{typed:?} is not a time: try \"tomorrow 14:00\", \"2026-12-11 09:00\" or \"in 3h\""
                    ));
                    self.mode = Mode::Picker(p);
                    return Vec::new();
                }
            },
        };
        if until <= now {
            self.status = Some("that time has passed: snooze needs a time ahead".into());
            self.mode = Mode::Picker(p);
            return Vec::new();
        }
        let shown = until.with_timezone(&self.zone()).format("%a %d %b %H:%M");
        let wanted: std::collections::HashSet<i64> = ids.iter().copied().collect();
        self.list.unfold_partial(&wanted);
        self.list.rows.retain(|r| !wanted.contains(&r.msg.id));
        self.list.marked.clear();
        self.list.cursor = self.list.cursor.min(self.list.rows.len().saturating_sub(1));
        if self.reader.as_ref().is_some_and(|r| wanted.contains(&r.id)) {
            self.reader = None;
        }
        self.status = Some(format!("snoozing until {shown}…"));
        vec![Effect::Snooze {
            ids,
            until: until.timestamp(),
        }]
    }

    /// The runtime's answer: what was snoozed, or why not (the list reloads either way).
    pub(super) fn on_snoozed(&mut self, result: Result<String, String>) -> Vec<Effect> {
        match result {
            Ok(done) => self.status = Some(done),
            Err(e) => self.last_error = Some(e),
        }
        // The Snoozed folder may be new, and its count changed.
        let mut fx = vec![Effect::LoadFolders];
        fx.extend(self.reload(false));
        fx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::action::Action;
    use crate::app::input::InputKey;
    use crate::app::msg::Msg;
    use crate::app::view::Row;

    fn app_with_rows() -> App {
        let mut app = App::new(false);
        app.now = 1_796_040_000; // 2026-11-30 12:00 UTC
        app.list.current = Some(("w".into(), "INBOX".into()));
        app.list.generation = 1;
        app.update(Msg::MessagesLoaded {
            generation: 1,
            rows: Ok(vec![
                Row::new(crate::app::view::test_summary(1, 1, "a")),
                Row::new(crate::app::view::test_summary(2, 2, "b")),
            ]),
            complete: true,
        });
        app
    }

    #[test]
    fn z_offers_the_choices_and_a_typed_time_snoozes_the_selected_message() {
        let mut app = app_with_rows();
        app.update(Msg::Action(Action::Snooze));
        let Mode::Picker(p) = &app.mode else {
            panic!("a picker: {:?}", app.mode);
        };
        assert_eq!(p.items.len(), 3, "{:?}", p.items);
        for c in "in 2h".chars() {
            app.update(Msg::Input(InputKey::Char(c)));
        }
        let fx = app.update(Msg::Input(InputKey::Enter));
        let [Effect::Snooze { ids, until }] = fx.as_slice() else {
            panic!("{fx:?}");
        };
        assert_eq!((ids.as_slice(), *until), (&[1][..], app.now + 7200));
        assert_eq!(app.list.rows.len(), 1, "the row leaves the list at once");
    }

    #[test]
    fn text_that_is_no_time_keeps_the_picker_open_and_says_why() {
        let mut app = app_with_rows();
        app.update(Msg::Action(Action::Snooze));
        for c in "soonish".chars() {
            app.update(Msg::Input(InputKey::Char(c)));
        }
        assert!(app.update(Msg::Input(InputKey::Enter)).is_empty());
        assert!(matches!(app.mode, Mode::Picker(_)));
        assert!(app.status.as_deref().unwrap_or("").contains("not a time"));
        assert_eq!(app.list.rows.len(), 2);
    }

    #[test]
    fn the_choices_are_later_today_tomorrow_morning_and_next_monday() {
        let zone = FixedOffset::east_opt(3600).unwrap();
        // Monday 2026-12-07 10:20 local.
        let now = DateTime::parse_from_rfc3339("2026-12-07T09:20:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = choices(now, &zone);
        let labels: Vec<&str> = c.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Later today (Mon 07 Dec 13:00)",
                "Tomorrow morning (Tue 08 Dec 08:00)",
                "Next week (Mon 14 Dec 08:00)"
            ]
        );
        // At 22:00 there is no "later today".
        let late = DateTime::parse_from_rfc3339("2026-12-07T21:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(choices(late, &zone).len(), 2);
    }
}
