//! Thunderbird's autoconfig file (`config-v1.1.xml`) as a domain publishes it: the IMAP and SMTP
//! servers, their security and the user name. The file is a stranger's: it is parsed without a
//! DTD and with a node limit, every host name and port is checked, and a server offered without
//! encryption is taken only when it is this machine.

use super::providers::{self, AuthMethod};
use super::{valid_host, valid_port, Server};
use crate::config::Security;

/// One usable server entry of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub server: Server,
    /// The user name with the placeholders filled in.
    pub user: String,
    pub auth: AuthMethod,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Autoconfig {
    pub imap: Option<Entry>,
    pub smtp: Option<Entry>,
    /// Entries that were skipped and why, for the user to read.
    pub skipped: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AutoconfigError {
    #[error("not an autoconfig file: {0}")]
    Xml(String),
    #[error("not an autoconfig file (no <emailProvider>)")]
    NoProvider,
}

/// More nodes than any real file has (Thunderbird's ISPDB files have a few dozen).
const MAX_NODES: u32 = 5_000;
const MAX_USER_LEN: usize = 256;

/// Reads the file for `email` (whose domain is `domain`).
pub fn parse(xml: &str, email: &str, domain: &str) -> Result<Autoconfig, AutoconfigError> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(xml, opts)
        .map_err(|e| AutoconfigError::Xml(crate::sanitize::sanitize_line(&e.to_string())))?;
    let provider = doc
        .descendants()
        .find(|n| n.has_tag_name("emailProvider"))
        .ok_or(AutoconfigError::NoProvider)?;
    let mut out = Autoconfig::default();
    for node in provider.children().filter(|n| n.is_element()) {
        let (slot, kind) = match (node.tag_name().name(), node.attribute("type")) {
            ("incomingServer", Some("imap")) => (&mut out.imap, "IMAP"),
            ("outgoingServer", Some("smtp")) => (&mut out.smtp, "SMTP"),
            _ => continue,
        };
        if slot.is_some() {
            continue;
        }
        match entry(node, email, domain) {
            Ok(e) => *slot = Some(e),
            Err(why) => out.skipped.push(format!("{kind} server skipped: {why}")),
        }
    }
    Ok(out)
}

fn child_text<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.children()
        .find(|c| c.has_tag_name(name))
        .and_then(|c| c.text())
        .map(str::trim)
}

fn fill(template: &str, email: &str, domain: &str) -> String {
    let local = email.rsplit_once('@').map_or(email, |(l, _)| l);
    template
        .replace("%EMAILADDRESS%", email)
        .replace("%EMAILLOCALPART%", local)
        .replace("%EMAILDOMAIN%", domain)
}

fn entry(node: roxmltree::Node, email: &str, domain: &str) -> Result<Entry, String> {
    let raw_host = child_text(node, "hostname").ok_or("no hostname")?;
    let host = valid_host(&fill(raw_host, email, domain)).ok_or("not a valid host name")?;
    let port = child_text(node, "port")
        .and_then(valid_port)
        .ok_or("no valid port")?;
    let security = match child_text(node, "socketType").unwrap_or("plain") {
        "SSL" => Security::Tls,
        "STARTTLS" => Security::Starttls,
        "plain" => Security::None,
        _ => return Err("unknown socketType".into()),
    };
    let server = Server {
        host,
        port,
        security,
    };
    if security == Security::None && !server.is_loopback() {
        return Err(format!(
            "{}:{} without encryption (the password would cross the network in clear)",
            server.host, server.port
        ));
    }
    let methods: Vec<&str> = node
        .children()
        .filter(|c| c.has_tag_name("authentication"))
        .filter_map(|c| c.text().map(str::trim))
        .collect();
    let password = methods.is_empty()
        || methods
            .iter()
            .any(|m| matches!(*m, "password-cleartext" | "plain"));
    let auth = if password {
        AuthMethod::Password
    } else {
        // OAuth2 only with an identity provider we know the endpoints of.
        match providers::by_server_host(&server.host).map(|p| p.auth) {
            Some(a @ AuthMethod::OAuth2(_)) if methods.contains(&"OAuth2") => a,
            _ => return Err("no sign-in method tidings speaks (password or OAuth2)".into()),
        }
    };
    let user = fill(child_text(node, "username").unwrap_or(email), email, domain);
    if user.is_empty()
        || user.len() > MAX_USER_LEN
        || user.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err("not a usable user name".into());
    }
    Ok(Entry { server, user, auth })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"<?xml version="1.0"?>
<clientConfig version="1.1">
  <emailProvider id="example.com">
    <domain>example.com</domain>
    <incomingServer type="pop3"><hostname>pop.example.com</hostname><port>995</port></incomingServer>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <username>%EMAILLOCALPART%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.com</hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
</clientConfig>"#;

    #[test]
    fn reads_servers_and_fills_placeholders() {
        let a = parse(FILE, "alice@example.com", "example.com").unwrap();
        let imap = a.imap.unwrap();
        assert_eq!(imap.server.host, "imap.example.com");
        assert_eq!(imap.server.security, Security::Tls);
        assert_eq!(imap.user, "alice");
        let smtp = a.smtp.unwrap();
        assert_eq!(
            (smtp.server.port, smtp.server.security),
            (587, Security::Starttls)
        );
        assert_eq!(smtp.user, "alice@example.com");
    }

    #[test]
    fn hostile_files_are_refused_or_skipped() {
        let plain = FILE.replace(
            "<socketType>SSL</socketType>",
            "<socketType>plain</socketType>",
        );
        let a = parse(&plain, "alice@example.com", "example.com").unwrap();
        assert!(a.imap.is_none());
        assert!(
            a.skipped[0].contains("without encryption"),
            "{:?}",
            a.skipped
        );
        let evil = FILE.replace("smtp.example.com", "smtp.example.com\"\n[x]");
        assert!(parse(&evil, "a@example.com", "example.com")
            .unwrap()
            .smtp
            .is_none());
        let port = FILE.replace("<port>587</port>", "<port>0</port>");
        assert!(parse(&port, "a@example.com", "example.com")
            .unwrap()
            .smtp
            .is_none());
        let dtd = format!(
            "<!DOCTYPE x [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]>{}",
            FILE.trim_start_matches("<?xml version=\"1.0\"?>\n")
        );
        assert!(matches!(
            parse(&dtd, "a@example.com", "example.com"),
            Err(AutoconfigError::Xml(_))
        ));
        assert_eq!(
            parse("<html/>", "a@example.com", "example.com"),
            Err(AutoconfigError::NoProvider)
        );
    }
}
