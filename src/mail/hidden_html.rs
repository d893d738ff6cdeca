//! Drops the elements of an HTML mail that its own styles hide, before it becomes text. A reader
//! that prints them shows what the sender never meant to be read: words hidden to fool a spam
//! filter ("display:none" lists of harmless text), a phishing line's real wording buried under
//! decoys, or a newsletter's "preheader" (the teaser an inbox shows next to the subject, hidden
//! in the body itself). Only inline styles and the `hidden` attribute are read: a `<style>`
//! sheet would need a CSS engine, and colour against background is out of reach without one.

use html2text::{Element, Handle, RcDom};

/// Element nesting kept for layout. html2text's work grows with depth × size (20,000 nested
/// `<ul><li><blockquote>` take two minutes), while real mail, even table-heavy newsletters,
/// nests a few dozen deep; past this, an element's content is kept as its text alone. (Tags
/// nested deeper than this are dropped before parsing, so hiding does not reach down there:
/// such mail shows more than it meant to, never less.)
const MAX_DOM_DEPTH: usize = 72;

/// Elements whose content is never text to read.
const NOT_TEXT: &[&str] = &["head", "script", "style", "template", "title"];

/// Prepares `dom` to become text: removes every element (with its content) hidden by an inline
/// style or the `hidden` attribute, and flattens what is nested past [`MAX_DOM_DEPTH`] into its
/// text. The DOM is the HTML parser's tree, so an unclosed `<p>` or `<td>` ends where a browser
/// ends it and hides nothing past it. One pass, no recursion, whatever the depth.
pub fn prune(dom: &RcDom) {
    let mut stack: Vec<(Handle, usize)> = vec![(dom.document.clone(), 0)];
    while let Some((node, depth)) = stack.pop() {
        node.children.borrow_mut().retain(|child| !is_hidden(child));
        if depth >= MAX_DOM_DEPTH {
            let text = shown_leaves(&node);
            for leaf in &text {
                leaf.parent.set(Some(std::rc::Rc::downgrade(&node)));
            }
            *node.children.borrow_mut() = text;
            continue;
        }
        stack.extend(
            node.children
                .borrow()
                .iter()
                .map(|c| (c.clone(), depth + 1)),
        );
    }
}

/// The text (and other non-element) nodes under `node`, in document order, leaving out hidden
/// elements and those whose content is not text.
fn shown_leaves(node: &Handle) -> Vec<Handle> {
    let mut leaves = Vec::new();
    let mut stack: Vec<Handle> = node.children.borrow().iter().rev().cloned().collect();
    while let Some(n) = stack.pop() {
        match &n.data {
            Element { name, .. } => {
                if !is_hidden(&n) && !NOT_TEXT.contains(&&*name.local) {
                    stack.extend(n.children.borrow().iter().rev().cloned());
                }
            }
            _ => leaves.push(n),
        }
    }
    leaves
}

fn is_hidden(node: &Handle) -> bool {
    let Element { attrs, .. } = &node.data else {
        return false;
    };
    attrs.borrow().iter().any(|a| match &*a.name.local {
        "hidden" => true,
        "style" => style_hides(&a.value),
        _ => false,
    })
}

/// The text of an HTML body as the list preview and the search index take it: what the reader
/// shows (hidden elements dropped), without layout, footnotes or emphasis marks.
pub fn visible_text(html: &str) -> String {
    // Building the tree costs ~5 ms for a 50 KB newsletter against ~0.13 ms for mail-parser's
    // tag stripper (release build): HTML that cannot hide anything takes the stripper.
    if !may_hide(html) {
        return mail_parser::decoders::html::html_to_text(html);
    }
    let config = html2text::config::with_decorator(html2text::render::TrivialDecorator::new())
        .raw_mode(true);
    let shallow = super::html_depth::limit_html_depth(html, MAX_DOM_DEPTH);
    let text = config.parse_html(shallow.as_bytes()).and_then(|dom| {
        prune(&dom);
        config
            .dom_to_render_tree(&dom)
            .and_then(|tree| config.render_to_string(tree, PREVIEW_WIDTH))
    });
    text.unwrap_or_else(|e| {
        tracing::debug!(error = %e, "html2text failed; using the plain tag stripper");
        mail_parser::decoders::html::html_to_text(html)
    })
}

