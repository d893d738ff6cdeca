//! The tracked mail of `tidings demo`: some of the demo user's Sent mail is registered with the
//! embedded tracker as a tracked send registers it (per-recipient copies from
//! [`rewrite_for_recipient`], `POST /api/v1/messages`, the client's `tracked_messages` rows), and
//! a script of recipients' opens and clicks is played against the tracker's real pixel and link
//! URLs over HTTP, with real user agents. The events reach the store only through the tracker and
//! the poller, like anyone's: the tracker classifies them (human, Gmail's proxy, Apple's privacy
//! prefetch, a link scanner) and the poller notifies.

use super::mailbox::SentMail;
use super::people::{DANA, HANK, LENA, MARCUS, PETER, PRIYA, SAM};
use crate::store::{Store, StoreError, TrackedMessageRecord, TrackedRecipient};
use crate::tracking::client::api::{ApiError, TrackerClient, DEFAULT_TIMEOUT};
use crate::tracking::client::rewrite::{rewrite_for_recipient, RewriteOptions, TrackedLink};
use crate::tracking::wire::Registration;
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum DemoSeedError {
    #[error("demo tracking: {0}")]
    Api(#[from] ApiError),
    #[error("demo tracking: {0}")]
    Store(#[from] StoreError),
    #[error("demo tracking: {0}")]
    Hit(String),
}

/// What a scripted recipient does with their copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// Loads the pixel.
    Open,
    /// Follows the copy's n-th link.
    Click(usize),
    /// Follows every link of the copy at once, as a mail security gateway does.
    ClickEveryLink,
}

/// One scripted request: who, on which mail, doing what, as which client from which address.
#[derive(Debug, Clone, Copy)]
pub struct ScriptedHit {
    /// Seconds after the demo starts; 0 plays before the inbox shows.
    pub after_seconds: u64,
    pub message_id: &'static str,
    pub recipient: &'static str,
    pub act: Act,
    pub user_agent: &'static str,
    /// The client's address, given to the tracker in X-Forwarded-For.
    pub from: &'static str,
}

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const THUNDERBIRD: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0";
const FIREFOX: &str =
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const IPHONE_MAIL: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148";
const OUTLOOK: &str = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)";
/// Gmail fetches images through its proxy with this agent.
const GMAIL_PROXY: &str =
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
/// Apple Mail Privacy Protection prefetches with exactly this agent, from Apple's 17.0.0.0/8.
const APPLE_PREFETCH: &str = "Mozilla/5.0";

/// The demo's story, in order. Addresses are documentation ranges (RFC 5737) except where the
/// classification depends on whose network it is (Apple's, Google's).
pub const SCRIPT: &[ScriptedHit] = &[
    ScriptedHit {
        after_seconds: 0,
        message_id: "<thread0.1@initech.test>",
        recipient: DANA.email,
        act: Act::Open,
        user_agent: CHROME,
        from: "198.51.100.23",
    },
    ScriptedHit {
        after_seconds: 0,
        message_id: "<thread1.1@initech.test>",
        recipient: HANK.email,
        act: Act::Open,
        user_agent: GMAIL_PROXY,
        from: "66.249.84.17",
    },
    ScriptedHit {
        after_seconds: 0,
        message_id: "<thread2.1@initech.test>",
        recipient: PRIYA.email,
        act: Act::Open,
        user_agent: APPLE_PREFETCH,
        from: "17.58.101.9",
    },
    ScriptedHit {
        after_seconds: 0,
        message_id: "<thread8.2@initech.test>",
        recipient: PETER.email,
        act: Act::ClickEveryLink,
        user_agent: CHROME,
        from: "203.0.113.40",
    },
    ScriptedHit {
        after_seconds: 8,
        message_id: "<thread4.1@initech.test>",
        recipient: SAM.email,
        act: Act::Open,
        user_agent: IPHONE_MAIL,
        from: "198.51.100.77",
    },
    ScriptedHit {
        after_seconds: 20,
        message_id: "<thread0.1@initech.test>",
        recipient: DANA.email,
        act: Act::Open,
        user_agent: THUNDERBIRD,
        from: "198.51.100.23",
    },
    ScriptedHit {
        after_seconds: 35,
        message_id: "<thread0.1@initech.test>",
        recipient: MARCUS.email,
        act: Act::Click(0),
        user_agent: FIREFOX,
        from: "198.51.100.31",
    },
    ScriptedHit {
        after_seconds: 50,
        message_id: "<thread1.1@initech.test>",
        recipient: LENA.email,
        act: Act::Open,
        user_agent: OUTLOOK,
        from: "192.0.2.61",
    },
];

