//! The vocabulary of tracking events that every layer shares: what happened (open or click), who
//! the tracker thinks did it (a person, a proxy, a machine) and the event record the tracker's API
//! returns and the cache stores. Pure data: no I/O, no rules.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Classification {
    /// A person, as far as we can tell.
    Human,
    /// A real open seen through a caching image proxy: later opens by the same recipient are invisible.
    Proxy,
    /// A machine: privacy prefetch, security scanner, crawler.
    Automated,
}

impl Classification {
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Human => "human",
            Classification::Proxy => "proxy",
            Classification::Automated => "automated",
        }
    }

    pub fn parse(s: &str) -> Option<Classification> {
        match s {
            "human" => Some(Classification::Human),
            "proxy" => Some(Classification::Proxy),
            "automated" => Some(Classification::Automated),
            _ => None,
        }
    }
}

/// How sure the verdict is: `Certain` when the request names what it is (a scanner's agent, a
/// HEAD, the hidden trap link, Apple's network), `Likely` when it rests on timing or habits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Certain,
    /// Also what an event from a tracker that predates confidences is read as.
    #[default]
    Likely,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Certain => "certain",
            Confidence::Likely => "likely",
        }
    }

    pub fn parse(s: &str) -> Option<Confidence> {
        match s {
            "certain" => Some(Confidence::Certain),
            "likely" => Some(Confidence::Likely),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Open,
    Click,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Open => "open",
            EventKind::Click => "click",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        match s {
            "open" => Some(EventKind::Open),
            "click" => Some(EventKind::Click),
            _ => None,
        }
    }
}

/// An event as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub kind: EventKind,
    pub message_id: String,
    pub recipient: String,
    pub url: Option<String>,
    pub at: DateTime<Utc>,
    pub user_agent: String,
    pub ip: Option<String>,
    pub classification: Classification,
    pub reason: String,
    #[serde(default)]
    pub confidence: Confidence,
    /// What fetched it, named for a person: "Outlook on Windows", "Gmail (image proxy)",
    /// "Microsoft Defender Safe Links". Empty when the tracker could not tell.
    #[serde(default)]
    pub client: String,
    /// Earlier events (ids) this one showed to be automated — a sweep over the links, a hit on
    /// the hidden trap link. A client that stored them must change their verdict too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reclassified: Vec<i64>,
}
