//! The tracking server (axum): pixels, link redirects, opt-out pages, the authenticated API the
//! client uses to register messages and fetch events, health (`/healthz`: the process answers;
//! `/readyz`: it can record a hit right now) and Prometheus metrics — on a listener of their own
//! (`--metrics-listen`), or on the public one only behind a bearer token.
//!
//! Hits are committed before they are answered (see [`super::db`]). Anything malformed or unknown
//! in a pixel or link URL is answered without a 5xx: an unknown pixel still gets its image, an
//! unknown link gets a 404 page. A link only ever redirects to the URL registered for its token.

use super::classify::{request_verdict, EventKind, RequestSignals};
use super::db::{DbError, Hit, HitOutcome, Registration, TrackerDb};
use crate::tracking::token::{hash_api_token, is_plausible_token, strip_suffix};
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use chrono::Utc;
use ipnet::IpNet;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A transparent 1×1 GIF.
pub const PIXEL_GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x01, 0x44, 0x00, 0x3b,
];

/// Largest registration body accepted.
const MAX_REGISTRATION_BYTES: usize = crate::tracking::wire::MAX_REGISTRATION_BYTES;

#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub scanner_window_seconds: i64,
    /// Peers whose `X-Forwarded-For` is believed. Empty: the header is ignored.
    pub trusted_proxies: Vec<IpNet>,
    /// Bits of a client address kept in storage (24 and 48 by default; 32/128 keep it whole).
    pub ip_prefix_v4: u8,
    pub ip_prefix_v6: u8,
    /// SHA-256 (hex) of the bearer token that opens `/metrics` on the public listener. None:
    /// the public listener has no `/metrics` (404); serve it with [`metrics_router`] instead.
    pub metrics_token_sha256: Option<String>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            scanner_window_seconds: 60,
            trusted_proxies: Vec::new(),
            ip_prefix_v4: 24,
            ip_prefix_v6: 48,
            metrics_token_sha256: None,
        }
    }
}

/// Counters exported at `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub pixel_requests: AtomicU64,
    pub link_requests: AtomicU64,
    pub api_requests: AtomicU64,
    pub optout_requests: AtomicU64,
    pub other_requests: AtomicU64,
    pub opens_recorded: AtomicU64,
    pub clicks_recorded: AtomicU64,
    pub unknown_tokens: AtomicU64,
    pub not_recorded: AtomicU64,
    pub db_errors: AtomicU64,
    /// What the last readiness check found (see [`Readiness`]); shared by every listener, so a
    /// change is logged once.
    pub database_ready: std::sync::atomic::AtomicU8,
    /// The last readiness check and when it ran: checks within [`READY_CHECK_REUSE`] of it get
    /// its answer, and concurrent ones wait for one check, so a flood of `/readyz` on the public
    /// listener cannot compete with hits for the database's write lock.
    ready_check: tokio::sync::Mutex<Option<(std::time::Instant, Result<(), String>)>>,
}

