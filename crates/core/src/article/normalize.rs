//! Text normalisation: the display form stored in `Article::text`, and the word stream
//! (lowercase, punctuation-free) that content hashes and shingles are computed over.

use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// Whether newlines survive normalisation (body text) or become spaces (titles, names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lines {
    Keep,
    Join,
}

/// Normalises text for storage and display.
///
/// NFKC; control characters and invisible format characters (soft hyphen, zero-width
/// spaces, bidi overrides, BOM) removed; runs of whitespace collapsed to one space; line
/// breaks (any run of them, with the spaces around them) collapsed to a single `\n`
/// between paragraphs, or to a space with [`Lines::Join`]; no leading or trailing
/// whitespace. At most `max_chars` characters are kept (cut at a character boundary).
pub(crate) fn normalize_text(raw: &str, lines: Lines, max_chars: usize) -> String {
    // NFKC is the expensive step and a no-op for almost all real text: collapse first,
    // checking each non-ASCII character on the way; only if one might change under
    // NFKC ("…", "ﬁ", full-width forms, combining marks), normalise the lines that
    // contain such characters (a line break is a safe NFKC boundary) and collapse that.
    collapse(raw, lines, max_chars, true)
        .or_else(|| {
            let mut normalized = String::with_capacity(raw.len() + raw.len() / 8);
            for line in raw.split_inclusive('\n') {
                if line
                    .chars()
                    .all(|c| c.is_ascii() || c.is_whitespace() || nfkc_stable(c))
                {
                    normalized.push_str(line);
                } else {
                    // Characters `collapse` drops go first: a NUL or zero-width space
                    // between a letter and its combining mark would otherwise keep them
                    // apart under NFKC, and leave them uncomposed once dropped.
                    normalized.extend(line.chars().filter(|c| !is_dropped(*c)).nfkc());
                }
            }
            collapse(&normalized, lines, max_chars, false)
        })
        .unwrap_or_default()
}

/// Whether `c` certainly stays as it is under NFKC, whatever surrounds it: quick-check
/// "yes" and a starter (combining marks may be reordered or composed).
fn nfkc_stable(c: char) -> bool {
    canonical_combining_class(c) == 0 && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes
}

/// The whitespace / control-character part of [`normalize_text`]. With `check_nfkc`,
/// returns `None` as soon as a character is met that NFKC might change.
fn collapse(text: &str, lines: Lines, max_chars: usize, check_nfkc: bool) -> Option<String> {
    let mut out = String::with_capacity(text.len().min(max_chars.saturating_mul(4)));
    let bytes = text.as_bytes();
    let mut chars = 0usize;
    let mut pending_space = false;
    let mut pending_break = false;
    // Runs of ordinary characters (including single spaces between them) are copied as
    // one slice; ASCII is classified per byte without decoding. This is the hottest
    // loop of parsing.
    let mut run_start: Option<usize> = None;
    let mut cut = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (class, len) = if b.is_ascii() {
            let class = match b {
                0x21..=0x7E => Class::Ordinary,
                b' ' if run_start.is_some()
                    && bytes.get(i + 1).is_some_and(|n| (0x21..=0x7E).contains(n)) =>
                {
                    Class::Ordinary
                }
                b' ' | b'\t' => Class::Space,
                b'\n' | b'\r' | 0x0B | 0x0C => Class::Break,
                _ => Class::Drop,
            };
            (class, 1)
        } else {
            let c = text
                .get(i..)
                .and_then(|rest| rest.chars().next())
                .unwrap_or('\u{FFFD}');
            let class = if is_line_break(c) {
                Class::Break
            } else if c.is_whitespace() {
                // NFKC maps whitespace (no-break and typographic spaces) to whitespace,
                // which collapses the same way: no check needed.
                Class::Space
            } else if c.is_control() || is_invisible(c) {
                Class::Drop
            } else {
                if check_nfkc && !nfkc_stable(c) {
                    return None;
                }
                Class::Ordinary
            };
            (class, c.len_utf8())
        };
        if class == Class::Ordinary {
            if run_start.is_none() {
                if !out.is_empty() && (pending_space || pending_break) {
                    if chars >= max_chars {
                        cut = true;
                        break;
                    }
                    out.push(if pending_break && lines == Lines::Keep {
                        '\n'
                    } else {
                        ' '
                    });
                    chars += 1;
                }
                pending_space = false;
                pending_break = false;
                run_start = Some(i);
            }
            if chars >= max_chars {
                cut = true;
                break;
            }
            chars += 1;
            i += len;
            // Fast path: the rest of a run of printable ASCII (words with single
            // spaces), bounded by the characters still allowed.
            let limit = bytes.len().min(i.saturating_add(max_chars - chars));
            while i < limit {
                match bytes[i] {
                    0x21..=0x7E => {}
                    b' ' if bytes.get(i + 1).is_some_and(|n| (0x21..=0x7E).contains(n)) => {}
                    _ => break,
                }
                i += 1;
                chars += 1;
            }
            continue;
        }
        if let Some(start) = run_start.take() {
            out.push_str(text.get(start..i).unwrap_or(""));
        }
        match class {
            Class::Break => pending_break = true,
            Class::Space => pending_space = true,
            _ => {}
        }
        i += len;
    }
    if let Some(start) = run_start {
        let end = if cut { i } else { bytes.len() };
        out.push_str(text.get(start..end).unwrap_or(""));
    }
    // The cut may have landed right after a separator.
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    Some(out)
}

