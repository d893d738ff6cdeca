//! Message-ID helpers shared by every layer: headers carry `<id@host>`, people and some servers
//! drop the brackets, and the cache stores the bracketed form, so comparisons go through here.

/// The id without surrounding whitespace and angle brackets.
pub fn bare(id: &str) -> &str {
    id.trim().trim_start_matches('<').trim_end_matches('>')
}

/// `<id>` whether or not the caller gave the brackets.
pub fn bracketed(id: &str) -> String {
    let id = id.trim();
    if id.starts_with('<') && id.ends_with('>') {
        id.to_string()
    } else {
        format!("<{}>", bare(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_and_bracketed_agree_whatever_the_input() {
        for id in ["a@b", "<a@b>", " <a@b> ", "a@b>", "<a@b"] {
            assert_eq!(bare(id), "a@b", "{id:?}");
            assert_eq!(bracketed(id), "<a@b>", "{id:?}");
        }
    }
}
