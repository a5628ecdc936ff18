//! Sentence segmentation and word tokenisation tuned for news text.
//!
//! Segmentation works line by line (a line break always ends a sentence, so headlines
//! without a full stop stand alone), then splits each line at `.`, `!` and `?` unless the
//! full stop belongs to an abbreviation ("Mr.", "Gen.", "Jan."), an initial ("Henry A.
//! Kissinger"), a dotted acronym ("U.S.", "D.C.") not followed by a typical sentence
//! opener, or a decimal number. A dateline at the start of a line ("SEOUL, South Korea —")
//! is cut off the sentence and reported separately.
//!
//! Tokenisation lowercases words (runs of letters/digits; apostrophes, hyphens and dots
//! split words, so "U.S." becomes `u s`, "Russia's" `russia s`, "Won-sik" `won sik`) and
//! records the punctuation seen before each word, which the coder uses as clause
//! boundaries. Dictionary phrases are normalised with the same function, so matching is a
//! plain substring search over the normalised text.

/// A sentence inside a document text, in both byte and char offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentenceSpan {
    pub start_byte: usize,
    pub end_byte: usize,
    pub start_char: usize,
    pub end_char: usize,
}

/// A dateline found at the start of a line: the place words before the dash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dateline {
    pub place: String,
}

/// Punctuation seen between the previous token and this one.
pub const P_COMMA: u8 = 1;
pub const P_STOP: u8 = 2;
pub const P_QUOTE: u8 = 4;
pub const P_DASH: u8 = 8;
pub const P_PAREN: u8 = 16;
/// A hyphen joining two words ("Iranian-backed").
pub const P_HYPHEN: u8 = 32;

/// A normalised word with its place in the normalised string and in the sentence.
#[derive(Debug, Clone, Copy)]
pub struct Token {
    /// Byte range of the lowercased word in [`Tokens::norm`].
    pub ns: u32,
    pub ne: u32,
    /// Char offsets of the word in the sentence.
    pub start: u32,
    pub end: u32,
    /// First letter is uppercase.
    pub upper: bool,
    /// Every letter is uppercase (acronyms such as "US", "UN", "WHO").
    pub caps: bool,
    /// `P_*` flags for punctuation between the previous word and this one.
    pub punct_before: u8,
}

/// A tokenised sentence.
#[derive(Debug, Default, Clone)]
pub struct Tokens {
    /// Lowercased words joined by single spaces, with a space before the first and after
    /// the last word, so dictionary phrases padded with spaces match whole words only.
    pub norm: String,
    pub toks: Vec<Token>,
    /// Punctuation after the last token.
    pub punct_after_last: u8,
    /// For every byte of `norm` (and one past the end): the token starting there, or `u32::MAX`.
    pub start_at: Vec<u32>,
    /// For every byte of `norm` (and one past the end): the token ending there, or `u32::MAX`.
    pub end_at: Vec<u32>,
}

impl Tokens {
    /// The normalised word at index `i` ("" when out of range).
    pub fn word(&self, i: usize) -> &str {
        match self.toks.get(i) {
            Some(t) => self.norm.get(t.ns as usize..t.ne as usize).unwrap_or(""),
            None => "",
        }
    }

    pub fn len(&self) -> usize {
        self.toks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.toks.is_empty()
    }

    /// Punctuation flags between token `i - 1` and token `i` (`i == len` means after the last).
    pub fn punct_before(&self, i: usize) -> u8 {
        match self.toks.get(i) {
            Some(t) => t.punct_before,
            None => self.punct_after_last,
        }
    }

    /// True when any strong boundary (`; : . ! ?`) lies between tokens `a` and `b` (a < b).
    pub fn stop_between(&self, a: usize, b: usize) -> bool {
        (a + 1..=b.min(self.toks.len())).any(|i| self.punct_before(i) & P_STOP != 0)
    }
}

fn punct_flag(c: char) -> u8 {
    match c {
        ',' => P_COMMA,
        ';' | ':' | '.' | '!' | '?' => P_STOP,
        '"' | '“' | '”' | '«' | '»' | '„' => P_QUOTE,
        '—' | '–' => P_DASH,
        '(' | ')' | '[' | ']' => P_PAREN,
        _ => 0,
    }
}

