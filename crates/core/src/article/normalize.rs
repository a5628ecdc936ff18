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
    // Latin-1 letters and the usual typographic punctuation (dashes, curly quotes,
    // daggers, bullet) first: most non-ASCII characters of Western news are among them,
    // and the table lookups below cost tens of instructions each.
    matches!(c, '\u{00C0}'..='\u{00FF}' | '\u{2012}'..='\u{2016}' | '\u{2018}'..='\u{2023}')
        || nfkc_stable_by_table(c)
}

fn nfkc_stable_by_table(c: char) -> bool {
    canonical_combining_class(c) == 0 && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether the 8 bytes `x` (little-endian) all continue a run of ordinary characters in
/// [`collapse`]: printable ASCII (0x21..=0x7E), or a space followed by printable ASCII
/// (`next`, the byte after the chunk, decides for a final space).
///
/// Hand-written SWAR ("SIMD within a register", as in memchr's fallback): safe Rust has
/// no portable SIMD on stable, and no crate searches for "first byte outside a range or
/// a double space". Each test sets the high bit of a byte that fails it; carries and
/// borrows only cross out of a byte that already failed, so "any bit set" is exact.
fn ordinary_chunk(x: u64, next: Option<u8>) -> bool {
    let below_space = x.wrapping_sub(ONES * 0x20) & !x;
    let del_or_non_ascii = x | x.wrapping_add(ONES);
    if (below_space | del_or_non_ascii) & HIGHS != 0 {
        return false;
    }
    // Every byte is now in 0x20..=0x7E: mark the spaces (bytes equal to 0x20) exactly.
    let y = x ^ (ONES * 0x20);
    let spaces = !(((y & !HIGHS).wrapping_add(!HIGHS)) | y | !HIGHS);
    if spaces & (spaces >> 8) != 0 {
        return false;
    }
    spaces >> 63 == 0 || next.is_some_and(|n| (0x21..=0x7E).contains(&n))
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
            while let Some(chunk) = bytes.get(i..i + 8).filter(|_| i + 8 <= limit) {
                let x = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
                if !ordinary_chunk(x, bytes.get(i + 8).copied()) {
                    break;
                }
                i += 8;
                chars += 8;
            }
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

/// What a byte is to the word stream: its lowercase form if it is an ASCII letter or
/// digit (all >= `b'0'`), or one of the markers below.
const SEPARATOR: u8 = 0;
/// `'` and `` ` ``: dropped without separating ("don't" == "dont").
const APOSTROPHE: u8 = 1;
/// The first byte of a multi-byte character (continuation bytes never reach the table).
const NON_ASCII: u8 = 2;

const WORD_BYTES: [u8; 256] = {
    let mut table = [NON_ASCII; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else if c == b'\'' || c == b'`' {
            APOSTROPHE
        } else {
            SEPARATOR
        };
        b += 1;
    }
    table
};

fn char_at(text: &str, i: usize) -> char {
    text.get(i..)
        .and_then(|rest| rest.chars().next())
        .unwrap_or(' ')
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut utf8 = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
}

/// The word stream of `text`: writes its words, lowercased, joined by single spaces
/// into `joined` (replacing its content), and calls `on_word` with each word as it is
/// completed (a slice of `joined`), in order.
///
/// A word is a run of alphanumeric characters; everything else (punctuation, quotes of
/// any style, dashes, whitespace) separates words, so the word stream is insensitive to
/// quote style, case, whitespace and punctuation. Apostrophes inside words are dropped;
/// each character of an unspaced script (CJK, Thai) is a word of its own.
///
/// This is the one tokeniser behind both the content hash (the hash of `joined`) and
/// the shingles (hashes of the words), so one pass can serve both. They were first
/// computed by separate code and disagree on one character, which stored hashes now
/// pin: U+02BC (modifier letter apostrophe) is both a letter and an apostrophe, kept
/// as a letter in `joined` but dropped from the words given to `on_word` (a word of
/// nothing else is not given at all). Hand-written rather
/// than built on `unicode-segmentation`'s word bounds: the stored hashes pin this exact
/// definition of a word, and ASCII is classified per byte by table, without decoding.
pub(crate) fn join_words(text: &str, joined: &mut Vec<u8>, mut on_word: impl FnMut(&[u8])) {
    // Built in a local Vec (handed back at the end): its length and capacity then stay
    // in registers in the per-byte loop instead of being reloaded after every store.
    let mut out = std::mem::take(joined);
    out.clear();
    out.reserve(text.len() + 8);
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut i = 0;
    while i < n {
        // Between words: skip to the start of the next one.
        let t = WORD_BYTES[bytes[i] as usize];
        if t == SEPARATOR || t == APOSTROPHE {
            i += 1;
            continue;
        }
        if t == NON_ASCII {
            let c = char_at(text, i);
            if is_unspaced_script(c) {
                if !out.is_empty() {
                    out.push(b' ');
                }
                let start = out.len();
                push_char(&mut out, c);
                on_word(out.get(start..).unwrap_or_default());
                i += c.len_utf8();
                continue;
            }
            if !is_word_char(c) {
                i += c.len_utf8();
                continue;
            }
        }
        // In a word (its first character not yet consumed): copy it, lowercased.
        if !out.is_empty() {
            out.push(b' ');
        }
        let start = out.len();
        let mut modifier_apostrophe = false;
        while i < n {
            if let Some(chunk) = bytes.get(i..i + 8) {
                // 8 bytes at a time while they are ASCII letters and digits
                let x = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
                let run = ascii_word_run(x);
                let len = out.len();
                out.extend_from_slice(&(x | (ONES * 0x20)).to_le_bytes());
                out.truncate(len + run);
                i += run;
                if run == 8 {
                    continue;
                }
            }
            let t = WORD_BYTES[bytes[i] as usize];
            if t > NON_ASCII {
                out.push(t);
                i += 1;
            } else if t == APOSTROPHE {
                i += 1;
            } else if t == SEPARATOR {
                break;
            } else {
                let c = char_at(text, i);
                if is_unspaced_script(c) {
                    break;
                }
                if is_word_char(c) {
                    modifier_apostrophe |= c == MODIFIER_APOSTROPHE;
                    for lower in c.to_lowercase() {
                        push_char(&mut out, lower);
                    }
                } else if !is_apostrophe(c) {
                    break;
                }
                i += c.len_utf8();
            }
        }
        let word = out.get(start..).unwrap_or_default();
        if modifier_apostrophe {
            let word = String::from_utf8_lossy(word).replace(MODIFIER_APOSTROPHE, "");
            if !word.is_empty() {
                on_word(word.as_bytes());
            }
        } else {
            on_word(word);
        }
    }
    *joined = out;
}

/// High bit set in each byte of `x` that is strictly between `low` and `high`, exactly
/// (`low` <= 127 < `high` <= 128 keeps every sum within its byte; bit twiddling hacks'
/// `hasbetween`).
fn bytes_between(x: u64, low: u8, high: u8) -> u64 {
    let low7 = x & !HIGHS;
    (ONES * (127 + u64::from(high))).wrapping_sub(low7)
        & !x
        & low7.wrapping_add(ONES * (127 - u64::from(low)))
        & HIGHS
}

/// How many of the 8 bytes `x` (little-endian), from the first, are ASCII letters or
/// digits: [`join_words`] copies such a run at once, lowercased by setting bit 5.
/// Hand-written SWAR for the reason given at [`ordinary_chunk`].
fn ascii_word_run(x: u64) -> usize {
    let letters = bytes_between(x | (ONES * 0x20), b'a' - 1, b'z' + 1);
    let digits = bytes_between(x, b'0' - 1, b'9' + 1);
    ((!(letters | digits) & HIGHS).trailing_zeros() / 8) as usize
}

/// The one character that is both a word character and an apostrophe (see
/// [`join_words`]); no other apostrophe is alphanumeric.
const MODIFIER_APOSTROPHE: char = '\u{02BC}';

/// xxh3-64 of the word stream (the words of [`join_words`] joined by single spaces):
/// equal for texts that differ only in case, whitespace, quote style or punctuation.
pub(crate) fn content_hash(text: &str) -> u64 {
    let mut joined = Vec::new();
    join_words(text, &mut joined, |_| {});
    xxhash_rust::xxh3::xxh3_64(&joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Normalisation before its fast paths (SWAR runs, common characters known to be
    /// NFKC-stable), the specification they are checked against.
    mod reference_normalize {
        use super::super::{Class, Lines, is_invisible, is_line_break};
        use unicode_normalization::char::canonical_combining_class;
        use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

        /// Normalises text for storage and display.
        ///
        /// NFKC; control characters and invisible format characters (soft hyphen, zero-width
        /// spaces, bidi overrides, BOM) removed; runs of whitespace collapsed to one space; line
        /// breaks (any run of them, with the spaces around them) collapsed to a single `\n`
        /// between paragraphs, or to a space with [`Lines::Join`]; no leading or trailing
        /// whitespace. At most `max_chars` characters are kept (cut at a character boundary).
        pub(super) fn normalize_text(raw: &str, lines: Lines, max_chars: usize) -> String {
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
                            normalized.extend(line.nfkc());
                        }
                    }
                    collapse(&normalized, lines, max_chars, false)
                })
                .unwrap_or_default()
        }

        /// Whether `c` certainly stays as it is under NFKC, whatever surrounds it: quick-check
        /// "yes" and a starter (combining marks may be reordered or composed).
        fn nfkc_stable(c: char) -> bool {
            canonical_combining_class(c) == 0
                && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes
        }

        /// The whitespace / control-character part of [`normalize_text`]. With `check_nfkc`,
        /// returns `None` as soon as a character is met that NFKC might change.
        fn collapse(
            text: &str,
            lines: Lines,
            max_chars: usize,
            check_nfkc: bool,
        ) -> Option<String> {
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
                            b' ' if bytes.get(i + 1).is_some_and(|n| (0x21..=0x7E).contains(n)) => {
                            }
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
    }

    /// The word stream as it was first written (two separate passes, for the shingles
    /// and the content hash), kept as the specification the single-pass [`join_words`]
    /// is checked against: stored hashes depend on it.
    mod reference {
        use super::super::{is_apostrophe, is_unspaced_script, is_word_char};

        /// Calls `f` with each word of `text`, lowercased, in order.
        ///
        /// A word is a run of alphanumeric characters; everything else (punctuation, quotes of
        /// any style, dashes, whitespace) separates words, so the word stream is insensitive to
        /// quote style, case, whitespace and punctuation. This runs twice for every article on
        /// the hot path, so a word that is already lowercase ASCII (most of them) is passed as
        /// a slice of `text`; only the others are copied, into one reused buffer.
        pub(super) fn for_each_word(text: &str, mut f: impl FnMut(&str)) {
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
        pub(super) fn content_hash(text: &str) -> u64 {
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
    }

    fn for_each_word(text: &str, mut f: impl FnMut(&str)) {
        join_words(text, &mut Vec::new(), |w| {
            f(std::str::from_utf8(w).unwrap_or("\u{FFFD}"));
        });
    }

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

    /// Random strings over characters that reach every branch of the word stream.
    fn tricky_strings(count: usize) -> Vec<String> {
        const ALPHABET: &[&str] = &[
            "a",
            "z",
            "K",
            "Z",
            "0",
            "9",
            " ",
            " ",
            "\n",
            ".",
            ",",
            "-",
            "'",
            "`",
            "\u{2019}",
            "\u{2018}",
            "\u{02BC}",
            "\u{00B4}",
            "é",
            "É",
            "ß",
            "Ø",
            "×",
            "÷",
            "ĳ",
            "İ",
            "ǅ",
            "Σ",
            "\u{0301}",
            "東",
            "ひ",
            "カ",
            "ก",
            "Ω",
            "ж",
            "١",
            "😀",
            "\u{00A0}",
            "\u{2014}",
            "“",
            "…",
            "ﬁ",
            "Ａ",
            "\u{200B}",
            "½",
            "²",
            "\u{2028}",
            "\u{85}",
            "\0",
            // runs long enough for the 8-byte copies
            "abcdefgh",
            "ABCdefGH1234",
            "xyz09",
            "Don't",
            "QWERTYUIOPASDFGHJ",
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..count)
            .map(|_| {
                let len = (next() % 40) as usize;
                (0..len)
                    .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn characters_taken_as_nfkc_stable_are() {
        for c in ('\u{00C0}'..='\u{00FF}').chain('\u{2000}'..='\u{206F}') {
            if nfkc_stable(c) {
                assert!(nfkc_stable_by_table(c), "{c:?}");
            }
        }
    }

    #[test]
    fn fast_paths_normalise_as_the_reference() {
        const ALPHABET: &[&str] = &[
            "a",
            "b",
            "Z",
            ".",
            "~",
            " ",
            " ",
            " ",
            "  ",
            "\t",
            "\n",
            "\r\n",
            "\u{7F}",
            "\0",
            "\u{A0}",
            "\u{200B}",
            "\u{AD}",
            "“",
            "’",
            "—",
            "…",
            "ﬁ",
            "é",
            "e\u{301}",
            "\u{5B1}",
            "東",
            "\u{85}",
            "\u{2028}",
            "\u{3000}",
            "Ａ",
            "&amp;",
            "x y z w",
            "abcdefghijkl",
        ];
        let mut state = 0x1234_5678_9abc_def1_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 30) as usize;
            let text: String = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            let max_chars = match next() % 3 {
                0 => usize::MAX,
                _ => (next() % 80) as usize,
            };
            for lines in [Lines::Keep, Lines::Join] {
                assert_eq!(
                    normalize_text(&text, lines, max_chars),
                    reference_normalize::normalize_text(&text, lines, max_chars),
                    "{text:?} {lines:?} {max_chars}"
                );
            }
        }
    }

    #[test]
    fn ascii_word_run_stops_at_the_first_other_byte() {
        for position in 0..8 {
            for b in 0..=255u8 {
                let mut chunk = *b"aZ09zA9m";
                chunk[position] = b;
                let expected = if b.is_ascii_alphanumeric() {
                    8
                } else {
                    position
                };
                assert_eq!(
                    ascii_word_run(u64::from_le_bytes(chunk)),
                    expected,
                    "{b:#x} at {position}"
                );
            }
        }
    }

    #[test]
    fn setting_bit_5_lowercases_every_ascii_word_byte() {
        for b in 0..128u8 {
            if WORD_BYTES[b as usize] > NON_ASCII {
                assert_eq!(b | 0x20, WORD_BYTES[b as usize], "{b}");
            }
        }
    }

    #[test]
    fn only_the_modifier_apostrophe_is_also_a_word_character() {
        for c in [
            '\'',
            '`',
            '\u{2019}',
            '\u{2018}',
            '\u{00B4}',
            MODIFIER_APOSTROPHE,
        ] {
            assert!(is_apostrophe(c));
            assert_eq!(
                c.is_ascii_alphanumeric() || (!c.is_ascii() && is_word_char(c)),
                c == MODIFIER_APOSTROPHE,
                "{c:?}"
            );
        }
    }

    #[test]
    fn single_pass_word_stream_matches_the_reference() {
        for text in tricky_strings(20_000) {
            let mut expected = Vec::new();
            reference::for_each_word(&text, |w| expected.push(w.to_owned()));
            assert_eq!(words(&text), expected, "{text:?}");
            assert_eq!(
                content_hash(&text),
                reference::content_hash(&text),
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