/// Whether `collapse` removes `c` (control and invisible format characters that are not
/// whitespace or line breaks).
fn is_dropped(c: char) -> bool {
    if c.is_ascii() {
        !matches!(
            c,
            '\u{21}'..='\u{7e}' | ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}'
        )
    } else {
        !is_line_break(c) && !c.is_whitespace() && (c.is_control() || is_invisible(c))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Copied.
    Ordinary,
    /// Collapses with its neighbours into one space.
    Space,
    /// Collapses with its neighbours into one paragraph break.
    Break,
    /// Removed.
    Drop,
}

fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Format characters that render as nothing but would split or alter words.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{AD}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// Scripts written without spaces between words: each character is its own word.
fn is_unspaced_script(c: char) -> bool {
    matches!(
        c,
        '\u{3040}'..='\u{30FF}'      // Hiragana, Katakana
            | '\u{3400}'..='\u{4DBF}' // CJK extension A
            | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
            | '\u{F900}'..='\u{FAFF}' // CJK compatibility ideographs
            | '\u{0E00}'..='\u{0E7F}' // Thai
            | '\u{20000}'..='\u{2FA1F}'
    )
}

/// Whether a non-ASCII character belongs to a word (is alphanumeric). The common cases
/// of Latin text are decided by range: the Unicode table lookup behind
/// `char::is_alphanumeric` costs tens of nanoseconds, and every curly quote and dash
/// would pay it.
fn is_word_char(c: char) -> bool {
    match c {
        // General Punctuation: curly quotes, dashes, typographic spaces
        '\u{2000}'..='\u{206F}' => false,
        // Latin-1 letters and Latin Extended-A/B, except × and ÷
        '\u{00C0}'..='\u{024F}' => c != '\u{00D7}' && c != '\u{00F7}',
        _ => c.is_alphanumeric(),
    }
}

