//! Tracking and API tokens: random, URL-safe, and meaningless on their own. The server maps a
//! tracking token to (user, message, recipient, link); an API token is stored only as its SHA-256.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// 128 bits: enough that guessing another recipient's token is hopeless, short enough for a URL.
const TRACKING_TOKEN_BYTES: usize = 16;
/// API tokens are long-lived secrets, so they get twice the entropy.
const API_TOKEN_BYTES: usize = 32;

/// Longest token the server will look up; anything longer is junk and is answered without a query.
pub const MAX_TOKEN_LEN: usize = 80;

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    // Lowercase hex: URL-safe, case-insensitive mail clients cannot corrupt it, no padding.
    hex::encode(buf)
}

/// A fresh token for a pixel, a link or an opt-out URL (32 lowercase hex characters).
pub fn new_tracking_token() -> String {
    random_token(TRACKING_TOKEN_BYTES)
}

/// A fresh API token for a tracker user; shown once, then only its hash is kept.
pub fn new_api_token() -> String {
    format!("tdg_{}", random_token(API_TOKEN_BYTES))
}

/// What the server stores for an API token.
pub fn hash_api_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// True for strings that could be a token we issued: bounded length, `[0-9a-z_]` only. Used to
/// answer junk without touching the database and to keep junk out of logs.
pub fn is_plausible_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'_')
}

/// True for exactly the shape [`new_tracking_token`] mints: 32 lowercase hex digits (128 bits).
/// The server accepts no other in a registration, so no token is shorter or guessable by shape.
pub fn is_tracking_token(token: &str) -> bool {
    token.len() == TRACKING_TOKEN_BYTES * 2
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The token part of a pixel path segment: `TOKEN.gif`, `TOKEN.png`, `TOKEN` all name `TOKEN`.
pub fn strip_suffix(segment: &str) -> &str {
    match segment.find('.') {
        Some(i) => &segment[..i],
        None => segment,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn tracking_tokens_are_128_bit_url_safe_and_distinct() {
        let tokens: HashSet<String> = (0..1000).map(|_| new_tracking_token()).collect();
        assert_eq!(tokens.len(), 1000);
        for t in &tokens {
            assert_eq!(t.len(), 32);
            assert!(is_plausible_token(t), "{t}");
            assert!(is_tracking_token(t), "{t}");
        }
        // Shorter, longer, or outside lowercase hex: not a token the server accepts.
        for other in [
            "abc",
            &"a".repeat(31),
            &"a".repeat(33),
            &"g".repeat(32),
            &"A".repeat(32),
        ] {
            assert!(!is_tracking_token(other), "{other}");
        }
    }

    #[test]
    fn api_tokens_hash_stably_and_differ_from_their_hash() {
        let t = new_api_token();
        assert!(t.starts_with("tdg_") && t.len() == 68);
        assert!(is_plausible_token(&t));
        assert_eq!(hash_api_token(&t), hash_api_token(&t));
        assert_ne!(hash_api_token(&t), t);
        assert_ne!(hash_api_token(&t), hash_api_token(&new_api_token()));
    }

    #[test]
    fn junk_is_not_a_plausible_token() {
        for junk in [
            "",
            "../../etc/passwd",
            "ABCDEF",
            "a b",
            "%00",
            &"a".repeat(81),
            "tok\u{e9}n",
        ] {
            assert!(!is_plausible_token(junk), "{junk:?}");
        }
        assert_eq!(strip_suffix("abc.gif"), "abc");
        assert_eq!(strip_suffix("abc"), "abc");
        assert_eq!(strip_suffix("abc.gif.png"), "abc");
    }
}