/// A metric family as `/metrics` prints it: name, type, help, and its samples (labels, value).
type MetricFamily<'a> = (&'a str, &'a str, &'a str, Vec<(&'a str, u64)>);

impl Metrics {
    fn render(&self) -> String {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let ready = u64::from(Readiness::load(self) == Readiness::Ready);
        // (name, type, help, [(labels, value)]): one family each, in the order scrapers saw them.
        let families: [MetricFamily; 6] = [
            (
                "tidings_tracker_requests_total",
                "counter",
                "HTTP requests by route.",
                vec![
                    ("{route=\"pixel\"}", g(&self.pixel_requests)),
                    ("{route=\"link\"}", g(&self.link_requests)),
                    ("{route=\"api\"}", g(&self.api_requests)),
                    ("{route=\"optout\"}", g(&self.optout_requests)),
                    ("{route=\"other\"}", g(&self.other_requests)),
                ],
            ),
            (
                "tidings_tracker_events_recorded_total",
                "counter",
                "Events committed, by kind.",
                vec![
                    ("{kind=\"open\"}", g(&self.opens_recorded)),
                    ("{kind=\"click\"}", g(&self.clicks_recorded)),
                ],
            ),
            (
                "tidings_tracker_unknown_tokens_total",
                "counter",
                "Pixel or link requests with an unknown or malformed token.",
                vec![("", g(&self.unknown_tokens))],
            ),
            (
                "tidings_tracker_events_not_recorded_total",
                "counter",
                "Known hits not recorded (sender's own, opted out).",
                vec![("", g(&self.not_recorded))],
            ),
            (
                "tidings_tracker_db_errors_total",
                "counter",
                "Database operations that failed.",
                vec![("", g(&self.db_errors))],
            ),
            (
                "tidings_tracker_database_ready",
                "gauge",
                "1 if the last readiness check could write to the database.",
                vec![("", ready)],
            ),
        ];
        let mut out = String::new();
        for (name, kind, help, samples) in families {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for (labels, value) in samples {
                out.push_str(&format!("{name}{labels} {value}\n"));
            }
        }
        out
    }
}

#[derive(Clone)]
struct AppState {
    db: Arc<dyn TrackerDb>,
    options: Arc<ServerOptions>,
    metrics: Arc<Metrics>,
}

/// The tracker's routes. Serve it with connect info (see [`serve`]) so client addresses are known.
pub fn router(db: Arc<dyn TrackerDb>, options: ServerOptions, metrics: Arc<Metrics>) -> Router {
    let state = AppState {
        db,
        options: Arc::new(options),
        metrics,
    };
    // Every answer under /api/v1 is JSON `{"error": …}` when it is not a success — unknown
    // paths and wrong methods included — so a client parses one shape.
    let api = Router::new()
        .route("/messages", axum::routing::post(register_message))
        .route("/events", get(events))
        .route("/optouts", get(optouts))
        .fallback(api_not_found)
        .method_not_allowed_fallback(api_method_not_allowed);
    Router::new()
        // Every method reaches the hit handlers: a POST or OPTIONS on a pixel or link is
        // evidence of a machine, recorded as such rather than lost in a 405.
        .route("/p/{*rest}", any(pixel))
        .route("/p/", any(pixel))
        .route("/l/{*rest}", any(link))
        .route("/o/{*rest}", get(opt_out_page).post(opt_out_confirm))
        .nest("/api/v1", api)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(public_metrics_page))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_REGISTRATION_BYTES))
        .with_state(state)
}

/// The routes of the private listener (`--metrics-listen`): `/metrics` without a token, and the
/// health checks, for a Prometheus or a load balancer on a private network.
pub fn metrics_router(db: Arc<dyn TrackerDb>, metrics: Arc<Metrics>) -> Router {
    let state = AppState {
        db,
        options: Arc::new(ServerOptions::default()),
        metrics,
    };
    Router::new()
        .route("/metrics", get(metrics_page))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .with_state(state)
}

/// How long a client may take over its request's headers, and over the whole request (a slow
/// body upload included). Without the first, a client that trickles a header byte a second
/// holds its connection for ever (slowloris), and enough of them exhaust the server's files.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// From the connection's first byte (or the end of the previous answer) to the end of the
    /// headers; the connection is closed after it.
    pub header_read_timeout: Duration,
    /// From the end of the headers to the answer; a 408 after it.
    pub request_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves the tracker on `listener` until `shutdown` resolves, with the default
/// [`ConnectionLimits`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    db: Arc<dyn TrackerDb>,
    options: ServerOptions,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_limits(
        listener,
        db,
        options,
        metrics,
        ConnectionLimits::default(),
        shutdown,
    )
    .await
}

