//! HTML to plain text: a single-pass tag stripper that drops non-content elements
//! (script, style, head, nav, footer, ...), turns block elements into paragraph breaks
//! and decodes entities.
//!
//! Hand-written rather than a full HTML5 parser (none is in the workspace dependencies,
//! and a DOM build would cost far more than our per-article budget) or regex passes
//! (which cannot skip a `<script>` body that itself contains tags, and need several
//! passes over the text). It is linear in the input: every skipped element is searched
//! for at most once per name (see `unclosed`), so hostile input cannot make it quadratic.

use std::sync::LazyLock;

use regex::Regex;

/// Elements whose content is raw text up to the matching close tag (no nesting).
const RAW_TEXT: &[&str] = &["script", "style", "title", "textarea", "xmp"];

/// Elements whose whole subtree is page furniture, not article text.
const SKIPPED: &[&str] = &[
    "head", "nav", "footer", "noscript", "template", "svg", "iframe", "object", "select", "button",
    "form", "math", "canvas", "video", "audio",
];

/// Elements that end a paragraph / line when opened or closed.
const BLOCK: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "caption",
    "dd",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "tr",
    "ul",
    "body",
    "html",
];

/// Cells are separated, not broken into paragraphs.
const CELL: &[&str] = &["td", "th"];

static LOOKS_LIKE_HTML: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)<(?:/?(?:p|div|br|span|a|b|i|em|strong|h[1-6]|ul|ol|li|table|tr|td|th|section|article|header|footer|nav|main|aside|figure|figcaption|blockquote|pre|img|script|style|noscript|head|body|html|meta|link|iframe|hr|time|picture|source|font|center|sup|sub|small|u|q|cite)\b[^<>]*>|!--|!doctype)",
    )
    .ok()
});

/// Whether `text` contains markup worth reducing (a known tag, comment or doctype).
/// Plain text that merely contains `<` (e.g. "x < y") is left alone.
pub(crate) fn looks_like_html(text: &str) -> bool {
    text.contains('<') && LOOKS_LIKE_HTML.as_ref().is_some_and(|re| re.is_match(text))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagKind {
    Open,
    Close,
    /// Comment, doctype, processing instruction: dropped.
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Tag {
    kind: TagKind,
    /// Byte range of the element name (ASCII) in the input.
    name: (usize, usize),
    self_closing: bool,
    /// Byte offset just past the tag's `>`.
    end: usize,
}

impl Tag {
    fn name<'a>(&self, html: &'a str) -> &'a str {
        html.get(self.name.0..self.name.1).unwrap_or("")
    }
    fn is(&self, html: &str, names: &[&str]) -> bool {
        let name = self.name(html);
        names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }
}

fn find_byte(bytes: &[u8], from: usize, b: u8) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|&x| x == b)
        .map(|p| p + from)
}

fn find_seq(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Tag parser over one document. Remembers, per terminator byte, the position from
/// which that byte no longer occurs, so a failed search (unterminated quote, no `>`)
/// is done once per document instead of once per `<`: keeps hostile input linear.
struct Scanner<'a> {
    html: &'a str,
    bytes: &'a [u8],
    /// No `>` at or after this offset.
    no_gt_from: usize,
    /// No `"` / `'` at or after these offsets.
    no_dquote_from: usize,
    no_squote_from: usize,
}

impl<'a> Scanner<'a> {
    fn new(html: &'a str) -> Self {
        let len = html.len() + 1;
        Scanner {
            html,
            bytes: html.as_bytes(),
            no_gt_from: len,
            no_dquote_from: len,
            no_squote_from: len,
        }
    }

    fn find_gt(&mut self, from: usize) -> Option<usize> {
        if from >= self.no_gt_from {
            return None;
        }
        let found = find_byte(self.bytes, from, b'>');
        if found.is_none() {
            self.no_gt_from = from;
        }
        found
    }

    fn find_quote(&mut self, from: usize, quote: u8) -> Option<usize> {
        let limit = if quote == b'"' {
            &mut self.no_dquote_from
        } else {
            &mut self.no_squote_from
        };
        if from >= *limit {
            return None;
        }
        let found = find_byte(self.bytes, from, quote);
        if found.is_none() {
            *limit = from;
        }
        found
    }