/// One recipient's registered copy: its pixel token and link tokens.
#[derive(Debug, Clone)]
struct RegisteredCopy {
    message_id: String,
    address: String,
    token: String,
    links: Vec<TrackedLink>,
}

/// The demo's tracked mail, registered with the tracker, and the script still to play.
#[derive(Debug)]
pub struct DemoTracking {
    base_url: String,
    copies: Vec<RegisteredCopy>,
    started: Instant,
}

/// Registers `sent` (each recipient's copy with its own tokens, `sent_at` = the mail's date) with
/// the tracker at `base_url` and records the tracked mail in `store` under `account`, as a
/// tracked send does.
pub fn register(
    store: &mut Store,
    account: &str,
    base_url: &str,
    api_token: &str,
    sent: &[SentMail],
) -> Result<DemoTracking, DemoSeedError> {
    let client = TrackerClient::new(base_url, api_token, DEFAULT_TIMEOUT)?;
    let opts = RewriteOptions {
        base_url,
        track_opens: true,
        track_links: true,
        opt_out_link: false,
        unsubscribe_urls: &[],
        excluded_urls: &[],
    };
    let mut copies = Vec::new();
    for mail in sent {
        let mut registration = Registration {
            message_id: mail.message_id.clone(),
            sent_at: chrono::DateTime::from_timestamp(mail.date, 0).unwrap_or_default(),
            recipients: Vec::new(),
        };
        let mut urls = Vec::new();
        for person in &mail.recipients {
            let copy = rewrite_for_recipient(None, Some(&mail.body), &opts);
            registration
                .recipients
                .push(copy.registration(person.email));
            urls.push((
                person.email.to_string(),
                crate::tracking::client::send::copy_urls(
                    base_url,
                    copy.pixel_url.clone(),
                    None,
                    &copy.links,
                ),
            ));
            copies.push(RegisteredCopy {
                message_id: mail.message_id.clone(),
                address: person.email.to_string(),
                token: copy.recipient_token,
                links: copy.links,
            });
        }
        block_on(client.register_message(&registration))??;
        store.record_tracked_message(&TrackedMessageRecord {
            account: account.to_string(),
            message_id: mail.message_id.clone(),
            subject: mail.subject.clone(),
            sent_at: mail.date,
            track_opens: true,
            track_links: true,
            recipients: mail
                .recipients
                .iter()
                .map(|p| TrackedRecipient {
                    address: p.email.to_string(),
                    name: p.name.to_string(),
                })
                .collect(),
        })?;
        store.record_tracked_copy_urls(account, &mail.message_id, &urls)?;
    }
    Ok(DemoTracking {
        base_url: base_url.trim_end_matches('/').to_string(),
        copies,
        started: Instant::now(),
    })
}

/// Plays scripted hits in the background at their times; stops (dropping the rest) when dropped.
pub struct LiveHits {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for LiveHits {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl DemoTracking {
    /// Plays `hits` now, in order, whatever their time.
    pub fn play_now(&self, hits: &[ScriptedHit]) -> Result<(), DemoSeedError> {
        let http = http_client()?;
        block_on(async {
            for hit in hits {
                self.play(&http, hit).await?;
            }
            Ok(())
        })?
    }

