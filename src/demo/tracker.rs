//! An in-process tracker on 127.0.0.1 for `tidings demo`: the real server
//! ([`crate::tracking::server`]) over a SQLite database in the demo dir, with a demo user whose
//! token the demo's config uses, so tracked sending and events work with no deployment. Stops when
//! dropped.

use crate::config::TrackingConfig;
use crate::tracking::server::db;
use crate::tracking::server::{serve, Metrics, ServerOptions};
use ipnet::IpNet;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("embedded tracker: {0}")]
    Start(String),
}

/// A running embedded tracker.
pub struct EmbeddedTracker {
    pub base_url: String,
    pub api_token: String,
    /// True when this start made the demo user, i.e. the demo dir's tracker is new.
    pub fresh: bool,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Opens and clicks this soon after sending count as a security scanner's. Shorter than the real
/// tracker's 60 s so that a demo user who opens a pixel URL right away sees a human open — and
/// still sees the scanner rule if they are quicker than this.
pub const DEMO_SCANNER_WINDOW_SECONDS: i64 = 10;

/// How often the demo's poller asks the embedded tracker for events.
pub const POLL_SECONDS: u64 = 3;

/// File in the data dir that keeps the demo user's token, so a kept demo dir reuses its user.
const TOKEN_FILE: &str = "tracker-demo-token";

impl EmbeddedTracker {
    /// Starts the tracker on 127.0.0.1 (a free port) with its database in `dir`.
    pub fn start(dir: &Path) -> Result<EmbeddedTracker, EmbeddedError> {
        let err = |e: &dyn std::fmt::Display| EmbeddedError::Start(e.to_string());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| err(&e))?;
        let db_url = format!("sqlite:{}", dir.join("tracker.sqlite3").display());
        let token_path = dir.join(TOKEN_FILE);
        let (db, listener, api_token, fresh) = rt.block_on(async {
            let db = db::open(&db_url).await.map_err(|e| err(&e))?;
            let saved = std::fs::read_to_string(&token_path).ok();
            let (token, fresh) = match saved
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
            {
                Some(t) => (t, false),
                None => {
                    let name = format!("demo-{}", chrono::Utc::now().timestamp_millis());
                    let t = db.add_user(&name).await.map_err(|e| err(&e))?;
                    std::fs::write(&token_path, format!("{t}\n")).map_err(|e| err(&e))?;
                    (t, true)
                }
            };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| err(&e))?;
            Ok::<_, EmbeddedError>((db, listener, token, fresh))
        })?;
        let addr = listener.local_addr().map_err(|e| err(&e))?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let shutdown = async {
                let _ = rx.await;
            };
            let served = rt.block_on(serve(
                listener,
                db,
                ServerOptions {
                    scanner_window_seconds: DEMO_SCANNER_WINDOW_SECONDS,
                    // The demo plays its recipients' opens from 127.0.0.1 and names their
                    // addresses (Apple's, Google's proxies) in X-Forwarded-For, so the real
                    // classification sees them. Trusting loopback is safe here: the tracker
                    // listens on 127.0.0.1 only, so only this machine can reach it at all.
                    trusted_proxies: vec![IpNet::from(IpAddr::from([127, 0, 0, 1]))],
                    ..ServerOptions::default()
                },
                Arc::new(Metrics::default()),
                shutdown,
            ));
            if let Err(e) = served {
                tracing::warn!("embedded tracker stopped: {e}");
            }
        });
        Ok(EmbeddedTracker {
            base_url: format!("http://{addr}"),
            api_token,
            fresh,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// Points `config` at this tracker, with opens and links tracked by default and events
    /// fetched every few seconds (it is on this machine), so an opened pixel shows at once.
    pub fn configure(&self, config: &mut TrackingConfig) {
        config.base_url = Some(self.base_url.clone());
        config.api_token = Some(self.api_token.clone());
        config.api_token_command = None;
        config.track_opens = true;
        config.track_links = true;
        config.poll_seconds = POLL_SECONDS;
    }
}

impl Drop for EmbeddedTracker {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
