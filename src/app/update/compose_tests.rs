//! The composer's focus order and its Esc: typing always lands in a field, and leaving asks only
//! when something would be lost.

use crate::app::action::Action;
use crate::app::compose::{ComposeEffect, ComposeMsg, ComposeOpen, Field, Prompt};
use crate::app::input::InputKey;
use crate::app::msg::{Effect, Msg};
use crate::app::state::App;
use crate::app::view::{ComposeKind, Row};

fn app_with_composer(kind: ComposeKind, resumed: bool) -> App {
    let mut app = App::new(false);
    app.list.current = Some(("w".into(), "INBOX".into()));
    app.list.generation = 1;
    app.update(Msg::MessagesLoaded {
        generation: 1,
        rows: Ok((1..=2)
            .map(|id| Row::new(crate::app::view::test_summary(id, id, "m")))
            .collect()),
        complete: true,
    });
    let sender = crate::mail::compose::Sender {
        account: "w".into(),
        from: crate::mail::compose::Mailbox::new(Some("Me"), "me@x.test"),
        signature: None,
    };
    let mut draft = crate::mail::compose::Draft::new(&sender);
    if resumed {
        draft.subject = "written yesterday".into();
    }
    app.update(Msg::Compose(ComposeMsg::Ready(Ok(Box::new(ComposeOpen {
        kind,
        draft,
        accounts: vec![("w".into(), sender.from.clone())],
        resumed,
        tracking: Default::default(),
        remind: None,
    })))));
    app
}

fn typed(app: &mut App, text: &str) {
    for ch in text.chars() {
        app.update(Msg::Input(InputKey::Char(ch)));
    }
}

#[test]
fn tab_goes_to_cc_bcc_subject_then_body_and_typing_is_never_dropped() {
    let mut app = app_with_composer(ComposeKind::New, false);
    let focus = |app: &App| app.compose.as_ref().map(|c| c.focus);
    assert_eq!(focus(&app), Some(Field::To));
    let mut seen = Vec::new();
    for _ in 0..5 {
        app.update(Msg::Action(Action::NextPane));
        seen.push(focus(&app).unwrap());
    }
    assert_eq!(
        seen,
        [
            Field::Cc,
            Field::Bcc,
            Field::Subject,
            Field::Body,
            Field::To
        ],
        "with one account From is not a stop"
    );
    for _ in 0..3 {
        app.update(Msg::Action(Action::NextPane));
    }
    typed(&mut app, "Hi");
    app.update(Msg::Action(Action::NextPane));
    assert_eq!(focus(&app), Some(Field::Body), "Subject → Body");
    let c = app.compose.as_ref().unwrap();
    assert_eq!(c.draft.subject, "Hi");
}

#[test]
fn esc_on_an_unchanged_reply_or_resumed_draft_leaves_without_asking() {
    let mut app = app_with_composer(ComposeKind::Reply, false);
    let fx = app.update(Msg::Action(Action::Back));
    assert!(
        app.compose.is_none(),
        "an unchanged reply has nothing to lose"
    );
    assert!(matches!(
        fx.as_slice(),
        [Effect::Compose(ComposeEffect::DiscardDraft { .. })]
    ));

    let mut app = app_with_composer(ComposeKind::New, true);
    let fx = app.update(Msg::Action(Action::Back));
    assert!(
        app.compose.is_none(),
        "an unchanged resumed draft loses nothing either: no s/d/c question"
    );
    assert!(fx.is_empty(), "and it stays saved: {fx:?}");
}

#[test]
fn a_key_answering_the_leave_prompt_never_reaches_the_list() {
    let mut app = app_with_composer(ComposeKind::New, true);
    typed(&mut app, "!");
    app.update(Msg::Action(Action::Back));
    assert_eq!(
        app.compose.as_ref().and_then(|c| c.prompt.clone()),
        Some(Prompt::Leave),
        "a changed resumed draft asks"
    );
    // Keys that mean something in the list are answers (or nothing) here.
    for msg in [
        Msg::Input(InputKey::Char('a')),
        Msg::Action(Action::Delete),
        Msg::Action(Action::Archive),
    ] {
        let fx = app.update(msg);
        assert!(fx.is_empty(), "{fx:?}");
    }
    let fx = app.update(Msg::Input(InputKey::Char('d')));
    assert!(matches!(
        fx.as_slice(),
        [Effect::Compose(ComposeEffect::DiscardDraft { .. })]
    ));
    assert_eq!(app.list.rows.len(), 2, "nothing left the list");
    assert!(app.triage.undo.is_empty());
}

fn prompt(app: &App) -> Option<Prompt> {
    app.compose.as_ref().and_then(|c| c.prompt.clone())
}

fn queued(fx: &[Effect]) -> bool {
    matches!(fx, [Effect::Compose(ComposeEffect::QueueDraft { .. })])
}

