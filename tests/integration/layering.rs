//! The map in docs/architecture.md, checked against the code: every path a file of `src/` names
//! (`crate::…`, `super::…`, `self::…`, and a child module's name) is resolved to the file that
//! defines it, re-exports within a layer followed; a file may name files of its own layer and of the layers the
//! table below allows, and no files may name each other in a circle. A module's `mod.rs` naming its
//! own children (declaring and re-exporting them) is the module's public face, not a dependency,
//! so those edges are left out of the circle check.
//!
//! Run alone with `cargo test --test integration layering`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The bottom layer's shared vocabulary: every layer may use it, it uses nothing of the crate.
const VOCABULARY: &[&str] = &[
    "address",
    "message_id",
    "sanitize",
    "tracking_event",
    "private_files",
    "clock",
];

/// Each layer (a module path) and the layers it may name, besides itself and the vocabulary.
/// A file belongs to the longest layer that is a prefix of its module path.
const LAYERS: &[(&str, &[&str])] = &[
    ("address", &[]),
    ("message_id", &[]),
    ("sanitize", &[]),
    ("tracking_event", &[]),
    ("private_files", &[]),
    ("clock", &[]),
    ("secrets", &[]),
    ("store", &[]),
    ("config", &[]),
    ("logging", &["config"]),
    ("notify", &[]),
    ("mail", &["store", "config", "secrets"]),
    ("superdata", &["store", "config"]),
    ("accounts", &["mail", "superdata", "config"]),
    (
        "tracking",
        &[
            "tracking::client",
            "tracking::server",
            "tracking::wire",
            "tracking::token",
        ],
    ),
    ("tracking::token", &[]),
    ("tracking::wire", &["tracking::token"]),
    (
        "tracking::server",
        &["tracking::wire", "tracking::token", "config"],
    ),
    (
        "tracking::client",
        &[
            "tracking::wire",
            "tracking::token",
            "mail",
            "store",
            "config",
            "notify",
        ],
    ),
    (
        "demo",
        &[
            "mail",
            "superdata",
            "tracking::client",
            "tracking::server",
            "tracking::wire",
            "tracking::token",
            "store",
            "config",
            "logging",
            "notify",
        ],
    ),
    (
        "app",
        &[
            "mail",
            "superdata",
            "tracking::client",
            "tracking::wire",
            "tracking::token",
            "store",
            "config",
            "notify",
        ],
    ),
    ("ui", &["app", "config"]),
    (
        "cli",
        &[
            "ui",
            "app",
            "accounts",
            "demo",
            "mail",
            "superdata",
            "tracking",
            "store",
            "config",
            "logging",
            "notify",
            "secrets",
        ],
    ),
];

type ModPath = Vec<String>;

fn mod_path(s: &str) -> ModPath {
    if s.is_empty() {
        vec![]
    } else {
        s.split("::").map(str::to_string).collect()
    }
}

fn show(p: &[String]) -> String {
    if p.is_empty() {
        "crate".into()
    } else {
        p.join("::")
    }
}

/// The source with comments, string literals and char literals blanked (newlines kept), so that
/// braces and paths are only the code's own.
fn code_only(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !b
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // A raw string r"…" or r#"…"#: ends at a quote followed by as many #.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            while j < b.len() {
                if b[j] == '"' && (1..=hashes).all(|k| b.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            for &ch in &b[i..j.min(b.len())] {
                out.push(blank(ch));
            }
            i = j;
        } else if c == '"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != '"' {
                if b[j] == '\\' {
                    j += 1;
                }
                j += 1;
            }
            for &ch in &b[i..(j + 1).min(b.len())] {
                out.push(blank(ch));
            }
            i = j + 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1F}') or a lifetime ('a): only the former is blanked.
            let end = if next == Some('\\') {
                (i + 2..b.len().min(i + 12)).find(|&j| b[j] == '\'')
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(e) => {
                    for _ in i..=e {
                        out.push(' ');
                    }
                    i = e + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Path, // ::
    Punct(char),
}

fn tokens(code: &str) -> Vec<(Tok, usize)> {
    let b: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let s = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(b[s..i].iter().collect()), line));
        } else if c == ':' && b.get(i + 1) == Some(&':') {
            out.push((Tok::Path, line));
            i += 2;
        } else {
            out.push((Tok::Punct(c), line));
            i += 1;
        }
    }
    out
}

/// One file of the crate.
struct SourceFile {
    rel: String,
    module: ModPath,
    tokens: Vec<(Tok, usize)>,
    /// `pub` items it defines (fn, struct, enum, trait, type, const, static, mod, macro).
    items: BTreeSet<String>,
}