/// Apostrophes inside words are dropped rather than splitting ("Russia’s" == "Russias").
fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`' | '\u{00B4}'
    )
}

/// Calls `f` with each word of `text`, lowercased, in order.
///
/// A word is a run of alphanumeric characters; everything else (punctuation, quotes of
/// any style, dashes, whitespace) separates words, so the word stream is insensitive to
/// quote style, case, whitespace and punctuation. This runs twice for every article on
/// the hot path, so a word that is already lowercase ASCII (most of them) is passed as
/// a slice of `text`; only the others are copied, into one reused buffer.
pub(crate) fn for_each_word(text: &str, mut f: impl FnMut(&str)) {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut buf = String::with_capacity(32);
    let char_at = |i: usize| {
        text.get(i..)
            .and_then(|rest| rest.chars().next())
            .unwrap_or(' ')
    };
    let mut i = 0;
    while i < n {
        // Between words: skip to the next alphanumeric character.
        let b = bytes[i];
        if b.is_ascii() {
            if !b.is_ascii_alphanumeric() {
                i += 1;
                continue;
            }
        } else {
            let c = char_at(i);
            if is_unspaced_script(c) {
                let mut utf8 = [0u8; 4];
                f(c.encode_utf8(&mut utf8));
                i += c.len_utf8();
                continue;
            }
            if !is_word_char(c) {
                i += c.len_utf8();
                continue;
            }
        }
        // In a word: find its end, noting whether it needs rewriting (uppercase,
        // non-ASCII, apostrophes).
        let start = i;
        let mut copy = false;
        while i < n {
            let b = bytes[i];
            if b.is_ascii_lowercase() || b.is_ascii_digit() {
                i += 1;
            } else if b.is_ascii_uppercase() || b == b'\'' || b == b'`' {
                copy = true;
                i += 1;
            } else if b.is_ascii() {
                break;
            } else {
                let c = char_at(i);
                if is_unspaced_script(c) || !(is_apostrophe(c) || is_word_char(c)) {
                    break;
                }
                copy = true;
                i += c.len_utf8();
            }
        }
        let word = text.get(start..i).unwrap_or("");
        if !copy {
            f(word);
            continue;
        }
        buf.clear();
        for c in word.chars() {
            if c.is_ascii() {
                if c.is_ascii_alphanumeric() {
                    buf.push(c.to_ascii_lowercase());
                }
            } else if !is_apostrophe(c) {
                buf.extend(c.to_lowercase());
            }
        }
        if !buf.is_empty() {
            f(&buf);
        }
    }
}

/// Per ASCII byte: its lowercase form if it is part of words, 0 for separators, 1 for
/// apostrophes (dropped without separating).
const ASCII_WORD_BYTES: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else if c == b'\'' || c == b'`' {
            1
        } else {
            0
        };
        b += 1;
    }
    table
};

