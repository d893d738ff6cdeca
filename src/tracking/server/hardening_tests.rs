//! The tracker hardened against its own users and the open internet (issue 13), each through the
//! real HTTP handlers: one token names one thing, an oversized registration is refused from its
//! headers, and the events API escapes what hostile clients sent.

use super::corpus_tests::tracker;
use super::db::{RecipientRegistration, Registration, TrackedLink};
use crate::tracking::token::new_tracking_token;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use std::net::IpAddr;
use tower::ServiceExt;

async fn call(app: &axum::Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.expect("answer");
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn registration(pixel: &str, link: &str, url: &str) -> Registration {
    Registration {
        message_id: format!("<{}@example.com>", new_tracking_token()),
        sent_at: Utc::now() - chrono::Duration::hours(1),
        recipients: vec![RecipientRegistration {
            address: "dana@example.com".into(),
            token: pixel.into(),
            links: vec![TrackedLink {
                token: link.into(),
                url: url.into(),
                trap: false,
            }],
        }],
    }
}

fn post(token: &str, reg: &Registration) -> Request<Body> {
    Request::post("/api/v1/messages")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(reg).expect("json")))
        .expect("request")
}

#[tokio::test]
async fn a_token_is_one_thing_for_one_user_in_one_format() {
    let t = tracker().await;
    let mallory = t.db.add_user("mallory").await.expect("user");
    let dana_pixel = new_tracking_token();
    let (status, _) = call(
        &t.app,
        post(
            &t.token,
            &registration(&dana_pixel, &new_tracking_token(), "https://acme.test/"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // Dana's pixel token registered as Mallory's link: refused, so /l/TOKEN never leads to
    // Mallory's site from the tracker's domain.
    let hijack = registration(&new_tracking_token(), &dana_pixel, "https://evil.test/");
    let (status, body) = call(&t.app, post(&mallory, &hijack)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // Nor a link token as someone's pixel, nor one token as both in one registration.
    let link = new_tracking_token();
    let (status, _) = call(
        &t.app,
        post(
            &t.token,
            &registration(&new_tracking_token(), &link, "https://acme.test/a"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = call(
        &t.app,
        post(
            &mallory,
            &registration(&link, &new_tracking_token(), "https://evil.test/"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let same = new_tracking_token();
    let (status, _) = call(
        &t.app,
        post(&t.token, &registration(&same, &same, "https://acme.test/b")),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // 128 bits in one fixed format: short or differently shaped tokens are refused.
    for weak in [
        "a".repeat(22),
        "0123456789abcdef0123456789abcdeg".into(),
        format!("{}_", "a".repeat(31)),
    ] {
        let (status, body) = call(
            &t.app,
            post(
                &t.token,
                &registration(&weak, &new_tracking_token(), "https://acme.test/"),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{weak}: {body}");
    }
}

#[tokio::test]
async fn an_oversized_registration_is_refused_at_once_from_its_headers() {
    let t = tracker().await;
    // The body never arrives: only the declared length can answer.
    let never = Body::from_stream(futures::stream::pending::<Result<Vec<u8>, std::io::Error>>());
    let request = Request::post("/api/v1/messages")
        .header("authorization", format!("Bearer {}", t.token))
        .header("content-length", (64u64 << 20).to_string())
        .body(never)
        .expect("request");
    let answer = tokio::time::timeout(std::time::Duration::from_secs(5), call(&t.app, request))
        .await
        .expect("answered at once, not after the request timeout");
    assert_eq!(answer.0, StatusCode::PAYLOAD_TOO_LARGE, "{}", answer.1);
}

#[tokio::test]
async fn the_events_api_escapes_control_and_bidi_characters() {
    let t = tracker().await;
    let pixel = new_tracking_token();
    let link = new_tracking_token();
    let reg = registration(&pixel, &link, "https://acme.test/\u{202e}fdp.exe");
    let (status, body) = call(&t.app, post(&t.token, &reg)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ip: IpAddr = "198.51.100.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let agent = "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0 \u{2066}evil\u{2069}";
    let accept = vec![("accept".to_string(), "text/html".to_string())];
    t.hit(&format!("/l/{link}"), ip, "GET", &accept, Some(agent))
        .await;
    let (status, body) = call(
        &t.app,
        Request::get("/api/v1/events")
            .header("authorization", format!("Bearer {}", t.token))
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for raw in ['\u{202e}', '\u{2066}', '\u{2069}'] {
        assert!(!body.contains(raw), "{raw:?} unescaped in {body}");
    }
    assert!(body.contains("\\\\u{202e}fdp.exe"), "{body}");
    assert!(body.contains("\\\\u{2066}evil"), "{body}");
}
