//! Text normalisation: the display form stored in `Article::text`, and the word stream
//! (lowercase, punctuation-free) that content hashes and shingles are computed over.

use std::borrow::Cow;

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
    // NFKC is the expensive step; skip it when the quick check proves it a no-op
    // (always for ASCII, and for almost all real text).
    let text: Cow<'_, str> = if raw.is_ascii() || is_nfkc_quick(raw.chars()) == IsNormalized::Yes {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(raw.nfkc().collect())
    };

    let mut out = String::with_capacity(text.len().min(max_chars.saturating_mul(4)));
    let mut chars = 0usize;
    let mut pending_space = false;
    let mut pending_break = false;
    for c in text.chars() {
        if chars >= max_chars {
            break;
        }
        if is_line_break(c) {
            pending_break = true;
            continue;
        }
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if c.is_control() || is_invisible(c) {
            continue;
        }
        if !out.is_empty() && (pending_break || pending_space) {
            out.push(if pending_break && lines == Lines::Keep {
                '\n'
            } else {
                ' '
            });
            chars += 1;
            if chars >= max_chars {
                break;
            }
        }
        pending_space = false;
        pending_break = false;
        out.push(c);
        chars += 1;
    }
    // The cut may have landed right after a separator.
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
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
/// quote style, case, whitespace and punctuation. One reusable buffer, no allocation
/// per word: this runs for every article on the hot path.
pub(crate) fn for_each_word(text: &str, mut f: impl FnMut(&str)) {
    let mut word = String::with_capacity(32);
    for c in text.chars() {
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                word.push(c.to_ascii_lowercase());
            } else if c == '\'' || c == '`' {
                // apostrophe: keep the word together
            } else if !word.is_empty() {
                f(&word);
                word.clear();
            }
        } else if is_unspaced_script(c) {
            if !word.is_empty() {
                f(&word);
                word.clear();
            }
            let mut buf = [0u8; 4];
            f(c.encode_utf8(&mut buf));
        } else if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if is_apostrophe(c) {
            // as above
        } else if !word.is_empty() {
            f(&word);
            word.clear();
        }
    }
    if !word.is_empty() {
        f(&word);
    }
}

/// xxh3-64 of the word stream (words joined by single spaces): equal for texts that
/// differ only in case, whitespace, quote style or punctuation.
pub(crate) fn content_hash(text: &str) -> u64 {
    let mut canonical = String::with_capacity(text.len());
    for_each_word(text, |w| {
        if !canonical.is_empty() {
            canonical.push(' ');
        }
        canonical.push_str(w);
    });
    xxhash_rust::xxh3::xxh3_64(canonical.as_bytes())
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
    fn content_hash_is_insensitive_to_presentation() {
        let a = content_hash("Putin said: \"We will win.\"\nKim agreed — twice.");
        let b = content_hash("putin said “we will win” kim   agreed - twice");
        assert_eq!(a, b);
        assert_ne!(a, content_hash("putin said we will lose kim agreed twice"));
    }
}