/// [`serve`] with chosen limits. Our own accept loop rather than `axum::serve`, which gives
/// hyper no timer and so no header-read timeout at all.
pub async fn serve_with_limits(
    listener: tokio::net::TcpListener,
    db: Arc<dyn TrackerDb>,
    options: ServerOptions,
    metrics: Arc<Metrics>,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_app(listener, router(db, options, metrics), limits, shutdown).await
}

/// Serves `app` (the public [`router`] or the [`metrics_router`]) on `listener` until `shutdown`
/// resolves, then lets the requests under way finish.
pub async fn serve_app(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (closing_tx, closing_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of files or a connection reset before accept: keep serving the
                    // others, without spinning on a persistent error.
                    tracing::warn!("tracker: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        while connections.try_join_next().is_some() {}
        connections.spawn(serve_connection(
            stream,
            peer,
            app.clone(),
            limits,
            closing_rx.clone(),
        ));
    }
    drop(listener);
    let _ = closing_tx.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    mut closing: tokio::sync::watch::Receiver<bool>,
) {
    use tower::ServiceExt;
    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        let app = app.clone();
        async move {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            let response =
                match tokio::time::timeout(limits.request_timeout, app.oneshot(request)).await {
                    Ok(Ok(response)) => response,
                    Ok(Err(never)) => match never {},
                    Err(_) => (
                        StatusCode::REQUEST_TIMEOUT,
                        [(header::CONNECTION, "close")],
                        "request timed out\n",
                    )
                        .into_response(),
                };
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut conn =
        std::pin::pin!(builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service));
    tokio::select! {
        served = conn.as_mut() => {
            if let Err(e) = served {
                tracing::trace!("tracker: connection from {peer}: {e}");
            }
            return;
        }
        _ = closing.changed() => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// Deletes events older than `days` now and then every hour, for as long as the runtime lives.
pub fn spawn_retention(db: Arc<dyn TrackerDb>, days: u32, metrics: Arc<Metrics>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let cutoff = Utc::now() - chrono::Duration::days(i64::from(days));
            match db.purge_before(cutoff).await {
                Ok(n) => tracing::info!("tracker: retention purged {n} events before {cutoff}"),
                Err(e) => {
                    metrics.db_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::error!("tracker: retention purge failed: {e}");
                }
            }
        }
    });
}

/// The client's address: the peer, or — only when the peer is a trusted proxy — the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else {
            return peer;
        };
        for part in text.split(',') {
            match parse_forwarded_ip(part.trim()) {
                Some(ip) => hops.push(ip),
                None => return peer,
            }
        }
    }
    let mut client = peer;
    for ip in hops.into_iter().rev() {
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

fn parse_forwarded_ip(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    // "[v6]:port" or "v4:port"
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    s.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.parse().ok())
}

/// What is stored of an address: its network prefix.
pub fn truncate_ip(ip: IpAddr, v4_bits: u8, v6_bits: u8) -> String {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    let bits = match ip {
        IpAddr::V4(_) => v4_bits.min(32),
        IpAddr::V6(_) => v6_bits.min(128),
    };
    match IpNet::new(ip, bits) {
        Ok(net) => net.trunc().addr().to_string(),
        Err(_) => ip.to_string(),
    }
}

/// SHA-256 of an API token the request carries (Bearer header or `tidings_token` cookie).
fn sender_token_hash(headers: &HeaderMap) -> Option<String> {
    if let Some(token) = bearer(headers) {
        return Some(hash_api_token(token));
    }
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == "tidings_token")
        .map(|(_, v)| v)
        .filter(|v| is_plausible_token(v))
        .map(hash_api_token)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && is_plausible_token(token)).then_some(token)
}

/// The path segment after the route's prefix (`/p/`, `/l/`, `/o/`), still percent-encoded:
/// tokens never need decoding, and junk that does not decode must still get its answer.
fn token_segment(uri: &Uri) -> &str {
    let path = uri.path();
    let rest = path.get(3..).unwrap_or("");
    rest.split('/').next().unwrap_or("")
}