fn load(root: &Path) -> BTreeMap<ModPath, SourceFile> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/");
            let inner = rel.trim_start_matches("src/").trim_end_matches(".rs");
            if inner == "main" {
                continue; // the binary names the library as `tidings::`, an edge by definition
            }
            let module: ModPath = if inner == "lib" {
                vec![]
            } else {
                inner
                    .trim_end_matches("/mod")
                    .split('/')
                    .map(str::to_string)
                    .collect()
            };
            let src = std::fs::read_to_string(&path).expect("read source");
            let tokens = tokens(&code_only(&src));
            let mut items = BTreeSet::new();
            for w in tokens.windows(6) {
                if w[0].0 != Tok::Ident("pub".into()) {
                    continue;
                }
                let mut k = 1;
                if w[1].0 == Tok::Punct('(') {
                    k = 4; // pub(crate) / pub(super)
                }
                while k < 5
                    && matches!(&w[k].0, Tok::Ident(s) if s == "async" || s == "unsafe" || s == "const" && matches!(&w[k+1].0, Tok::Ident(f) if f == "fn"))
                {
                    k += 1;
                }
                if let (Tok::Ident(kw), Some((Tok::Ident(name), _))) = (&w[k].0, w.get(k + 1)) {
                    if [
                        "fn", "struct", "enum", "trait", "type", "const", "static", "mod",
                    ]
                    .contains(&kw.as_str())
                    {
                        items.insert(name.clone());
                    }
                }
            }
            for w in tokens.windows(3) {
                if let (Tok::Ident(m), Tok::Punct('!'), Tok::Ident(name)) =
                    (&w[0].0, &w[1].0, &w[2].0)
                {
                    if m == "macro_rules" {
                        items.insert(name.clone());
                    }
                }
            }
            files.insert(
                module.clone(),
                SourceFile {
                    rel,
                    module,
                    tokens,
                    items,
                },
            );
        }
    }
    files
}

/// A path as written, made absolute (from the crate root).
struct Reference {
    path: ModPath,
    line: usize,
}

/// Expands a use tree or path starting at `toks[i]` (the first segment) into full paths.
fn expand(toks: &[(Tok, usize)], mut i: usize, prefix: ModPath, out: &mut Vec<ModPath>) -> usize {
    let mut path = prefix;
    loop {
        match toks.get(i).map(|t| &t.0) {
            Some(Tok::Ident(s)) if s != "as" => {
                path.push(s.clone());
                i += 1;
            }
            Some(Tok::Punct('*')) => {
                i += 1;
                break;
            }
            Some(Tok::Punct('{')) => {
                i += 1;
                loop {
                    match toks.get(i).map(|t| &t.0) {
                        Some(Tok::Punct('}')) => {
                            i += 1;
                            break;
                        }
                        Some(Tok::Punct(',')) => i += 1,
                        None => return i,
                        _ => {
                            let before = i;
                            i = expand(toks, i, path.clone(), out);
                            // `as alias` after an item
                            if matches!(toks.get(i).map(|t| &t.0), Some(Tok::Ident(s)) if s == "as")
                            {
                                i += 2;
                            }
                            if i == before {
                                i += 1;
                            }
                        }
                    }
                }
                return i;
            }
            _ => break,
        }
        if toks.get(i).map(|t| &t.0) == Some(&Tok::Path) {
            i += 1;
        } else {
            break;
        }
    }
    out.push(path);
    i
}

fn references(file: &SourceFile, children: &BTreeSet<String>) -> Vec<Reference> {
    let toks = &file.tokens;
    let mut refs = Vec::new();
    // The module the code at a point is in: the file's, plus inline `mod name { … }` blocks.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let (tok, line) = (&toks[i].0, toks[i].1);
        match tok {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            Tok::Ident(s) if s == "mod" => {
                if let (Some((Tok::Ident(name), _)), Some((Tok::Punct('{'), _))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    inline.push((name.clone(), depth));
                }
            }
            _ => {}
        }
        let here: ModPath = file
            .module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(n, _)| n.clone()))
            .collect();
        let prev_is_path = i > 0 && toks[i - 1].0 == Tok::Path;
        if let Tok::Ident(s) = tok {
            if !prev_is_path && toks.get(i + 1).map(|t| &t.0) == Some(&Tok::Path) {
                let mut start = None;
                let mut base = here.clone();
                let mut j = i;
                if s == "crate" {
                    base = vec![];
                    start = Some(i + 2);
                } else if s == "self" {
                    start = Some(i + 2);
                } else if s == "super" {
                    while matches!(toks.get(j).map(|t| &t.0), Some(Tok::Ident(x)) if x == "super")
                        && toks.get(j + 1).map(|t| &t.0) == Some(&Tok::Path)
                    {
                        base.pop();
                        j += 2;
                    }
                    start = Some(j);
                } else if inline.is_empty() && children.contains(s) {
                    start = Some(i);
                }
                if let Some(start) = start {
                    let mut paths = Vec::new();
                    let end = expand(toks, start, base, &mut paths);
                    refs.extend(paths.into_iter().map(|path| Reference { path, line }));
                    i = end.max(i + 1);
                    continue;
                }
            }
        }
        i += 1;
    }
    refs
}