#[test]
fn sending_without_a_subject_or_text_asks_first_and_the_answer_is_not_typed() {
    use crate::app::compose::SendCheck;
    let mut app = app_with_composer(ComposeKind::New, false);
    typed(&mut app, "sam@globex.test");
    assert!(app.update(Msg::Action(Action::Send)).is_empty());
    assert_eq!(prompt(&app), Some(Prompt::SendAnyway(SendCheck::NoSubject)));
    // Other keys leave the question open; none of them is typed anywhere.
    app.update(Msg::Input(InputKey::Char('x')));
    assert_eq!(prompt(&app), Some(Prompt::SendAnyway(SendCheck::NoSubject)));
    // n: back to writing, in the Subject field.
    assert!(app.update(Msg::Input(InputKey::Char('n'))).is_empty());
    let c = app.compose.as_ref().unwrap();
    assert_eq!((c.prompt.clone(), c.focus), (None, Field::Subject));
    assert_eq!(c.to, "sam@globex.test");
    assert_eq!(c.draft.subject, "");
    // y to the subject question, then the empty body is asked about.
    app.update(Msg::Action(Action::Send));
    assert!(app.update(Msg::Input(InputKey::Char('y'))).is_empty());
    assert_eq!(prompt(&app), Some(Prompt::SendAnyway(SendCheck::NoBody)));
    assert!(queued(&app.update(Msg::Input(InputKey::Char('y')))));
    let c = app.compose.as_ref().unwrap();
    assert_eq!((c.draft.subject.as_str(), c.draft.body.as_str()), ("", ""));
}

#[test]
fn a_mail_with_a_subject_and_text_or_an_attachment_goes_without_asking() {
    let mut app = app_with_composer(ComposeKind::New, false);
    typed(&mut app, "sam@globex.test");
    app.compose.as_mut().unwrap().draft.subject = "Numbers".into();
    // A signature alone is no text.
    app.compose.as_mut().unwrap().draft.body = "\n-- \nMe\n".into();
    app.update(Msg::Action(Action::Send));
    assert!(matches!(prompt(&app), Some(Prompt::SendAnyway(_))));
    app.update(Msg::Input(InputKey::Esc));
    assert_eq!(app.compose.as_ref().unwrap().focus, Field::Body);
    app.compose
        .as_mut()
        .unwrap()
        .draft
        .attachments
        .push(crate::mail::compose::Attachment {
            filename: "q3.pdf".into(),
            content_type: "application/pdf".into(),
            data: vec![1, 2, 3],
        });
    assert!(queued(&app.update(Msg::Action(Action::Send))));
}

#[test]
fn a_header_field_is_edited_where_its_cursor_is() {
    let mut app = app_with_composer(ComposeKind::New, false);
    for _ in 0..3 {
        app.update(Msg::Action(Action::NextPane));
    }
    typed(&mut app, "Lunch Thursday");
    for k in [InputKey::WordLeft, InputKey::Left] {
        app.update(Msg::Input(k));
    }
    typed(&mut app, " on");
    app.update(Msg::Input(InputKey::Home));
    app.update(Msg::Input(InputKey::DeleteWordForward));
    typed(&mut app, "Dinner");
    let c = app.compose.as_ref().unwrap();
    assert_eq!(c.draft.subject, "Dinner on Thursday");
    assert_eq!(c.field_line().unwrap().cursor(), "Dinner".len());
}

#[test]
fn completion_replaces_the_address_under_the_cursor_and_keeps_the_others() {
    let mut app = app_with_composer(ComposeKind::New, false);
    typed(&mut app, "ana, sam@y.test");
    // Back into the first address, after "ana": only that address is asked about.
    app.update(Msg::Input(InputKey::Home));
    for _ in 0..3 {
        app.update(Msg::Input(InputKey::Right));
    }
    let fx = app.update(Msg::Input(InputKey::Char('n')));
    assert!(
        matches!(fx.as_slice(), [Effect::Compose(ComposeEffect::Suggest { prefix })] if prefix == "anan"),
        "{fx:?}"
    );
    // Moving the cursor asks for nothing.
    assert!(app.update(Msg::Input(InputKey::Left)).is_empty());
    app.update(Msg::Input(InputKey::Right));
    app.update(Msg::Compose(ComposeMsg::Suggestions {
        prefix: "anan".into(),
        list: vec!["Ananda Rao <ananda@x.test>".into()],
    }));
    app.update(Msg::Action(Action::NextPane));
    let c = app.compose.as_ref().unwrap();
    assert_eq!(c.focus, Field::To, "Tab took the suggestion and stayed");
    assert_eq!(c.to, "Ananda Rao <ananda@x.test>, sam@y.test");
    assert_eq!(
        &c.to[..c.field_line().unwrap().cursor()],
        "Ananda Rao <ananda@x.test>"
    );
}