fn build_hit(
    state: &AppState,
    kind: EventKind,
    token: &str,
    peer: SocketAddr,
    method: &axum::http::Method,
    headers: &HeaderMap,
) -> Hit {
    let ip = client_ip(peer.ip(), headers, &state.options.trusted_proxies);
    let user_agent = headers
        .get(header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    // Headers that are not text are as good as absent to the classifier.
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let purpose = text("sec-purpose")
        .or_else(|| text("purpose"))
        .or_else(|| text("x-purpose"))
        .or_else(|| text("x-moz"));
    let request = request_verdict(
        kind,
        &RequestSignals {
            method: method.as_str(),
            user_agent: &user_agent,
            ip: Some(ip),
            accept: text("accept"),
            referer: text("referer"),
            via: text("via"),
            sec_fetch_mode: text("sec-fetch-mode"),
            sec_fetch_dest: text("sec-fetch-dest"),
            purpose,
        },
    );
    Hit {
        kind,
        request,
        token: token.to_string(),
        user_agent,
        client_ip: Some(ip),
        stored_ip: Some(truncate_ip(
            ip,
            state.options.ip_prefix_v4,
            state.options.ip_prefix_v6,
        )),
        at: Utc::now(),
        sender_token_hash: sender_token_hash(headers),
        scanner_window_seconds: state.options.scanner_window_seconds,
    }
}

fn count_outcome(metrics: &Metrics, kind: EventKind, known: bool, recorded: bool) {
    let counter = match (known, recorded, kind) {
        (false, _, _) => &metrics.unknown_tokens,
        (true, false, _) => &metrics.not_recorded,
        (true, true, EventKind::Open) => &metrics.opens_recorded,
        (true, true, EventKind::Click) => &metrics.clicks_recorded,
    };
    counter.fetch_add(1, Ordering::Relaxed);
}

fn pixel_response(status: StatusCode) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "image/gif"),
            (
                header::CACHE_CONTROL,
                "no-store, no-cache, must-revalidate, max-age=0",
            ),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        PIXEL_GIF,
    )
        .into_response()
}

/// What became of a pixel or link request.
enum HitResult {
    /// The database answered: unknown, recorded, or known but not recorded (sender's own,
    /// opted out).
    Recorded(HitOutcome),
    /// Not a token we could have issued; the database is not asked.
    Malformed,
    /// The database failed: nothing is durable, so the request must not look answered.
    Failed,
}

/// Records a hit, whatever its method: a HEAD or any other non-GET is recorded as automated
/// (link checkers and gateways send them, a reader's client never does), so it neither counts
/// nor notifies, and the timeline still shows it happened.
async fn record_hit(
    state: &AppState,
    kind: EventKind,
    method: &axum::http::Method,
    uri: &Uri,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> HitResult {
    let requests = match kind {
        EventKind::Open => &state.metrics.pixel_requests,
        EventKind::Click => &state.metrics.link_requests,
    };
    requests.fetch_add(1, Ordering::Relaxed);
    // Whatever follows the token (suffix, path, query) is ignored.
    let token = strip_suffix(token_segment(uri));
    if !is_plausible_token(token) {
        state.metrics.unknown_tokens.fetch_add(1, Ordering::Relaxed);
        return HitResult::Malformed;
    }
    let hit = build_hit(state, kind, token, peer, method, headers);
    match state.db.record(hit).await {
        Ok(outcome) => {
            count_outcome(&state.metrics, kind, outcome.known, outcome.recorded);
            HitResult::Recorded(outcome)
        }
        Err(e) => {
            state.metrics.db_errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!("tracker: recording an {} failed: {e}", kind.as_str());
            HitResult::Failed
        }
    }
}

// The hot handlers borrow the URI and headers from the request: the `Uri` and `HeaderMap`
// extractors would clone both for every pixel.
async fn pixel(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (method, uri, headers) = (request.method(), request.uri(), request.headers());
    match record_hit(&state, EventKind::Open, method, uri, peer, headers).await {
        HitResult::Recorded(_) | HitResult::Malformed => pixel_response(StatusCode::OK),
        HitResult::Failed => pixel_response(StatusCode::SERVICE_UNAVAILABLE),
    }
}

fn html_page(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\"><title>{title}</title></head><body style=\"font-family:sans-serif;max-width:36em;margin:3em auto\"><h1>{title}</h1>{body}</body></html>"
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        page,
    )
        .into_response()
}

