//! The user's intents, independent of which key produced them. The keymap (in `ui`) maps keys to
//! these; config `[keys]` names them by [`Action::name`].

macro_rules! actions {
    ($($variant:ident => $name:literal, $help:literal;)*) => {
        /// Everything a key can ask the app to do.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $($variant),* }

        impl Action {
            /// Every action, in the order the help screen lists them.
            pub const ALL: &'static [Action] = &[$(Action::$variant),*];

            /// The name used in config `[keys]`.
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name),* }
            }

            /// One line for the help screen.
            pub fn help(self) -> &'static str {
                match self { $(Action::$variant => $help),* }
            }

            pub fn from_name(name: &str) -> Option<Action> {
                match name { $($name => Some(Action::$variant),)* _ => None }
            }
        }
    };
}

actions! {
    Down => "down", "Next message / line";
    Up => "up", "Previous message / line";
    Top => "top", "First message";
    Bottom => "bottom", "Last message";
    PageDown => "page_down", "One page down";
    PageUp => "page_up", "One page up";
    Open => "open", "Open the message or folder";
    Back => "back", "Back (close reader, leave search); never quits";
    BackOrQuit => "back_or_quit", "Back like Esc; quit from the list";
    Quit => "quit", "Quit";
    NextPane => "next_pane", "Focus the next pane";
    PrevPane => "prev_pane", "Focus the previous pane";
    Archive => "archive", "Archive";
    Delete => "delete", "Delete (to Trash); in the Outbox: cancel, back to the drafts";
    ToggleFlag => "flag", "Flag / unflag";
    ToggleRead => "toggle_read", "Mark read / unread";
    Move => "move", "Move to a folder (fuzzy picker)";
    Select => "select", "Select / unselect for a bulk action; reader: page down";
    Undo => "undo", "Undo the last triage action";
    Compose => "compose", "Write a new message";
    Reply => "reply", "Reply";
    ReplyAll => "reply_all", "Reply to all";
    Forward => "forward", "Forward";
    Search => "search", "Search (full text, results as you type)";
    CommandLine => "command_line", "Command line (:archive, :move FOLDER, :theme NAME …)";
    NextMessage => "next_message", "Next message / search result";
    PrevMessage => "prev_message", "Previous message / search result";
    NextUnread => "next_unread", "Next unread message (opened if the reader is open)";
    SaveAttachment => "save_attachment", "Reader: save an attachment";
    OpenAttachment => "open_attachment", "Reader: open an attachment (xdg-open)";
    Links => "links", "Reader: list the message's links (Enter opens, C-y copies)";
    CopyLink => "copy_link", "Links list: copy the selected link";
    FilterAll => "filter_all", "Show all messages";
    FilterUnread => "filter_unread", "Show unread messages";
    FilterFlagged => "filter_flagged", "Show flagged messages";
    FilterTracked => "filter_tracked", "Show tracked sent mail";
    FilterFollowUp => "filter_follow_up", "Follow up: sent mail with a reminder, due first";
    FollowUpSnooze => "follow_up_snooze", "Follow up: snooze the reminder (+1 day, +3 days, a date)";
    FollowUpDone => "follow_up_done", "Follow up: done with the reminder";
    ToggleThreads => "toggle_threads", "Conversation (thread) view on / off";
    CollapseThread => "collapse_thread", "Threads: collapse / expand the conversation (mutt Esc-v)";
    CollapseAll => "collapse_all", "Threads: collapse / expand every conversation";
    Send => "send", "Composer: send (queue in the outbox and deliver)";
    EditExternal => "edit_external", "Composer: edit the body in $VISUAL / $EDITOR";
    Attach => "attach", "Composer: attach a file by path (Tab completes)";
    RemoveAttachment => "remove_attachment", "Composer: remove the last attachment";
    ToggleTrackOpens => "track_opens", "Composer: track opens on / off (pixel per recipient)";
    ToggleTrackLinks => "track_links", "Composer: track links on / off (redirect per recipient)";
    ToggleRemind => "remind", "Composer: remind me if no reply in N days (1 … 14, off)";
    SaveDraft => "save_draft", "Composer: save the draft (here and in the server's Drafts)";
    SendLater => "send_later", "Composer: send at a chosen time (asks for it)";
    InsertTemplate => "template", "Composer: insert a template (fuzzy picker)";
    DiscardDraft => "discard_draft", "Composer: leave asking save / discard, even unchanged";
    ResumeDraft => "resume_draft", "Resume the last saved draft (in Drafts: the selected one)";
    Outbox => "outbox", "Outbox: mail waiting or refused (j/k, retry, edit, q closes)";
    RetrySend => "retry_send", "Outbox: retry the selected mail now (unconfirmed: asks)";
    OutboxEdit => "outbox_edit", "Outbox: edit a queued or refused mail in the composer";
    OutboxConfirm => "outbox_confirm", "Outbox: did an unconfirmed mail arrive? (asks: sent / not)";
    OutboxUntrack => "outbox_untrack", "Outbox: send a tracked mail WITHOUT tracking (asks)";
    ContactInfo => "contact", "Contact pane of the sender (or first recipient)";
    Contacts => "contacts", "Contacts list (Enter opens a contact)";
    Organization => "organization", "Contact pane: open the contact's organization";
    SmartDataSearch => "smart_data_search", "Contact/organization: Smart data search (Superdata)";
    RefreshData => "refresh_data", "Contact/organization: refresh Superdata";
    TrackingPreference => "tracking_preference", "Contact: tracking preference allow / never / unset";
    ForgetContact => "forget_contact", "Contact: forget everything stored about them (asks y/n)";
    Activity => "activity", "Activity: recent opens and clicks; Enter jumps to the mail";
    Snooze => "snooze", "Snooze until later today, tomorrow, next week or a time";
    MarkAllRead => "mark_all_read", "Mark every listed message read (undo with z)";
    Sort => "sort", "Sort by date, from, subject or size (twice: reversed)";
    SelectPattern => "select_pattern", "Select the listed messages matching a search (from:…)";
    AllHeaders => "all_headers", "Reader: every header of the message on / off";
    ReaderFullscreen => "reader_fullscreen", "Reader full screen on / off";
    ShrinkList => "shrink_list", "Narrower list, wider reader";
    GrowList => "grow_list", "Wider list, narrower reader";
    ToggleMouse => "toggle_mouse", "Mouse on / off (off: the terminal selects text)";
    MessageLog => "message_log", "Messages and errors shown in the status bar, newest last";
    Help => "help", "This help";
}