    /// Plays the hits due at start now and the others in the background, each at its time after
    /// [`register`]. A failed later hit is logged: the demo goes on without it.
    pub fn play_live(self, hits: &[ScriptedHit]) -> Result<LiveHits, DemoSeedError> {
        let (now, later): (Vec<ScriptedHit>, Vec<ScriptedHit>) =
            hits.iter().partition(|h| h.after_seconds == 0);
        self.play_now(&now)?;
        let http = http_client()?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let mut later = later;
            later.sort_by_key(|h| h.after_seconds);
            for hit in later {
                let due = self.started + Duration::from_secs(hit.after_seconds);
                let wait = due.saturating_duration_since(Instant::now());
                match stopped.recv_timeout(wait) {
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
                match block_on(self.play(&http, &hit)) {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) | Err(e) => tracing::warn!("{e}"),
                }
            }
        });
        Ok(LiveHits {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    fn copy(&self, hit: &ScriptedHit) -> Result<&RegisteredCopy, DemoSeedError> {
        self.copies
            .iter()
            .find(|c| c.message_id == hit.message_id && c.address == hit.recipient)
            .ok_or_else(|| {
                DemoSeedError::Hit(format!(
                    "no tracked copy of {} for {}",
                    hit.message_id, hit.recipient
                ))
            })
    }

    async fn play(&self, http: &reqwest::Client, hit: &ScriptedHit) -> Result<(), DemoSeedError> {
        let copy = self.copy(hit)?;
        let link = |n: usize| {
            copy.links.get(n).ok_or_else(|| {
                DemoSeedError::Hit(format!("{}'s copy has no link {n}", hit.recipient))
            })
        };
        let paths: Vec<String> = match hit.act {
            Act::Open => vec![format!("p/{}.gif", copy.token)],
            Act::Click(n) => vec![format!("l/{}", link(n)?.token)],
            Act::ClickEveryLink => copy
                .links
                .iter()
                .map(|l| format!("l/{}", l.token))
                .collect(),
        };
        for path in paths {
            let url = format!("{}/{path}", self.base_url);
            let response = http
                .get(&url)
                .header(reqwest::header::USER_AGENT, hit.user_agent)
                .header("X-Forwarded-For", hit.from)
                .send()
                .await
                .map_err(|e| DemoSeedError::Hit(e.without_url().to_string()))?;
            let status = response.status();
            if !(status.is_success() || status.is_redirection()) {
                return Err(DemoSeedError::Hit(format!(
                    "the tracker answered {status} to a scripted {:?}",
                    hit.act
                )));
            }
        }
        Ok(())
    }
}

/// Never follows the link's redirect: the demo's link targets do not exist.
fn http_client() -> Result<reqwest::Client, DemoSeedError> {
    reqwest::Client::builder()
        .timeout(DEFAULT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| DemoSeedError::Hit(e.to_string()))
}

/// Runs `fut` on a runtime of its own, on its own thread, so callers inside or outside a tokio
/// runtime can use it.
fn block_on<F: std::future::Future + Send>(fut: F) -> Result<F::Output, DemoSeedError>
where
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|rt| rt.block_on(fut))
                .map_err(|e| DemoSeedError::Hit(e.to_string()))
        })
        .join()
        .unwrap_or_else(|_| Err(DemoSeedError::Hit("the request thread panicked".into())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::mailbox::{seed, TRACKED_SENT};

    #[test]
    fn every_scripted_hit_names_a_tracked_demo_mail_and_one_of_its_recipients() {
        let store = Store::open_in_memory().unwrap();
        let summary = seed(&store, 1_788_256_800).unwrap();
        assert_eq!(summary.tracked_sent.len(), TRACKED_SENT.len());
        for hit in SCRIPT {
            let mail = summary
                .tracked_sent
                .iter()
                .find(|m| m.message_id == hit.message_id)
                .unwrap_or_else(|| panic!("{} is not tracked", hit.message_id));
            assert!(
                mail.recipients.iter().any(|p| p.email == hit.recipient),
                "{} is not a recipient of {}",
                hit.recipient,
                hit.message_id
            );
        }
    }
}
