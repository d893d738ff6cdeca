//! The SASL messages that carry a bearer token: XOAUTH2 (Google's and Microsoft's) and
//! OAUTHBEARER (RFC 7628, preferred where the server advertises it). Both are sent base64
//! encoded by the caller; a failure answers with a JSON challenge that the client must
//! acknowledge with an empty response before the server says NO.

/// Which mechanism a server gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    XOauth2,
    OAuthBearer,
}

impl Mechanism {
    /// OAUTHBEARER when offered (the standard), else XOAUTH2 (what Gmail and Outlook speak).
    pub fn choose(offers_oauthbearer: bool) -> Mechanism {
        if offers_oauthbearer {
            Mechanism::OAuthBearer
        } else {
            Mechanism::XOauth2
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mechanism::XOauth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// What the client answers to the error challenge a refused token brings, so the server can
    /// finish with NO (or 535): nothing for XOAUTH2, a lone ^A for OAUTHBEARER (RFC 7628 §3.2.3).
    pub fn failure_ack(self) -> &'static str {
        match self {
            Mechanism::XOauth2 => "",
            Mechanism::OAuthBearer => "\x01",
        }
    }

    /// The initial client response (before base64) for `user` with `token` at `host:port`.
    pub fn initial_response(self, user: &str, token: &str, host: &str, port: u16) -> String {
        match self {
            Mechanism::XOauth2 => format!("user={user}\x01auth=Bearer {token}\x01\x01"),
            // RFC 7628 §3.1: a GS2 header naming the user, then key=value pairs split by ^A.
            Mechanism::OAuthBearer => format!(
                "n,a={},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01",
                gs2_escape(user)
            ),
        }
    }
}

/// RFC 5801: `,` and `=` in the authorization identity are written `=2C` and `=3D`.
fn gs2_escape(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_follow_the_mechanisms() {
        assert_eq!(
            Mechanism::XOauth2.initial_response("me@x.test", "tok", "h", 993),
            "user=me@x.test\x01auth=Bearer tok\x01\x01"
        );
        assert_eq!(
            Mechanism::OAuthBearer.initial_response("a,b=c", "tok", "h", 993),
            "n,a=a=2Cb=3Dc,\x01host=h\x01port=993\x01auth=Bearer tok\x01\x01"
        );
        assert_eq!(Mechanism::choose(true), Mechanism::OAuthBearer);
        assert_eq!(Mechanism::OAuthBearer.failure_ack(), "\x01");
    }
}