/// The default bindings, in the spelling config `[keys]` uses.
pub fn default_bindings() -> Vec<(Action, &'static [&'static str])> {
    use Action::*;
    vec![
        (Down, &["j", "Down"]),
        (Up, &["k", "Up"]),
        (Top, &["g", "Home"]),
        (Bottom, &["G", "End"]),
        (PageDown, &["PageDown", "C-d"]),
        (PageUp, &["PageUp", "C-u"]),
        (Open, &["Enter", "l", "Right"]),
        (Back, &["Esc", "h", "Left"]),
        (BackOrQuit, &["q"]),
        (Quit, &["C-c"]),
        (NextPane, &["Tab"]),
        (PrevPane, &["BackTab"]),
        (Archive, &["a"]),
        (Delete, &["d"]),
        (ToggleFlag, &["!"]),
        (ToggleRead, &["u"]),
        (Move, &["m"]),
        (Select, &["v", "Space"]),
        (Undo, &["z"]),
        (Compose, &["c"]),
        (Reply, &["r"]),
        (ReplyAll, &["R"]),
        (Forward, &["f"]),
        (Search, &["/"]),
        (CommandLine, &[":"]),
        (NextMessage, &["n"]),
        (PrevMessage, &["p", "N"]),
        (NextUnread, &["]"]),
        (SaveAttachment, &["s"]),
        (OpenAttachment, &["o"]),
        (Links, &["L"]),
        (CopyLink, &["C-y"]),
        (FilterAll, &["1"]),
        (FilterUnread, &["2"]),
        (FilterFlagged, &["3"]),
        (FilterTracked, &["4"]),
        (FilterFollowUp, &["5"]),
        (FollowUpSnooze, &["W"]),
        (FollowUpDone, &["x"]),
        (ToggleThreads, &["t"]),
        (CollapseThread, &["-", "M-v"]),
        (CollapseAll, &["+", "M-V"]),
        (Send, &["C-s"]),
        (EditExternal, &["C-e"]),
        (Attach, &["C-t"]),
        (RemoveAttachment, &["C-x"]),
        (ToggleTrackOpens, &["C-o"]),
        (ToggleTrackLinks, &["C-l"]),
        (ToggleRemind, &["C-r"]),
        (SaveDraft, &["M-s"]),
        (SendLater, &["M-l"]),
        (InsertTemplate, &["M-t"]),
        (DiscardDraft, &["M-d"]),
        (ResumeDraft, &["E"]),
        (Outbox, &["w"]),
        (RetrySend, &["y"]),
        (OutboxEdit, &["e"]),
        (OutboxConfirm, &["M"]),
        (OutboxUntrack, &["U"]),
        (ContactInfo, &["i"]),
        (Contacts, &["C"]),
        (Organization, &["O"]),
        (SmartDataSearch, &["S"]),
        (RefreshData, &["D"]),
        (TrackingPreference, &["T"]),
        (ForgetContact, &["X"]),
        (Activity, &["b"]),
        (Snooze, &["Z"]),
        (MarkAllRead, &["A"]),
        (Sort, &["^"]),
        (SelectPattern, &["V"]),
        (AllHeaders, &["H"]),
        (ReaderFullscreen, &["F"]),
        (ShrinkList, &["<"]),
        (GrowList, &[">"]),
        (ToggleMouse, &["M-m"]),
        (MessageLog, &["I"]),
        (Help, &["?"]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_a_default_binding_and_a_round_trip_name() {
        let defaults = default_bindings();
        for a in Action::ALL {
            assert_eq!(Action::from_name(a.name()), Some(*a));
            assert!(
                defaults.iter().any(|(d, _)| d == a),
                "{a:?} has no default key"
            );
        }
    }
}