/// Whether `html` holds anything [`is_hidden`] could act on: the `hidden` attribute (or
/// `visibility`/`overflow: hidden`), `mso-hide`, `display: none`, or a zero `font-size` or
/// `opacity`. A cheap over-approximation: one pass, no parsing.
fn may_hide(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    let zero = |v: &str| v.starts_with(['0', '.']);
    lower.contains("hidden")
        || lower.contains("mso-hide")
        || declares(&lower, "display", |v| v.starts_with("none"))
        || declares(&lower, "font-size", zero)
        || declares(&lower, "opacity", zero)
}

/// Whether some `prop: value` in `lower` has a value `pred` accepts.
fn declares(lower: &str, prop: &str, pred: impl Fn(&str) -> bool) -> bool {
    lower.match_indices(prop).any(|(at, _)| {
        let rest = lower[at + prop.len()..].trim_start();
        rest.strip_prefix(':').is_some_and(|v| pred(v.trim_start()))
    })
}

/// Lines of the preview text: wide, so a paragraph stays one line for the one-line preview.
const PREVIEW_WIDTH: usize = 1000;

/// True when an inline style makes its element draw nothing: `display:none`,
/// `visibility:hidden|collapse`, `font-size:0`, `opacity:0`, Outlook's `mso-hide:all`, or a zero
/// (max-)height or width with `overflow:hidden`.
fn style_hides(style: &str) -> bool {
    let mut zero_box = false;
    let mut overflow_hidden = false;
    for decl in style.split(';') {
        let Some((prop, value)) = decl.split_once(':') else {
            continue;
        };
        let prop = prop.trim().to_ascii_lowercase();
        let value = value.to_ascii_lowercase();
        let value = value.trim().trim_end_matches("!important").trim();
        let hides = match prop.as_str() {
            "display" => value == "none",
            "visibility" => value == "hidden" || value == "collapse",
            "font-size" | "opacity" => is_zero(value),
            "mso-hide" => value == "all",
            "max-height" | "height" | "max-width" | "width" => {
                zero_box |= is_zero(value);
                false
            }
            "overflow" | "overflow-x" | "overflow-y" => {
                overflow_hidden |= value == "hidden" || value == "clip";
                false
            }
            _ => false,
        };
        if hides {
            return true;
        }
    }
    zero_box && overflow_hidden
}

/// `0`, `0px`, `0.0em`, `0%`, `.0pt`: a length or number that is zero.
fn is_zero(value: &str) -> bool {
    let number = value.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == '%');
    !number.is_empty() && number.parse::<f64>().is_ok_and(|n| n == 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(html: &str) -> String {
        visible_text(html)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn elements_hidden_by_inline_style_or_attribute_are_dropped() {
        let html = "<p>Shown</p>\
<div style=\"display: none !important\">A</div>\
<span style='font-size:0px'>B</span>\
<p style=\"VISIBILITY:hidden\">C</p>\
<div style=\"max-height:0;overflow:hidden\">D<b>E</b></div>\
<p style=\"opacity:0.0\">F</p>\
<p hidden>G</p>\
<div style=\"mso-hide:all\">H</div>\
<p style=\"color:red;font-size:12px;opacity:0.5\">Kept</p>\
<p style=\"height:0\">Also kept</p>";
        assert_eq!(shown(html), "Shown Kept Also kept");
    }

    #[test]
    fn a_hidden_element_left_open_hides_only_itself() {
        assert_eq!(shown("<p style=\"display:none\">x<p>y</p>"), "y");
        assert_eq!(
            shown("<table><tr><td style=\"display:none\">a<td>b</table>after"),
            "b after"
        );
        assert_eq!(shown("<ul><li hidden>a<li>b</ul>"), "b");
    }

    #[test]
    fn html_that_cannot_hide_skips_the_tree() {
        assert!(!may_hide(
            "<p style=\"font-size: 14px; display:block\">x</p>"
        ));
        assert!(may_hide("<p style=\"font-size : 0\">x</p>"));
        assert!(may_hide("<p style=\"DISPLAY:NONE\">x</p>"));
        assert!(may_hide("<p hidden>x</p>"));
        assert_eq!(shown("<p>a</p><p style=\"opacity:.5\">b</p>"), "a b");
    }

    #[test]
    fn deep_nesting_keeps_its_text_without_the_layout() {
        let html = "<p hidden>gone</p>".to_string()
            + &"<ul><li><blockquote>x".repeat(20_000)
            + "<script>no</script> bottom";
        let text = shown(&html);
        assert!(!text.contains("gone"));
        assert!(text.ends_with("x x bottom"), "{}", &text[text.len() - 40..]);
        assert_eq!(text.matches('x').count(), 20_000);
    }
}