/// Tokenise one sentence (or a dictionary phrase).
pub fn tokenize(s: &str) -> Tokens {
    let mut out = Tokens {
        norm: String::with_capacity(s.len() + 8),
        toks: Vec::with_capacity(s.len() / 5 + 4),
        ..Tokens::default()
    };
    out.norm.push(' ');
    let mut pending: u8 = 0;
    let mut cur: Option<Token> = None;
    let mut all_upper = true;
    let mut prev: char = ' ';
    let mut chars = s.chars().enumerate().peekable();
    while let Some((ci, c)) = chars.next() {
        if c.is_alphanumeric() {
            if cur.is_none() {
                if out.norm.len() > 1 {
                    out.norm.push(' ');
                }
                cur = Some(Token {
                    ns: out.norm.len() as u32,
                    ne: 0,
                    start: ci as u32,
                    end: 0,
                    upper: c.is_uppercase(),
                    caps: false,
                    punct_before: pending,
                });
                pending = 0;
                all_upper = true;
            }
            if c.is_lowercase() {
                all_upper = false;
            }
            for l in c.to_lowercase() {
                out.norm.push(l);
            }
        } else {
            if let Some(mut t) = cur.take() {
                t.ne = out.norm.len() as u32;
                t.end = ci as u32;
                t.caps = all_upper && t.upper;
                out.toks.push(t);
            }
            let mut f = punct_flag(c);
            // A hyphen surrounded by spaces is a dash; a dot between digits or inside an
            // acronym is not a clause boundary.
            if c == '-' && prev == ' ' {
                f = P_DASH;
            } else if c == '-'
                && prev.is_alphanumeric()
                && chars.peek().is_some_and(|(_, n)| n.is_alphanumeric())
            {
                f = P_HYPHEN;
            }
            if c == '.' {
                let next_alnum = chars.peek().is_some_and(|(_, n)| n.is_alphanumeric());
                if next_alnum || (prev.is_uppercase() && prev.is_alphabetic()) {
                    f = 0;
                }
            }
            pending |= f;
        }
        prev = c;
    }
    if let Some(mut t) = cur.take() {
        t.ne = out.norm.len() as u32;
        t.end = s.chars().count() as u32;
        t.caps = all_upper && t.upper;
        out.toks.push(t);
    }
    out.punct_after_last = pending;
    out.norm.push(' ');
    let n = out.norm.len() + 1;
    out.start_at = vec![u32::MAX; n];
    out.end_at = vec![u32::MAX; n];
    for (i, t) in out.toks.iter().enumerate() {
        out.start_at[t.ns as usize] = i as u32;
        out.end_at[t.ne as usize] = i as u32;
    }
    out
}

/// Normalise a dictionary phrase the way sentences are normalised.
pub fn normalize_phrase(s: &str) -> String {
    tokenize(s).norm.trim().to_string()
}

const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "gen", "lt", "col", "maj", "capt", "cmdr", "adm", "sgt", "cpl", "pvt",
    "gov", "sen", "rep", "reps", "sens", "st", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
    "sep", "sept", "oct", "nov", "dec", "mon", "tue", "tues", "wed", "thu", "thurs", "fri", "sat",
    "sun", "vs", "etc", "inc", "corp", "co", "ltd", "no", "nos", "jr", "sr", "prof", "rev", "hon",
    "pres", "dept", "univ", "approx", "est", "fig", "vol", "ft", "mt", "gens", "messrs", "sgts",
    "e.g", "i.e", "al", "pp", "op", "ave", "blvd",
];

const SENTENCE_OPENERS: &[&str] = &[
    "the",
    "he",
    "she",
    "it",
    "they",
    "we",
    "i",
    "but",
    "in",
    "on",
    "at",
    "a",
    "an",
    "this",
    "that",
    "these",
    "those",
    "its",
    "his",
    "her",
    "their",
    "according",
    "however",
    "meanwhile",
    "and",
    "some",
    "many",
    "after",
    "when",
    "while",
    "there",
    "officials",
    "as",
    "last",
    "earlier",
    "later",
    "since",
    "both",
    "our",
    "if",
];