struct Crate {
    files: BTreeMap<ModPath, SourceFile>,
    /// Per module: re-exports by name (`pub use x::Item`) and glob re-exports (`pub use x::*`).
    reexports: BTreeMap<ModPath, (BTreeMap<String, ModPath>, Vec<ModPath>)>,
}

impl Crate {
    fn children(&self, module: &ModPath) -> BTreeSet<String> {
        self.files
            .keys()
            .filter(|k| k.len() == module.len() + 1 && k.starts_with(module))
            .map(|k| k[module.len()].clone())
            .collect()
    }

    /// The file a path names: the longest module prefix, then through re-exports of the item.
    fn resolve(&self, path: &ModPath, seen: &mut BTreeSet<ModPath>) -> Option<ModPath> {
        let mut m = path.clone();
        while !self.files.contains_key(&m) {
            m.pop()?;
        }
        if !seen.insert(path.clone()) {
            return Some(m);
        }
        if let Some(item) = path.get(m.len()) {
            if let Some((named, globs)) = self.reexports.get(&m) {
                // A re-export into another layer is that layer's public face (app hands ui the
                // store's records as its view types): the path names the re-exporting file.
                let here = layer_of(&m);
                if let Some(target) = named.get(item).filter(|t| layer_of(t) == here) {
                    let mut p = target.clone();
                    p.extend(path[m.len() + 1..].iter().cloned());
                    if let Some(r) = self.resolve(&p, seen) {
                        return Some(r);
                    }
                }
                if !self.files[&m].items.contains(item) {
                    for g in globs.iter().filter(|g| layer_of(g) == here) {
                        let mut p = g.clone();
                        p.extend(path[m.len()..].iter().cloned());
                        if let Some(r) = self.resolve(&p, seen) {
                            if r != *g || self.files.get(g).is_some_and(|f| f.items.contains(item))
                            {
                                return Some(r);
                            }
                        }
                    }
                }
            }
        }
        Some(m)
    }
}

fn load_crate() -> (Crate, BTreeMap<ModPath, Vec<Reference>>) {
    let files = load(Path::new(env!("CARGO_MANIFEST_DIR")));
    let mut krate = Crate {
        files,
        reexports: BTreeMap::new(),
    };
    let mut refs = BTreeMap::new();
    for (m, f) in &krate.files {
        let r = references(f, &krate.children(m));
        refs.insert(m.clone(), r);
    }
    // Re-exports: the `use` paths of a file whose statement starts with `pub use`.
    for (m, f) in &krate.files {
        let t = &f.tokens;
        let mut named = BTreeMap::new();
        let mut globs = Vec::new();
        for (k, w) in t.windows(2).enumerate() {
            let is_pub_use =
                w[0].0 == Tok::Ident("pub".into()) && w[1].0 == Tok::Ident("use".into());
            if !is_pub_use {
                continue;
            }
            let line = w[1].1;
            // The statement's tokens up to `;`, to see globs and aliases.
            let end = (k..t.len())
                .find(|&j| t[j].0 == Tok::Punct(';'))
                .unwrap_or(t.len());
            let stmt = &t[k..end];
            for r in refs[m]
                .iter()
                .filter(|r| r.line >= line && r.line <= stmt.last().map_or(line, |x| x.1))
            {
                let last = r.path.last().cloned().unwrap_or_default();
                let glob = stmt
                    .windows(2)
                    .any(|w| w[0].0 == Tok::Path && w[1].0 == Tok::Punct('*'))
                    && !krate.files[m].items.contains(&last)
                    && krate.files.contains_key(&r.path);
                if glob {
                    globs.push(r.path.clone());
                } else {
                    named.insert(last, r.path.clone());
                }
            }
        }
        krate.reexports.insert(m.clone(), (named, globs));
    }
    (krate, refs)
}

fn layer_of(m: &ModPath) -> Option<&'static str> {
    LAYERS
        .iter()
        .map(|(l, _)| *l)
        .filter(|l| {
            let lp = mod_path(l);
            m.len() >= lp.len() && m[..lp.len()] == lp[..]
        })
        .max_by_key(|l| l.len())
}

/// Every (from file, to file) edge, with the line of its first reference.
fn edges() -> (Crate, BTreeMap<(ModPath, ModPath), usize>) {
    let (krate, refs) = load_crate();
    let mut out = BTreeMap::new();
    for (m, rs) in &refs {
        for r in rs {
            if let Some(to) = krate.resolve(&r.path, &mut BTreeSet::new()) {
                if to != *m && !to.is_empty() {
                    out.entry((m.clone(), to)).or_insert(r.line);
                }
            }
        }
    }
    (krate, out)
}