/// xxh3-64 of the word stream (the words of [`for_each_word`] joined by single spaces):
/// equal for texts that differ only in case, whitespace, quote style or punctuation.
///
/// Builds the joined words in one table-driven pass rather than through
/// `for_each_word`, which costs a call and a copy per word: this runs for every article.
pub(crate) fn content_hash(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut canonical: Vec<u8> = Vec::with_capacity(text.len());
    // a separator was seen since the last word byte
    let mut separated = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii() {
            match ASCII_WORD_BYTES[b as usize] {
                0 => separated = true,
                1 => {}
                lower => {
                    if separated && !canonical.is_empty() {
                        canonical.push(b' ');
                    }
                    separated = false;
                    canonical.push(lower);
                }
            }
            i += 1;
            continue;
        }
        let c = text
            .get(i..)
            .and_then(|rest| rest.chars().next())
            .unwrap_or(' ');
        i += c.len_utf8();
        if is_unspaced_script(c) {
            if !canonical.is_empty() {
                canonical.push(b' ');
            }
            let mut utf8 = [0u8; 4];
            canonical.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            separated = true;
        } else if is_word_char(c) {
            if separated && !canonical.is_empty() {
                canonical.push(b' ');
            }
            separated = false;
            for lower in c.to_lowercase() {
                let mut utf8 = [0u8; 4];
                canonical.extend_from_slice(lower.encode_utf8(&mut utf8).as_bytes());
            }
        } else if !is_apostrophe(c) {
            separated = true;
        }
    }
    xxhash_rust::xxh3::xxh3_64(&canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let mut v = Vec::new();
        for_each_word(text, |w| v.push(w.to_owned()));
        v
    }

    #[test]
    fn collapses_whitespace_and_keeps_paragraphs() {
        let raw = "  Hello\t\tworld  \r\n\r\n\n  Second   para \n";
        assert_eq!(
            normalize_text(raw, Lines::Keep, 1000),
            "Hello world\nSecond para"
        );
        assert_eq!(
            normalize_text(raw, Lines::Join, 1000),
            "Hello world Second para"
        );
    }

    #[test]
    fn strips_nul_controls_and_invisible_characters() {
        let raw = "a\0b\u{7}c\u{200B}d\u{FEFF}e\u{AD}f \u{1B}[0m";
        assert_eq!(normalize_text(raw, Lines::Keep, 1000), "abcdef [0m");
    }

    #[test]
    fn applies_nfkc_only_where_needed() {
        // one line needs NFKC, the others are taken as they are
        let raw = "Wait\u{2026} what\nplain line\u{A0}here\nﬁnal";
        assert_eq!(
            normalize_text(raw, Lines::Keep, 1000),
            "Wait... what\nplain line here\nfinal"
        );
        // combining marks are composed (and reordered) even after ASCII letters
        assert_eq!(
            normalize_text("Cafe\u{301}", Lines::Keep, 1000),
            "Caf\u{E9}"
        );
        assert_eq!(
            normalize_text("a\u{5B1}\u{5B0}", Lines::Keep, 1000),
            "a\u{5B0}\u{5B1}"
        );
    }

    #[test]
    fn applies_nfkc() {
        // full-width letters, ligature, non-breaking space, composed vs decomposed é
        let raw = "ＡＢＣ ﬁne\u{A0}cafe\u{301}";
        assert_eq!(normalize_text(raw, Lines::Keep, 1000), "ABC fine café");
    }

    #[test]
    fn truncates_at_char_boundary() {
        let raw = "ééééé ééééé";
        let out = normalize_text(raw, Lines::Keep, 7);
        assert_eq!(out, "ééééé é");
        // a cut right after a separator drops the separator
        assert_eq!(normalize_text(raw, Lines::Keep, 6), "ééééé");
        assert_eq!(normalize_text("abc", Lines::Keep, 0), "");
    }

    #[test]
    fn dropped_characters_do_not_keep_combining_marks_apart() {
        // Found by the property tests: NFKC ran before the NUL was dropped, so "i", NUL,
        // U+0301 stayed "i\u{301}" (not NFKC), which normalised again to "í".
        for raw in [
            "i\0\u{301}",
            "i\u{200B}\u{301}",
            "i\u{7}\u{301}x",
            "e\u{AD}\u{301}",
        ] {
            let once = normalize_text(raw, Lines::Keep, 100);
            assert_eq!(normalize_text(&once, Lines::Keep, 100), once, "{raw:?}");
            assert!(!once.contains('\u{301}'), "{raw:?} -> {once:?}");
        }
        assert_eq!(normalize_text("i\0\u{301}", Lines::Keep, 100), "\u{ED}");
        // The classification agrees with `collapse`.
        for c in [
            '\0', '\u{7}', '\u{7f}', '\u{9c}', '\u{200B}', '\u{FEFF}', '\u{AD}',
        ] {
            assert!(is_dropped(c), "{c:?}");
        }
        for c in [
            ' ', '\t', '\n', '\u{85}', '\u{A0}', '\u{2028}', 'a', '\u{301}',
        ] {
            assert!(!is_dropped(c), "{c:?}");
        }
    }

    #[test]
    fn words_ignore_case_quotes_and_punctuation() {
        assert_eq!(
            words("Russia’s “comrade” -- U.S.-led, don't"),
            ["russias", "comrade", "u", "s", "led", "dont"]
        );
        assert_eq!(words("ÉCOLE Straße"), ["école", "straße"]);
        assert_eq!(words("東京都 abc"), ["東", "京", "都", "abc"]);
        assert!(words(" ,.;- ").is_empty());
    }

    #[test]
    fn content_hash_is_the_hash_of_the_joined_words() {
        for text in [
            "",
            "  ",
            "Hello, World!",
            "rock 'n' roll, dogs' bowls, don’t",
            "Putin’s “comrade” — U.S.-led; ÉCOLE Straße ǅemal",
            "東京都abc def漢字",
            "'leading and trailing'",
            "x\u{2019}\u{2019}y ‘quoted’ 5,000.5 İstanbul",
            "a\u{0301}b ÀÖØ×÷ ĳ ﬁ",
        ] {
            let joined = words(text).join(" ");
            assert_eq!(
                content_hash(text),
                xxhash_rust::xxh3::xxh3_64(joined.as_bytes()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn content_hash_is_insensitive_to_presentation() {
        let a = content_hash("Putin said: \"We will win.\"\nKim agreed — twice.");
        let b = content_hash("putin said “we will win” kim   agreed - twice");
        assert_eq!(a, b);
        assert_ne!(a, content_hash("putin said we will lose kim agreed twice"));
    }
}