fn is_closer(c: char) -> bool {
    matches!(c, '"' | '”' | '’' | '\'' | ')' | ']' | '»')
}

/// Detect a dateline at the start of `line`; returns it and the byte offset where the
/// sentence text starts.
pub fn dateline(line: &str) -> Option<(Dateline, usize)> {
    let head: String = line.chars().take(90).collect();
    let (dash_at, dash_len) = ["—", "–", " -- ", " - "]
        .iter()
        .filter_map(|d| head.find(d).map(|p| (p, d.len())))
        .min_by_key(|(p, _)| *p)?;
    let prefix = &head[..dash_at];
    let first = prefix.split([',', '(']).next()?.trim();
    let letters: Vec<char> = first.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() < 3 || letters.iter().any(|c| !c.is_uppercase()) {
        return None;
    }
    if !first
        .chars()
        .all(|c| c.is_alphabetic() || c == ' ' || c == '.' || c == '-' || c == '\'')
    {
        return None;
    }
    let mut start = dash_at + dash_len;
    while line[start..].starts_with(' ') {
        start += 1;
    }
    Some((
        Dateline {
            place: first.to_string(),
        },
        start,
    ))
}

/// Split `text` into sentences. Also returns the first dateline found (if any).
pub fn split_sentences(text: &str) -> (Vec<SentenceSpan>, Option<Dateline>) {
    let mut out = Vec::new();
    let mut found_dateline = None;
    let mut line_start_byte = 0usize;
    let mut line_start_char = 0usize;
    for line in text.split_inclusive('\n') {
        let line_chars = line.chars().count();
        let body = line.trim_end_matches(['\n', '\r']);
        let mut skip = 0usize;
        if let Some((d, at)) = dateline(body) {
            skip = at;
            if found_dateline.is_none() {
                found_dateline = Some(d);
            }
        }
        split_line(
            &body[skip..],
            line_start_byte + skip,
            line_start_char + body[..skip].chars().count(),
            &mut out,
        );
        line_start_byte += line.len();
        line_start_char += line_chars;
    }
    (out, found_dateline)
}

fn split_line(line: &str, base_byte: usize, base_char: usize, out: &mut Vec<SentenceSpan>) {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let n = chars.len();
    let mut sent_start = 0usize; // char index into `chars`
    let mut i = 0usize;
    while i < n {
        let c = chars[i].1;
        if matches!(c, '.' | '!' | '?' | '…') {
            let mut j = i + 1;
            while j < n && (matches!(chars[j].1, '.' | '!' | '?' | '…') || is_closer(chars[j].1))
            {
                j += 1;
            }
            let at_end = j >= n;
            let ws = !at_end && chars[j].1.is_whitespace();
            if at_end || (ws && is_boundary(&chars, i, j)) {
                push_sentence(&chars, line, sent_start, j, base_byte, base_char, out);
                sent_start = j;
            }
            i = j;
            continue;
        }
        i += 1;
    }
    push_sentence(&chars, line, sent_start, n, base_byte, base_char, out);
}

