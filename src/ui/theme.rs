//! Colour themes: the shipped `themes/*.toml` (embedded, so the binary works from anywhere) and the
//! user's own in `$XDG_CONFIG_HOME/tidings/themes/`, which add themes or override shipped ones.

use ratatui::style::Color;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Shipped themes, by name.
pub const SHIPPED: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    (
        "catppuccin-mocha",
        include_str!("../../themes/catppuccin-mocha.toml"),
    ),
    ("gruvbox", include_str!("../../themes/gruvbox.toml")),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub background: Color,
    pub foreground: Color,
    pub dim: Color,
    pub accent: Color,
    pub border: Color,
    pub border_focus: Color,
    pub selection_bg: Color,
    pub selection_fg: Color,
    pub unread: Color,
    pub flagged: Color,
    pub marked: Color,
    pub error: Color,
    pub status_bg: Color,
    pub status_fg: Color,
    pub opened: Color,
    pub clicked: Color,
    pub header: Color,
}

impl Default for Theme {
    fn default() -> Self {
        let fallback = Theme::plain();
        parse(SHIPPED[0].1, fallback.clone()).unwrap_or(fallback)
    }
}

impl Theme {
    /// Terminal colours only; the base the shipped default is parsed onto.
    fn plain() -> Theme {
        Theme {
            background: Color::Reset,
            foreground: Color::Reset,
            dim: Color::DarkGray,
            accent: Color::Blue,
            border: Color::DarkGray,
            border_focus: Color::Blue,
            selection_bg: Color::DarkGray,
            selection_fg: Color::White,
            unread: Color::White,
            flagged: Color::Yellow,
            marked: Color::Magenta,
            error: Color::Red,
            status_bg: Color::Black,
            status_fg: Color::Gray,
            opened: Color::Green,
            clicked: Color::Cyan,
            header: Color::Cyan,
        }
    }

    fn slot(&mut self, key: &str) -> Option<&mut Color> {
        Some(match key {
            "background" => &mut self.background,
            "foreground" => &mut self.foreground,
            "dim" => &mut self.dim,
            "accent" => &mut self.accent,
            "border" => &mut self.border,
            "border_focus" => &mut self.border_focus,
            "selection_bg" => &mut self.selection_bg,
            "selection_fg" => &mut self.selection_fg,
            "unread" => &mut self.unread,
            "flagged" => &mut self.flagged,
            "marked" => &mut self.marked,
            "error" => &mut self.error,
            "status_bg" => &mut self.status_bg,
            "status_fg" => &mut self.status_fg,
            "opened" => &mut self.opened,
            "clicked" => &mut self.clicked,
            "header" => &mut self.header,
            _ => return None,
        })
    }
}

/// Parses a theme file onto `base` (keys it omits keep `base`'s colour). Errors name the key.
pub fn parse(text: &str, base: Theme) -> Result<Theme, String> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| e.message().to_string())?;
    let mut theme = base;
    for (key, value) in &table {
        if key != "colors" {
            return Err(format!(
                "unknown section or key `{key}` (expected [colors])"
            ));
        }
        let Some(colors) = value.as_table() else {
            return Err("`colors` must be a table".into());
        };
        for (name, v) in colors {
            let slot = theme
                .slot(name)
                .ok_or_else(|| format!("colors.{name}: unknown colour name"))?;
            let s = v
                .as_str()
                .ok_or_else(|| format!("colors.{name}: must be a string like \"#rrggbb\""))?;
            *slot = s.parse::<Color>().map_err(|_| {
                format!("colors.{name}: {s:?} is not a colour (\"#rrggbb\" or a name)")
            })?;
        }
    }
    Ok(theme)
}

/// Loads theme `name` (`None` = default): the user's dir first, then the shipped ones. A missing or
/// broken theme yields the default plus a message saying what was wrong.
pub fn load(name: Option<&str>, user_dir: Option<&Path>) -> (Theme, Option<String>) {
    match read(name.unwrap_or("default"), user_dir) {
        Ok(t) => (t, None),
        Err(e) => (Theme::default(), Some(format!("{e}; using the default"))),
    }
}

/// Theme `name`: the user's file first, then the shipped one; the error says what was wrong.
pub fn read(name: &str, user_dir: Option<&Path>) -> Result<Theme, String> {
    let user_file = user_dir.map(|d| d.join(format!("{name}.toml")));
    let (text, origin) = match user_file.as_ref().filter(|p| p.exists()) {
        Some(path) => (
            std::fs::read_to_string(path).map_err(|e| format!("theme {}: {e}", path.display()))?,
            path.display().to_string(),
        ),
        None => match SHIPPED.iter().find(|(n, _)| *n == name) {
            Some((_, t)) => (t.to_string(), format!("themes/{name}.toml")),
            None => {
                let known: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "theme {name:?} not found (shipped: {})",
                    known.join(", ")
                ));
            }
        },
    };
    parse(&text, Theme::default()).map_err(|e| format!("theme {origin}: {e}"))
}

/// Every theme there is, shipped and the user's (`*.toml` in `user_dir`), each read and parsed
/// (or why it could not be): what `:theme` switches between without touching the disk.
pub fn load_all(user_dir: Option<&Path>) -> BTreeMap<String, Result<Theme, String>> {
    let mut names: BTreeSet<String> = SHIPPED.iter().map(|(n, _)| n.to_string()).collect();
    if let Some(entries) = user_dir.and_then(|d| std::fs::read_dir(d).ok()) {
        for path in entries.flatten().map(|e| e.path()) {
            if path.extension().is_some_and(|x| x == "toml") {
                if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                    names.insert(stem.to_string());
                }
            }
        }
    }
    names
        .into_iter()
        .map(|n| {
            let t = read(&n, user_dir);
            (n, t)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_theme_parses() {
        for (name, text) in SHIPPED {
            parse(text, Theme::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn a_bad_user_theme_names_the_key_and_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "[colors]\naccent = \"#zzzzzz\"\n",
        )
        .unwrap();
        let (t, err) = load(Some("mine"), Some(dir.path()));
        assert_eq!(t, Theme::default());
        let err = err.unwrap();
        assert!(
            err.contains("colors.accent") && err.contains("mine.toml"),
            "{err}"
        );
        std::fs::write(
            dir.path().join("light.toml"),
            "[colors]\naccent = \"red\"\n",
        )
        .unwrap();
        let (t, err) = load(Some("light"), Some(dir.path()));
        assert!(err.is_none());
        assert_eq!(t.accent, Color::Red);
        let (_, err) = load(Some("nope"), Some(dir.path()));
        assert!(err.unwrap().contains("\"nope\" not found"));
    }

    #[test]
    fn load_all_offers_shipped_and_user_themes_and_says_why_one_is_broken() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mine.toml"), "[colors]\naccent = \"red\"\n").unwrap();
        std::fs::write(dir.path().join("bad.toml"), "[colors]\nnope = \"red\"\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a theme").unwrap();
        let all = load_all(Some(dir.path()));
        assert!(SHIPPED
            .iter()
            .all(|(n, _)| matches!(all.get(*n), Some(Ok(_)))));
        assert_eq!(
            all.get("mine").map(|t| t.as_ref().map(|t| t.accent)),
            Some(Ok(Color::Red))
        );
        let bad = all.get("bad").unwrap().as_ref().unwrap_err();
        assert!(
            bad.contains("colors.nope") && bad.contains("bad.toml"),
            "{bad}"
        );
        assert!(!all.contains_key("notes"));
    }
}
