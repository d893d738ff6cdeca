//! The timeline in the Tracked filter stays true to the store and to the list beside it.

use crate::app::action::Action;
use crate::app::activity::{ActivityEffect, ActivityMsg};
use crate::app::msg::{Effect, Msg};
use crate::app::state::App;
use crate::app::view::{Pane, Row};

/// The Tracked filter with two tracked mails listed and the first one's timeline open.
fn tracked_with_timeline() -> App {
    let mut app = App::new(false);
    app.list.current = Some(("w".into(), "INBOX".into()));
    app.update(Msg::Action(Action::FilterTracked));
    let generation = app.list.generation;
    app.update(Msg::MessagesLoaded {
        generation,
        rows: Ok((1..=2)
            .map(|id| Row::new(crate::app::view::test_summary(id, id, "sent")))
            .collect()),
        complete: true,
    });
    app.update(Msg::Action(Action::Open));
    assert!(app.tracking.timeline.is_some());
    app
}

fn loads_timeline(fx: &[Effect]) -> bool {
    fx.iter()
        .any(|e| matches!(e, Effect::Activity(ActivityEffect::LoadTimeline { .. })))
}

#[test]
fn another_filter_closes_the_focused_timeline() {
    let mut app = tracked_with_timeline();
    assert_eq!(app.focus, Pane::Reader, "the timeline has the focus");
    app.update(Msg::Action(Action::FilterAll));
    assert!(
        app.tracking.timeline.is_none(),
        "the timeline of a mail no longer listed stays open"
    );
    assert_eq!(app.focus, Pane::List);
}

#[test]
fn back_from_the_mail_reads_its_timeline_again() {
    let mut app = tracked_with_timeline();
    // Enter in the timeline opens the mail itself; a new open arrives meanwhile.
    app.update(Msg::Action(Action::Open));
    assert!(app.reader.is_some() && app.tracking.timeline.is_none());
    app.update(Msg::Activity(ActivityMsg::Polled {
        new_events: 1,
        notifications: 0,
    }));
    let fx = app.update(Msg::Action(Action::Back));
    assert!(
        app.tracking.timeline.is_some(),
        "Back returns to the timeline"
    );
    assert!(
        loads_timeline(&fx),
        "the timeline shown again must be read again: {fx:?}"
    );
}