#[test]
fn no_layer_names_a_layer_above_it() {
    let (krate, edges) = edges();
    let mut wrong = Vec::new();
    for ((from, to), line) in &edges {
        let (Some(lf), Some(lt)) = (layer_of(from), layer_of(to)) else {
            continue; // the crate root and the binary may name anything
        };
        let allowed = LAYERS
            .iter()
            .find(|(l, _)| *l == lf)
            .map_or(&[][..], |(_, a)| *a);
        let lt_path = mod_path(lt);
        let ok = lf == lt
            || VOCABULARY.contains(&lt)
            || allowed.iter().any(|a| {
                let ap = mod_path(a);
                lt_path.len() >= ap.len() && lt_path[..ap.len()] == ap[..]
            });
        if !ok {
            wrong.push(format!(
                "{}:{line}: layer `{lf}` names `{}` (layer `{lt}`)",
                krate.files[from].rel,
                show(to)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layer map (docs/architecture.md):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_file_is_on_the_map() {
    let (krate, _) = load_crate();
    let lost: Vec<&str> = krate
        .files
        .iter()
        .filter(|(m, _)| !m.is_empty() && layer_of(m).is_none())
        .map(|(_, f)| f.rel.as_str())
        .collect();
    assert!(lost.is_empty(), "files in no layer of the map: {lost:?}");
}

#[test]
fn no_files_name_each_other_in_a_circle() {
    let (krate, edges) = edges();
    let graph: BTreeMap<&ModPath, Vec<&ModPath>> = edges
        .keys()
        // A parent naming its own children is its public face, not a dependency.
        .filter(|(from, to)| !(to.len() > from.len() && to.starts_with(from)))
        .fold(BTreeMap::new(), |mut g, (f, t)| {
            g.entry(f).or_insert_with(Vec::new).push(t);
            g
        });
    // Tarjan's strongly connected components.
    struct Tarjan<'a> {
        graph: &'a BTreeMap<&'a ModPath, Vec<&'a ModPath>>,
        index: BTreeMap<&'a ModPath, usize>,
        low: BTreeMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on_stack: BTreeSet<&'a ModPath>,
        next: usize,
        circles: Vec<Vec<&'a ModPath>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a ModPath) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on_stack.insert(v);
            for &w in self.graph.get(v).map(Vec::as_slice).unwrap_or(&[]) {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut scc = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    scc.push(w);
                    if w == v {
                        break;
                    }
                }
                if scc.len() > 1 {
                    scc.sort();
                    self.circles.push(scc);
                }
            }
        }
    }
    let mut t = Tarjan {
        graph: &graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        circles: Vec::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(*v) {
            t.visit(v);
        }
    }
    let report: Vec<String> = t
        .circles
        .iter()
        .map(|c| {
            let names: Vec<&str> = c.iter().map(|m| krate.files[*m].rel.as_str()).collect();
            let links: Vec<String> = edges
                .iter()
                .filter(|((f, to), _)| c.contains(&f) && c.contains(&to))
                .filter(|((f, to), _)| !(to.len() > f.len() && to.starts_with(f)))
                .map(|((f, to), line)| format!("{}:{line} → {}", krate.files[f].rel, show(to)))
                .collect();
            format!("{}\n    {}", names.join(", "), links.join("\n    "))
        })
        .collect();
    assert!(
        report.is_empty(),
        "files that import each other (directly or in a circle):\n{}",
        report.join("\n")
    );
}

#[test]
fn the_checker_sees_what_it_must() {
    // The checker itself: a grouped use, a `super::` from a nested file and from a test module,
    // a child named from its parent and a path inside an expression are all references; a path
    // in a string or a comment is not.
    let src = r#"
        use crate::{store::{Store, x}, mail::sync};
        // crate::cli::nothing
        fn f() { let s = "crate::ui::nothing"; crate::app::update(); }
        pub use child::Item;
        mod tests { use super::*; use super::super::sibling::Thing; }
    "#;
    let file = SourceFile {
        rel: "src/a/b.rs".into(),
        module: mod_path("a::b"),
        tokens: tokens(&code_only(src)),
        items: BTreeSet::new(),
    };
    let children: BTreeSet<String> = ["child".to_string()].into();
    let got: Vec<String> = references(&file, &children)
        .into_iter()
        .map(|r| show(&r.path))
        .collect();
    assert_eq!(
        got,
        [
            "store::Store",
            "store::x",
            "mail::sync",
            "app::update",
            "a::b::child::Item",
            "a::b",
            "a::sibling::Thing"
        ]
    );
}