    /// Parses the tag starting at `lt` (which holds `<`), or `None` if this `<` is text.
    fn parse_tag(&mut self, lt: usize) -> Option<Tag> {
        let bytes = self.bytes;
        let next = *bytes.get(lt + 1)?;
        match next {
            b'!' if bytes.get(lt + 2..lt + 4) == Some(b"--") => {
                // An unterminated comment runs to the end of the document.
                let end = find_seq(bytes, lt + 4, b"-->").map_or(bytes.len(), |p| p + 3);
                Some(Tag {
                    kind: TagKind::Other,
                    name: (0, 0),
                    self_closing: true,
                    end,
                })
            }
            b'!' | b'?' => {
                let end = self.find_gt(lt + 2)? + 1;
                Some(Tag {
                    kind: TagKind::Other,
                    name: (0, 0),
                    self_closing: true,
                    end,
                })
            }
            _ => {
                let (kind, name_start) = if next == b'/' {
                    (TagKind::Close, lt + 2)
                } else {
                    (TagKind::Open, lt + 1)
                };
                if !bytes.get(name_start)?.is_ascii_alphabetic() {
                    return None;
                }
                let mut i = name_start;
                while bytes
                    .get(i)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b':' | b'_'))
                {
                    i += 1;
                }
                let name = (name_start, i);
                // Attributes: the first `>` outside a quoted value ends the tag.
                loop {
                    let gt = self.find_gt(i)?;
                    let segment = bytes.get(i..gt).unwrap_or(&[]);
                    let Some(q) = segment.iter().position(|&b| b == b'"' || b == b'\'') else {
                        let self_closing = gt > name.1 && bytes.get(gt - 1) == Some(&b'/');
                        return Some(Tag {
                            kind,
                            name,
                            self_closing,
                            end: gt + 1,
                        });
                    };
                    let open = i + q;
                    match self.find_quote(open + 1, bytes[open]) {
                        Some(close) => i = close + 1,
                        None => {
                            // Unterminated quote: the first `>` after the name ends it.
                            let gt = self.find_gt(name.1)?;
                            return Some(Tag {
                                kind,
                                name,
                                self_closing: false,
                                end: gt + 1,
                            });
                        }
                    }
                }
            }
        }
    }
}

/// Reduces HTML to text with `\n` between blocks. Whitespace is not collapsed here;
/// the caller normalises the result.
pub(crate) fn html_to_text(html: &str) -> String {
    let mut scan = Scanner::new(html);
    let bytes = html.as_bytes();
    let mut out = String::with_capacity(html.len() / 2);
    // Names of skipped elements whose close tag was searched for and not found: later
    // opens of the same name are not searched again (keeps the scan linear).
    let mut unclosed: Vec<&str> = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while let Some(lt) = find_byte(bytes, i, b'<') {
        let Some(tag) = scan.parse_tag(lt) else {
            i = lt + 1;
            continue;
        };
        push_text(&mut out, html.get(text_start..lt).unwrap_or(""));
        i = tag.end;
        if tag.kind == TagKind::Open && !tag.self_closing {
            if tag.is(html, RAW_TEXT) {
                // Raw text runs to `</name`; unterminated means it runs to the end.
                i = find_close_raw(bytes, tag.end, tag.name(html)).unwrap_or(bytes.len());
            } else if tag.is(html, SKIPPED) {
                let name = tag.name(html);
                if !unclosed.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                    match find_matching_close(&mut scan, tag.end, name) {
                        Some(end) => i = end,
                        None => unclosed.push(name),
                    }
                }
            }
        }
        if tag.kind != TagKind::Other {
            if tag.is(html, BLOCK) {
                out.push('\n');
            } else if tag.is(html, CELL) {
                out.push(' ');
            }
        }
        text_start = i;
    }
    push_text(&mut out, html.get(text_start..).unwrap_or(""));
    out
}

fn push_text(out: &mut String, text: &str) {
    if text.contains('&') {
        html_escape::decode_html_entities_to_string(text, out);
    } else {
        out.push_str(text);
    }
}

/// Start of the `</name` that ends a raw-text element, case-insensitively.
fn find_close_raw(bytes: &[u8], from: usize, name: &str) -> Option<usize> {
    let mut i = from;
    while let Some(lt) = find_byte(bytes, i, b'<') {
        if bytes.get(lt + 1) == Some(&b'/')
            && bytes
                .get(lt + 2..lt + 2 + name.len())
                .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            && !bytes
                .get(lt + 2 + name.len())
                .is_some_and(|b| b.is_ascii_alphanumeric())
        {
            return Some(lt);
        }
        i = lt + 1;
    }
    None
}