fn is_boundary(chars: &[(usize, char)], i: usize, j: usize) -> bool {
    let n = chars.len();
    let mut k = j;
    while k < n && chars[k].1.is_whitespace() {
        k += 1;
    }
    while k < n && matches!(chars[k].1, '"' | '“' | '‘' | '\'' | '(' | '«') {
        k += 1;
    }
    if k >= n {
        return true;
    }
    let next = chars[k].1;
    if next.is_lowercase() {
        return false;
    }
    if chars[i].1 != '.' {
        return true;
    }
    // The word before the full stop, including inner dots ("U.S", "D.C").
    let mut b = i;
    while b > 0 && (chars[b - 1].1.is_alphanumeric() || chars[b - 1].1 == '.') {
        b -= 1;
    }
    let word: String = chars[b..i].iter().map(|(_, c)| *c).collect();
    if word.is_empty() {
        return true;
    }
    let next_word: String = chars[k..]
        .iter()
        .map(|(_, c)| *c)
        .take_while(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    let lw = word.to_lowercase();
    if word.contains('.') {
        // Dotted acronym: a sentence ends only when a typical opener follows.
        return SENTENCE_OPENERS.contains(&next_word.as_str());
    }
    let mut wchars = word.chars();
    if let (Some(f), None) = (wchars.next(), wchars.next())
        && f.is_uppercase()
    {
        return false; // an initial
    }
    if ABBREVIATIONS.contains(&lw.as_str()) {
        return false;
    }
    true
}

fn push_sentence(
    chars: &[(usize, char)],
    line: &str,
    mut a: usize,
    mut b: usize,
    base_byte: usize,
    base_char: usize,
    out: &mut Vec<SentenceSpan>,
) {
    while a < b && chars[a].1.is_whitespace() {
        a += 1;
    }
    while b > a && chars[b - 1].1.is_whitespace() {
        b -= 1;
    }
    if a >= b || !chars[a..b].iter().any(|(_, c)| c.is_alphanumeric()) {
        return;
    }
    let sb = chars[a].0;
    let eb = chars.get(b).map_or(line.len(), |(p, _)| *p);
    out.push(SentenceSpan {
        start_byte: base_byte + sb,
        end_byte: base_byte + eb,
        start_char: base_char + a,
        end_char: base_char + b,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sents(t: &str) -> Vec<String> {
        let (s, _) = split_sentences(t);
        s.iter()
            .map(|s| t[s.start_byte..s.end_byte].to_string())
            .collect()
    }

    #[test]
    fn abbreviations_initials_and_decimals_do_not_split() {
        let t = "Mr. Smith met Gen. Milley in the U.S. capital on Jan. 5. The Henry A. Kissinger Center grew 3.5 percent. He left.";
        assert_eq!(
            sents(t),
            vec![
                "Mr. Smith met Gen. Milley in the U.S. capital on Jan. 5.",
                "The Henry A. Kissinger Center grew 3.5 percent.",
                "He left."
            ]
        );
    }

    #[test]
    fn dotted_acronym_ends_sentence_before_opener() {
        let t = "She works in Washington, D.C. The center is new.";
        assert_eq!(sents(t).len(), 2);
    }

    #[test]
    fn quotes_and_headlines() {
        let t = "Putin meets Kim\n“We are friends,” he said. “It is good.” She agreed!";
        assert_eq!(
            sents(t),
            vec![
                "Putin meets Kim",
                "“We are friends,” he said.",
                "“It is good.”",
                "She agreed!"
            ]
        );
    }

    #[test]
    fn dateline_is_cut_and_reported() {
        let t = "SEOUL, South Korea — Russia and North Korea signed a treaty.";
        let (s, d) = split_sentences(t);
        assert_eq!(d.map(|d| d.place), Some("SEOUL".to_string()));
        assert_eq!(
            &t[s[0].start_byte..s[0].end_byte],
            "Russia and North Korea signed a treaty."
        );
        assert_eq!(s[0].start_char, t[..s[0].start_byte].chars().count());
    }

    #[test]
    fn tokenizer_normalises_and_flags_caps() {
        let t = tokenize("The U.S. and Russia’s Won-sik, US");
        assert_eq!(t.norm, " the u s and russia s won sik us ");
        assert!(t.toks[1].caps && t.toks[2].caps);
        assert!(t.toks[8].caps);
        assert_eq!(t.toks[8].punct_before & P_COMMA, P_COMMA);
        assert!(!t.toks[0].caps);
    }

    #[test]
    fn never_panics_on_odd_text() {
        for t in [
            "",
            ".",
            "…",
            "A.",
            "\n\n",
            "— —",
            "ÉTATS-UNIS — x",
            "a.b.c. d",
            "?!",
        ] {
            let _ = split_sentences(t);
            let _ = tokenize(t);
        }
    }
}