fn link_not_found() -> Response {
    html_page(
        StatusCode::NOT_FOUND,
        "Link not found",
        "<p>This tracked link is unknown or has expired.</p>",
    )
}

/// Location headers must be visible ASCII; registered URLs may carry UTF-8, which is
/// percent-encoded the way a browser would send it.
fn location_value(url: &str) -> Option<HeaderValue> {
    let mut out = String::with_capacity(url.len());
    for b in url.bytes() {
        if b.is_ascii_graphic() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::from_str(&out).ok()
}

async fn link(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    // The target is the URL registered for the token, never anything from the request.
    let (method, uri, headers) = (request.method(), request.uri(), request.headers());
    let outcome = match record_hit(&state, EventKind::Click, method, uri, peer, headers).await {
        HitResult::Recorded(outcome) => outcome,
        HitResult::Malformed => return link_not_found(),
        HitResult::Failed => {
            return html_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "<p>The link service is briefly unavailable. Please reload this page.</p>",
            )
        }
    };
    match outcome.url.as_deref().and_then(location_value) {
        Some(location) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, location),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                ),
            ],
        )
            .into_response(),
        None => link_not_found(),
    }
}

// A GET only shows a button: mail security scanners fetch every link in a mail, and a GET that
// opted out would opt out every recipient behind such a gateway. The POST does the work.
async fn opt_out_page(State(state): State<AppState>, uri: Uri) -> Response {
    state
        .metrics
        .optout_requests
        .fetch_add(1, Ordering::Relaxed);
    let token = token_segment(&uri);
    if !is_plausible_token(token) {
        return link_not_found();
    }
    html_page(
        StatusCode::OK,
        "Stop email tracking",
        &format!(
            "<p>The sender uses tidings, which can tell them when you open their mail or follow its links.</p>\
             <form method=\"post\" action=\"/o/{token}\"><button type=\"submit\">Don't track my opens and clicks</button></form>"
        ),
    )
}

async fn opt_out_confirm(State(state): State<AppState>, uri: Uri) -> Response {
    state
        .metrics
        .optout_requests
        .fetch_add(1, Ordering::Relaxed);
    let token = token_segment(&uri);
    if !is_plausible_token(token) {
        return link_not_found();
    }
    match state.db.opt_out(token.to_string()).await {
        Ok(Some(_)) => html_page(
            StatusCode::OK,
            "Done",
            "<p>Your opens and clicks will no longer be tracked by this sender. Mail you already received is no longer tracked either.</p>",
        ),
        Ok(None) => link_not_found(),
        Err(e) => {
            state.metrics.db_errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!("tracker: opt-out failed: {e}");
            html_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "<p>Please try again in a moment.</p>",
            )
        }
    }
}

/// The one shape of every API error: `{"error": "…"}`; a 401 also says how to authenticate
/// (RFC 6750).
fn json_error(status: StatusCode, message: &str) -> Response {
    // Reasons may quote the request (a cursor, a URL of megabytes): a reason stays short.
    let mut end = message.len().min(MAX_ERROR_BYTES);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let message = if end < message.len() {
        format!("{}…", &message[..end])
    } else {
        message.to_string()
    };
    let mut r = (status, Json(serde_json::json!({ "error": message }))).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        let challenge = if message == MISSING_TOKEN {
            "Bearer realm=\"tidings\""
        } else {
            "Bearer realm=\"tidings\", error=\"invalid_token\""
        };
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    r
}