fn autosaved(fx: &[Effect]) -> crate::mail::compose::Draft {
    match fx {
        [Effect::Compose(ComposeEffect::Autosave { draft, .. }), ..] => (**draft).clone(),
        _ => panic!("no autosave in {fx:?}"),
    }
}

#[test]
fn a_saved_draft_keeps_recipients_that_do_not_parse_as_typed() {
    use crate::mail::compose::AddressField;
    let typed_to = "Dana Lee <dana.lee@acme.test>, one@x.test two@y.test";
    let mut app = app_with_composer(ComposeKind::New, false);
    typed(&mut app, typed_to);
    app.update(Msg::Action(Action::NextPane));
    typed(&mut app, "Marcs Chen");
    let saved = autosaved(&app.update(Msg::Action(Action::SaveDraft)));
    assert_eq!(saved.address_text(AddressField::To), typed_to);
    assert_eq!(saved.address_text(AddressField::Cc), "Marcs Chen");
    assert_eq!(
        saved.to[0].email, "dana.lee@acme.test",
        "what parses is kept"
    );
    // A crash-autosave (the clock, not a key) keeps it the same way.
    app.update(Msg::Input(InputKey::Backspace));
    let later = app.now + 60;
    let ticked = autosaved(&app.update(Msg::Tick(later)));
    assert_eq!(ticked.address_text(AddressField::Cc), "Marcs Che");
    // Reopened, the fields show the text as it was typed; sending still refuses it.
    let mut back = app_with_composer(ComposeKind::New, true);
    back.update(Msg::Compose(ComposeMsg::Ready(Ok(Box::new(ComposeOpen {
        kind: ComposeKind::New,
        draft: ticked,
        accounts: Vec::new(),
        resumed: true,
        tracking: Default::default(),
        remind: None,
    })))));
    let c = back.compose.as_ref().unwrap();
    assert_eq!((c.to.as_str(), c.cc.as_str()), (typed_to, "Marcs Che"));
    assert!(!c.changed(), "reopened as saved");
    assert!(c.for_sending().unwrap_err().contains("To:"));
}

#[test]
fn esc_right_after_saving_leaves_without_asking_and_keeps_the_draft() {
    let mut app = app_with_composer(ComposeKind::New, false);
    typed(&mut app, "dan");
    for _ in 0..4 {
        app.update(Msg::Action(Action::NextPane));
    }
    app.update(Msg::Compose(ComposeMsg::Body("Hello".into())));
    app.update(Msg::Action(Action::SaveDraft));
    let fx = app.update(Msg::Action(Action::Back));
    assert!(app.compose.is_none(), "nothing to lose: it was just saved");
    assert!(fx.is_empty(), "and it is not discarded: {fx:?}");
    // A change after the save asks again.
    let mut app = app_with_composer(ComposeKind::New, false);
    typed(&mut app, "dan");
    app.update(Msg::Action(Action::SaveDraft));
    typed(&mut app, "a");
    app.update(Msg::Action(Action::Back));
    assert_eq!(prompt(&app), Some(Prompt::Leave));
}

#[test]
fn completion_before_an_address_keeps_it_and_separates_them() {
    let list = "Dana Lee <dana.lee@acme.test>, Priya Natarajan <priya@acme.test>,";
    // (cursor after "Dana Lee <dana.lee@acme.test>, ", typed, suggestion, what To: becomes)
    let cases = [
        (
            31,
            "mar",
            "Marcus Chen <marcus@acme.test>",
            "Dana Lee <dana.lee@acme.test>, Marcus Chen <marcus@acme.test>, Priya Natarajan <priya@acme.test>,",
        ),
        (
            0,
            "sam",
            "Sam Rivera <sam.rivera@example.org>",
            "Sam Rivera <sam.rivera@example.org>, Dana Lee <dana.lee@acme.test>, Priya Natarajan <priya@acme.test>,",
        ),
    ];
    for (right, prefix, choice, want) in cases {
        let mut app = app_with_composer(ComposeKind::New, false);
        typed(&mut app, list);
        app.update(Msg::Input(InputKey::Home));
        for _ in 0..right {
            app.update(Msg::Input(InputKey::Right));
        }
        typed(&mut app, prefix);
        app.update(Msg::Compose(ComposeMsg::Suggestions {
            prefix: prefix.into(),
            list: vec![choice.into()],
        }));
        app.update(Msg::Action(Action::NextPane));
        let c = app.compose.as_ref().unwrap();
        assert_eq!(c.to, want);
        let cursor = c.field_line().unwrap().cursor();
        assert!(c.to[..cursor].ends_with(choice), "{}", &c.to[..cursor]);
    }
}