/// Offset just past the close tag matching an open `name` whose content starts at
/// `from`, counting nested elements of the same name. A `<head>` without `</head>`
/// ends where `<body>` starts.
fn find_matching_close(scan: &mut Scanner<'_>, from: usize, name: &str) -> Option<usize> {
    let html = scan.html;
    let mut depth = 1usize;
    let mut i = from;
    while let Some(lt) = find_byte(scan.bytes, i, b'<') {
        let Some(tag) = scan.parse_tag(lt) else {
            i = lt + 1;
            continue;
        };
        i = tag.end;
        let tag_name = tag.name(html);
        if tag.kind == TagKind::Other || !tag_name.eq_ignore_ascii_case(name) {
            if tag.kind == TagKind::Open
                && name.eq_ignore_ascii_case("head")
                && tag_name.eq_ignore_ascii_case("body")
            {
                return Some(lt);
            }
            continue;
        }
        match tag.kind {
            TagKind::Open if !tag.self_closing => depth += 1,
            TagKind::Close => {
                depth -= 1;
                if depth == 0 {
                    return Some(tag.end);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::normalize::{Lines, normalize_text};

    fn reduce(html: &str) -> String {
        normalize_text(&html_to_text(html), Lines::Keep, usize::MAX)
    }

    #[test]
    fn detects_html() {
        assert!(looks_like_html("<p>Hello</p>"));
        assert!(looks_like_html("text<br/>more"));
        assert!(looks_like_html("<!DOCTYPE html><html>"));
        assert!(looks_like_html("a <a href=\"x\">link</a>"));
        assert!(!looks_like_html("if x < y and y > z then"));
        assert!(!looks_like_html("plain text"));
        assert!(!looks_like_html("<unknown-thing> is not markup we know"));
    }

    #[test]
    fn drops_furniture_and_keeps_paragraphs() {
        let html = r#"<!DOCTYPE html><html><head><title>Site title</title>
            <style>p { color: red }</style><meta charset="utf-8"></head>
            <body><nav><ul><li>Home</li><li>World</li></ul></nav>
            <script>var s = "</p><p>not text";</script>
            <article><h1>Headline</h1><p>First <b>bold</b> paragraph &amp; more.</p>
            <p>Second&nbsp;paragraph with &#8220;quotes&#8221; and &eacute;.</p>
            <noscript>Enable JS</noscript><!-- comment <p>hidden</p> -->
            <div>Third<br>line</div></article>
            <footer><p>Copyright footer</p></footer></body></html>"#;
        assert_eq!(
            reduce(html),
            "Headline\nFirst bold paragraph & more.\nSecond paragraph with \u{201C}quotes\u{201D} and é.\nThird\nline"
        );
    }

    #[test]
    fn nested_skipped_elements() {
        let html = "<p>a</p><nav>x<nav>y</nav>z</nav><p>b</p>";
        assert_eq!(reduce(html), "a\nb");
    }

    #[test]
    fn unclosed_skipped_element_keeps_following_text() {
        let html = "<nav>menu<p>a</p><p>b</p><nav>";
        assert_eq!(reduce(html), "menu\na\nb");
    }

    #[test]
    fn head_without_close_ends_at_body() {
        let html = "<html><head><meta x=1><body><p>text</p></body></html>";
        assert_eq!(reduce(html), "text");
    }

    #[test]
    fn unterminated_script_drops_the_rest() {
        assert_eq!(reduce("<p>keep</p><script>if (a<b) {"), "keep");
    }

    #[test]
    fn literal_angle_brackets_and_quoted_attributes() {
        assert_eq!(reduce("<p>x < y</p><p>3 <4</p>"), "x < y\n3 <4");
        assert_eq!(
            reduce(r#"<a title="a > b" href='c'>link</a> text"#),
            "link text"
        );
        assert_eq!(
            reduce("<p>cells</p><table><tr><td>a</td><td>b</td></tr></table>"),
            "cells\na b"
        );
    }

    #[test]
    fn malformed_input_does_not_panic() {
        for html in [
            "<",
            "<<",
            "<a",
            "</",
            "</>",
            "<!--",
            "<!",
            "<?",
            "<p",
            "<p title=\"",
            "<script>",
            "<nav>",
            "<é>",
            "<p>é</p",
            "&",
            "&#xFFFFFFFF;",
            "&#0;",
            "<a href='>",
        ] {
            let _ = reduce(html);
        }
    }

    #[test]
    fn hostile_input_stays_linear() {
        for html in [
            "<nav>".repeat(200_000),
            "<a b=\"".repeat(200_000),
            "<a b=\"x\" ".repeat(200_000),
            "<!x".repeat(200_000),
            "<nav><p>".repeat(100_000) + &"</nav>".repeat(100_000),
        ] {
            let start = std::time::Instant::now();
            let _ = html_to_text(&html);
            assert!(
                start.elapsed() < std::time::Duration::from_secs(5),
                "{}",
                &html[..20]
            );
        }
    }
}