/// Longest error reason answered.
const MAX_ERROR_BYTES: usize = 300;

const MISSING_TOKEN: &str = "missing API token (send Authorization: Bearer TOKEN)";

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<i64, Response> {
    state.metrics.api_requests.fetch_add(1, Ordering::Relaxed);
    if !headers.contains_key(header::AUTHORIZATION) {
        return Err(json_error(StatusCode::UNAUTHORIZED, MISSING_TOKEN));
    }
    let invalid = || json_error(StatusCode::UNAUTHORIZED, "invalid API token");
    let token = bearer(headers).ok_or_else(invalid)?;
    match state.db.user_by_token_hash(&hash_api_token(token)).await {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(invalid()),
        Err(e) => Err(db_failure(state, e)),
    }
}

async fn api_not_found(State(state): State<AppState>) -> Response {
    state.metrics.api_requests.fetch_add(1, Ordering::Relaxed);
    json_error(StatusCode::NOT_FOUND, "no such API endpoint")
}

async fn api_method_not_allowed(State(state): State<AppState>) -> Response {
    state.metrics.api_requests.fetch_add(1, Ordering::Relaxed);
    json_error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here")
}

fn db_failure(state: &AppState, e: DbError) -> Response {
    state.metrics.db_errors.fetch_add(1, Ordering::Relaxed);
    tracing::error!("tracker: database error: {e}");
    json_error(StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
}

/// A registration whose declared size is over the limit is refused from its headers, before
/// anything else: reading (or waiting for) a body that will be refused anyway would hold the
/// connection until the request timeout. The connection is closed, since the body is not read.
fn declared_too_large(headers: &HeaderMap) -> Option<Response> {
    let declared = headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    if declared <= MAX_REGISTRATION_BYTES as u64 {
        return None;
    }
    let mut r = json_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("a registration is at most {MAX_REGISTRATION_BYTES} bytes"),
    );
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    Some(r)
}

async fn register_message(State(state): State<AppState>, request: Request) -> Response {
    if let Some(refused) = declared_too_large(request.headers()) {
        state.metrics.api_requests.fetch_add(1, Ordering::Relaxed);
        return refused;
    }
    let user = match authenticate(&state, request.headers()).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    use axum::extract::FromRequest;
    let body = match axum::body::Bytes::from_request(request, &state).await {
        Ok(b) => b,
        Err(e) => return json_error(e.status(), &e.body_text()),
    };
    let reg: Registration = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &format!("bad JSON: {e}")),
    };
    if let Err(e) = crate::tracking::wire::validate_registration(&reg) {
        return json_error(StatusCode::BAD_REQUEST, &e);
    }
    match state.db.register(user, reg).await {
        Ok(()) => (StatusCode::CREATED, Json(serde_json::json!({ "ok": true }))).into_response(),
        Err(e @ DbError::TokenConflict(_)) => json_error(StatusCode::CONFLICT, &e.to_string()),
        Err(e) => db_failure(&state, e),
    }
}

#[derive(Deserialize)]
struct EventsQuery {
    after: Option<String>,
    limit: Option<u32>,
}

async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let user = match authenticate(&state, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Ok(Query(q)) = query else {
        return json_error(StatusCode::BAD_REQUEST, "bad query string");
    };
    let limit = q.limit.unwrap_or(100).clamp(1, super::db::MAX_PAGE);
    match state.db.events(user, q.after, limit).await {
        Ok(page) => Json(escape_page(page)).into_response(),
        Err(e @ DbError::BadCursor(_)) => json_error(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(e) => db_failure(&state, e),
    }
}

/// Text that came from the network (agents, URLs) with every control and bidirectional
/// formatting character written as `\u{…}`: whatever shows it — a terminal, a log, a web page —
/// shows what was sent, and cannot be made to move the cursor or reorder the line.
fn escape_controls(text: &str) -> String {
    let hostile = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(hostile) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hostile(c) {
            out.push_str(&format!("\\u{{{:04x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// An event page as the API answers it: see [`escape_controls`].
fn escape_page(mut page: super::db::EventPage) -> super::db::EventPage {
    for e in &mut page.events {
        e.user_agent = escape_controls(&e.user_agent);
        e.url = e.url.as_deref().map(escape_controls);
        e.recipient = escape_controls(&e.recipient);
        e.message_id = escape_controls(&e.message_id);
        e.client = escape_controls(&e.client);
    }
    page
}

async fn optouts(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let user = match authenticate(&state, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    match state.db.optouts(user).await {
        Ok(list) => Json(serde_json::json!({ "optouts": list })).into_response(),
        Err(e) => db_failure(&state, e),
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    state.metrics.other_requests.fetch_add(1, Ordering::Relaxed);
    (StatusCode::OK, "ok\n").into_response()
}

/// How long `/readyz` waits for the database: a load balancer's check must get an answer well
/// within its own timeout, and a database that takes longer is not fit to record hits.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a readiness check's answer is reused.
pub const READY_CHECK_REUSE: Duration = Duration::from_secs(1);

/// What the last readiness check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    Unknown = 0,
    Ready = 1,
    NotReady = 2,
}

impl Readiness {
    fn load(metrics: &Metrics) -> Readiness {
        match metrics.database_ready.load(Ordering::Relaxed) {
            1 => Readiness::Ready,
            2 => Readiness::NotReady,
            _ => Readiness::Unknown,
        }
    }
}

/// Checks that a hit could be recorded now (see [`TrackerDb::check_writable`]) within
/// [`READY_TIMEOUT`]; the reason when not. A change from the last check's result is logged —
/// with its cause when the database fails — so the log shows when an outage began and ended.
pub async fn check_ready(db: &dyn TrackerDb, metrics: &Metrics) -> Result<(), String> {
    let mut last = metrics.ready_check.lock().await;
    if let Some((at, result)) = last.as_ref() {
        if at.elapsed() < READY_CHECK_REUSE {
            return result.clone();
        }
    }
    let result = match tokio::time::timeout(READY_TIMEOUT, db.check_writable()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(crate::sanitize::sanitize_line(&e.to_string())),
        Err(_) => Err(format!(
            "the database did not answer within {} s",
            READY_TIMEOUT.as_secs()
        )),
    };
    let now = if result.is_ok() {
        Readiness::Ready
    } else {
        Readiness::NotReady
    };
    let before = metrics.database_ready.swap(now as u8, Ordering::Relaxed);
    match (&result, before) {
        (Ok(()), b) if b == Readiness::NotReady as u8 => {
            tracing::info!("tracker: database ready again: hits are recorded")
        }
        (Ok(()), b) if b == Readiness::Unknown as u8 => tracing::info!("tracker: database ready"),
        (Err(reason), b) if b != Readiness::NotReady as u8 => {
            tracing::error!("tracker: database not ready, hits cannot be recorded: {reason}")
        }
        _ => {}
    }
    *last = Some((std::time::Instant::now(), result.clone()));
    result
}

/// Checks readiness every `every` for as long as the runtime lives, so a database that fails
/// (or comes back) is logged even while no request arrives.
pub fn spawn_readiness_watch(db: Arc<dyn TrackerDb>, metrics: Arc<Metrics>, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let _ = check_ready(db.as_ref(), &metrics).await;
        }
    });
}

/// 200 `ready` when a hit could be recorded now, else 503 with the reason: what a load balancer
/// should route by (`/healthz` only says the process answers).
async fn readyz(State(state): State<AppState>) -> Response {
    state.metrics.other_requests.fetch_add(1, Ordering::Relaxed);
    let (status, body) = match check_ready(state.db.as_ref(), &state.metrics).await {
        Ok(()) => (StatusCode::OK, "ready\n".to_string()),
        Err(reason) => {
            let mut end = reason.len().min(MAX_ERROR_BYTES);
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: database: {}\n", &reason[..end]),
            )
        }
    };
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// `/metrics` on the public listener: only with the configured bearer token; without one
/// configured, the route does not exist there (counters tell an outsider about the traffic).
async fn public_metrics_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(expected) = state.options.metrics_token_sha256.as_deref() else {
        return not_found(State(state)).await;
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| hash_api_token(token.trim()));
    // Hashes are compared, not tokens: how long a comparison takes tells about a hash, which
    // does not help anyone guess the token.
    if presented.as_deref() != Some(expected) {
        state.metrics.other_requests.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::UNAUTHORIZED,
            [
                (header::WWW_AUTHENTICATE, "Bearer realm=\"tidings-metrics\""),
                (header::CACHE_CONTROL, "no-store"),
            ],
            "metrics need the bearer token (--metrics-token-file)\n",
        )
            .into_response();
    }
    metrics_page(State(state)).await
}

async fn metrics_page(State(state): State<AppState>) -> Response {
    state.metrics.other_requests.fetch_add(1, Ordering::Relaxed);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        Body::from(state.metrics.render()),
    )
        .into_response()
}

async fn not_found(State(state): State<AppState>) -> Response {
    state.metrics.other_requests.fetch_add(1, Ordering::Relaxed);
    html_page(StatusCode::NOT_FOUND, "Not found", "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_read_only_from_trusted_peers() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "17.1.2.3, 10.0.0.5".parse().unwrap());
        let untrusted_peer: IpAddr = "198.51.100.9".parse().unwrap();
        assert_eq!(client_ip(untrusted_peer, &h, &trusted), untrusted_peer);
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(
            client_ip(proxy, &h, &trusted),
            "17.1.2.3".parse::<IpAddr>().unwrap()
        );
        // A spoofed left-most entry does not win over the one the proxy appended.
        h.insert("x-forwarded-for", "1.1.1.1, 17.1.2.3".parse().unwrap());
        assert_eq!(
            client_ip(proxy, &h, &trusted),
            "17.1.2.3".parse::<IpAddr>().unwrap()
        );
        h.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(client_ip(proxy, &h, &trusted), proxy);
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
    }

    #[test]
    fn addresses_are_truncated_to_their_prefix() {
        assert_eq!(
            truncate_ip("203.0.113.77".parse().unwrap(), 24, 48),
            "203.0.113.0"
        );
        assert_eq!(
            truncate_ip("2001:db8:1234:5678::1".parse().unwrap(), 24, 48),
            "2001:db8:1234::"
        );
        assert_eq!(
            truncate_ip("::ffff:203.0.113.77".parse().unwrap(), 24, 48),
            "203.0.113.0"
        );
        assert_eq!(
            truncate_ip("203.0.113.77".parse().unwrap(), 32, 128),
            "203.0.113.77"
        );
    }

    #[test]
    fn control_and_bidi_characters_are_escaped_in_what_the_api_returns() {
        assert_eq!(escape_controls("Mozilla/5.0 (X11)"), "Mozilla/5.0 (X11)");
        assert_eq!(
            escape_controls("a\u{1b}[2Jb\u{202e}gpj.exe\u{2066}\n"),
            "a\\u{001b}[2Jb\\u{202e}gpj.exe\\u{2066}\\u{000a}"
        );
        assert_eq!(escape_controls("caf\u{e9} \u{9d}"), "caf\u{e9} \\u{009d}");
    }

    #[test]
    fn location_is_percent_encoded_ascii() {
        let v = location_value("https://example.com/é?q=a b").unwrap();
        assert_eq!(v.to_str().unwrap(), "https://example.com/%C3%A9?q=a%20b");
    }
}
