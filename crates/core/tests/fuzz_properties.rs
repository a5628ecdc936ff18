//! Property-based fuzzing (proptest, stable Rust) of everything that reads untrusted input:
//! `parse_article` on arbitrary bytes and arbitrary JSON, the text normaliser, URL
//! canonicalisation, HTML reduction, the dedup sketch and the event coder. Each must never
//! panic and must produce output bounded by its input (no unbounded allocation).
//!
//! The default case counts keep `cargo nextest run` to a few seconds. A longer run, as in
//! RELIABILITY.md:
//!
//! ```sh
//! PROPTEST_CASES=200000 cargo nextest run -p newsflow-core --test fuzz_properties --release
//! ```
//!
//! Whatever a long run finds becomes a regression unit test next to the code it breaks.

use std::sync::LazyLock;

use chrono::{NaiveDate, Utc};
use newsflow_core::article::{
    Limits, MAX_URL_BYTES, RejectClass, canonicalize_url, normalize_body_text,
    normalize_inline_text, parse_article, reduce_html,
};
use newsflow_core::coding::{Coder, Document};
use newsflow_core::dedup::{BAND_KEYS, sketch};
use newsflow_core::messages::ArticleMessage;
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value};

/// `default_cases` unless `PROPTEST_CASES` says otherwise; no regression files (findings
/// become unit tests instead).
fn config(default_cases: u32) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default_cases;
    }
    config.failure_persistence = None;
    config
}

/// The most a character can grow under NFKC, in UTF-8 bytes per input byte (U+FDFA, 3
/// bytes, becomes 18 characters, 33 bytes).
const NFKC_GROWTH: usize = 11;

/// Characters that stress the text pipeline: controls, invisible format characters, line
/// separators, characters NFKC expands or recomposes, unspaced scripts, markup.
const SPICY: &[&str] = &[
    "\0",
    "\u{1}",
    "\u{7}",
    "\u{1b}[0m",
    "\u{7f}",
    "\u{85}",
    "\u{9c}",
    "\t",
    "\n",
    "\r\n",
    "\u{b}",
    "\u{c}",
    "\u{a0}",
    "\u{ad}",
    "\u{200b}",
    "\u{200d}",
    "\u{202e}",
    "\u{2028}",
    "\u{2029}",
    "\u{2066}",
    "\u{feff}",
    "\u{fdfa}",
    "\u{fb01}",
    "\u{2026}",
    "\u{301}",
    "\u{5b1}\u{5b0}",
    "e\u{301}",
    "\u{1100}\u{1161}",
    "\u{ff21}",
    "\u{3000}",
    "東京",
    "ไทย",
    "\u{1F600}",
    "İ",
    "ǅ",
    "ß",
    "’",
    "“",
    "<",
    ">",
    "&",
    "&amp;",
    "&#0;",
    "&#x10FFFF;",
    "&nGt;",
    "<p>",
    "</p>",
    "<br/>",
    "<script>",
    "</script>",
    "<!--",
    "-->",
    "\"",
    "'",
    " ",
    "  ",
    "word",
    "Putin",
];

/// Strings built from [`SPICY`] pieces and arbitrary characters.
fn spicy_string(max_pieces: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(SPICY).prop_map(str::to_owned),
            1 => any::<String>(),
            1 => "[a-zA-Z ]{1,12}",
        ],
        0..max_pieces,
    )
    .prop_map(|pieces| pieces.concat())
}

/// Arbitrary JSON values, depth-limited, with strings that stress the parser.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        spicy_string(12).prop_map(Value::String),
        url_like().prop_map(Value::String),
        date_like().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Mostly the field names the parser reads, so values reach its code paths.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(&[
            "id", "url", "title", "description", "maintext", "body", "text", "content", "html",
            "authors", "date_publish", "published_at", "date_modify", "modified_at", "language",
            "source", "source_domain", "name",
        ][..])
        .prop_map(str::to_owned),
        1 => spicy_string(3),
    ]
}

fn url_like() -> impl Strategy<Value = String> {
    (
        prop::sample::select(
            &[
                "https://",
                "http://",
                "HTTP://",
                "//",
                "javascript:",
                "ftp://",
                "",
                "https:///",
            ][..],
        ),
        prop::sample::select(
            &[
                "www.example.com",
                "m.example.co.uk",
                "bücher.example",
                "例え.テスト",
                "user:pw@example.com",
                "[::1]",
                "127.0.0.1",
                "example.com:8080",
                "localhost",
                "amp.www.m.example.com.",
                "",
            ][..],
        ),
        prop::collection::vec(
            prop_oneof![
                prop::sample::select(
                    &[
                        "/",
                        "/amp",
                        ".amp",
                        ".amp.html",
                        "?",
                        "&",
                        "=",
                        "#",
                        "%",
                        "%2F",
                        "%zz",
                        "utm_source",
                        "amp",
                        "..",
                        "./",
                        " ",
                        "\0",
                        "é",
                        "?a=1",
                        "&b=2",
                    ][..]
                )
                .prop_map(str::to_owned),
                "[a-zA-Z0-9_-]{1,8}",
            ],
            0..12,
        )
        .prop_map(|parts| parts.concat()),
    )
        .prop_map(|(scheme, host, rest)| format!("{scheme}{host}{rest}"))
}

fn date_like() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            -300_000i64..300_000,
            0u32..14,
            0u32..33,
            0u32..26,
            0u32..62,
            0u32..62
        )
            .prop_map(|(y, mo, d, h, mi, s)| format!(
                "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"
            )),
        (-300_000i64..300_000, 0u32..14, 0u32..33)
            .prop_map(|(y, mo, d)| format!("{y}-{mo:02}-{d:02}")),
        any::<i64>().prop_map(|n| n.to_string()),
        "[0-9+:TZ -]{0,30}",
    ]
}

/// Checks that hold for every accepted article, and that its forwarded message stays
/// bounded by the input.
fn check_article(bytes: &[u8], limits: &Limits) -> Result<(), TestCaseError> {
    match parse_article(bytes, limits) {
        Ok(a) => {
            prop_assert!(!a.text.is_empty());
            prop_assert!(a.text.chars().count() <= limits.max_text_chars);
            prop_assert!(a.text.chars().all(|c| !c.is_control() || c == '\n'));
            for s in [
                a.external_id.as_deref(),
                a.url.as_deref(),
                a.canonical_url.as_deref(),
                a.title.as_deref(),
                a.description.as_deref(),
                a.source.as_deref(),
                a.language.as_deref(),
            ]
            .into_iter()
            .flatten()
            .chain(a.authors.iter().map(String::as_str))
            {
                prop_assert!(
                    !s.chars().any(char::is_control),
                    "control character in {:?}",
                    s
                );
            }
            prop_assert!(a.url.as_ref().is_none_or(|u| u.len() <= MAX_URL_BYTES));
            prop_assert!(
                a.canonical_url
                    .as_ref()
                    .is_none_or(|u| u.len() <= MAX_URL_BYTES)
            );
            prop_assert_eq!(a.article_key().len(), 32);
            let message = ArticleMessage::new(&a, a.article_key(), 1, Utc::now());
            let size = serde_json::to_vec(&message).map_or(0, |v| v.len());
            // URL, canonical URL and source repeat the input's URL; NFKC may grow text.
            prop_assert!(
                size <= NFKC_GROWTH * 2 * bytes.len() + 3 * MAX_URL_BYTES + 1024,
                "{} bytes of output for {} bytes of input",
                size,
                bytes.len()
            );
            let s = sketch(&a.text);
            prop_assert!(s.band_keys.len() <= BAND_KEYS);
        }
        Err(r) => prop_assert!(!r.reason.is_empty()),
    }
    Ok(())
}

static CODER: LazyLock<Option<Coder>> = LazyLock::new(|| Coder::embedded().ok());

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn parse_article_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_article(&bytes, &Limits::default())?;
    }

    #[test]
    fn parse_article_on_mutated_json(
        value in json_value(),
        cut in any::<prop::sample::Index>(),
        insert in any::<u8>(),
    ) {
        // Valid JSON with one byte inserted somewhere: near misses of every shape.
        let mut bytes = serde_json::to_vec(&value).unwrap_or_default();
        let at = cut.index(bytes.len() + 1);
        bytes.insert(at, insert);
        check_article(&bytes, &Limits::default())?;
    }

    #[test]
    fn parse_article_on_arbitrary_json(fields in prop::collection::vec((field_name(), json_value()), 0..10)) {
        let object = Value::Object(fields.into_iter().collect());
        let bytes = serde_json::to_vec(&object).unwrap_or_default();
        let limits = Limits { max_text_chars: 500, ..Limits::default() };
        check_article(&bytes, &limits)?;
        // Well-formed, shallow JSON objects are never misread as broken input.
        if let Err(r) = parse_article(&bytes, &limits) {
            prop_assert!(
                !matches!(r.class, RejectClass::InvalidJson | RejectClass::BadEncoding | RejectClass::TooLarge | RejectClass::NotAnObject),
                "{}", r
            );
        }
    }

    #[test]
    fn normalised_text_is_clean_bounded_and_stable(raw in spicy_string(40), max in 0usize..400) {
        for (text, keep) in [(normalize_body_text(&raw, max), true), (normalize_inline_text(&raw, max), false)] {
            prop_assert!(text.chars().count() <= max);
            prop_assert!(text.len() <= NFKC_GROWTH * raw.len());
            prop_assert!(text.chars().all(|c| !c.is_control() || (keep && c == '\n')), "{:?}", text);
            prop_assert_eq!(text.trim(), text.as_str());
            prop_assert!(!text.contains("  ") && !text.contains(" \n") && !text.contains("\n "));
        }
        let full = normalize_body_text(&raw, usize::MAX);
        prop_assert_eq!(&normalize_body_text(&full, usize::MAX), &full, "not idempotent");
        // A cut is a prefix of the full text.
        let cut = normalize_body_text(&raw, max);
        prop_assert!(full.starts_with(cut.as_str()), "{:?} is not a prefix of {:?}", cut, full);
    }

    #[test]
    fn canonical_urls_are_bounded_and_fixed_points(raw in prop_oneof![url_like(), spicy_string(8)]) {
        if let Some(c) = canonicalize_url(&raw) {
            prop_assert!(c.starts_with("https://"));
            prop_assert!(c.len() <= MAX_URL_BYTES);
            // Percent-encoding triples a byte at most; "https:" may be prefixed.
            prop_assert!(c.len() <= 3 * raw.len() + 16, "{} -> {}", raw, c);
            let again = canonicalize_url(&c);
            prop_assert_eq!(again.as_deref(), Some(c.as_str()));
        }
    }

    #[test]
    fn html_reduction_is_bounded(pieces in prop::collection::vec(
        prop_oneof![
            prop::sample::select(&[
                "<p>", "</p>", "<br>", "<script>", "</script>", "<style>", "</style>", "<nav>",
                "</nav>", "<head>", "<body>", "<!--", "-->", "<!doctype html>", "<a href=\"",
                "\">", "'", "<td>", "<", ">", "&amp;", "&nGt;", "&#1234567;", "&#x1F600;",
                "<svg>", "</svg>", "<textarea>", "<img onerror=alert(1)>", "<?xml ?>",
            ][..]).prop_map(str::to_owned),
            spicy_string(3),
        ],
        0..60,
    )) {
        let html = pieces.concat();
        let text = reduce_html(&html);
        // Entities may decode to a little more than they spell ("&nGt;" is 5 bytes, 6 decoded).
        prop_assert!(text.len() <= 2 * html.len() + 4, "{} -> {} bytes", html.len(), text.len());
        let body = normalize_body_text(&text, 10_000);
        prop_assert!(body.chars().all(|c| !c.is_control() || c == '\n'));
    }

    #[test]
    fn sketches_are_bounded(raw in spicy_string(60)) {
        let text = normalize_body_text(&raw, usize::MAX);
        let s = sketch(&text);
        prop_assert!(s.band_keys.len() <= BAND_KEYS);
        prop_assert!(s.shingles.len() <= text.len());
        prop_assert_eq!(s.shingles.is_empty(), s.band_keys.is_empty());
        prop_assert!(s.shingles.windows(2).all(|w| w[0] < w[1]));
    }
}

/// Words that make the coder find actors, verbs, places and dates.
const CODER_WORDS: &[&str] = &[
    "Putin",
    "Vladimir Putin",
    "Kim Jong Un",
    "Russia",
    "North Korea",
    "the United States",
    "China",
    "Ukraine",
    "NATO",
    "the United Nations",
    "police",
    "rebels",
    "said",
    "met",
    "signed",
    "attacked",
    "accused",
    "criticised",
    "praised",
    "threatened",
    "visited",
    "did not",
    "agreement",
    "treaty",
    "with",
    "on Monday",
    "last week",
    "in Moscow",
    "in Pyongyang",
    "on June 19",
    ".",
    ",",
    "\"",
    "'s",
    "\n",
    "Mr.",
    "U.S.",
    "(",
    ")",
];

fn coder_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            6 => prop::sample::select(CODER_WORDS).prop_map(str::to_owned),
            1 => spicy_string(2),
        ],
        0..80,
    )
    .prop_map(|words| words.join(" "))
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn the_event_coder_is_bounded_on_arbitrary_text(
        title in prop::option::of(coder_text()),
        raw in coder_text(),
        days in -40_000i64..60_000,
    ) {
        let Some(coder) = CODER.as_ref() else {
            return Err(TestCaseError::fail("the embedded dictionaries do not load"));
        };
        let text = normalize_body_text(&raw, usize::MAX);
        let published = NaiveDate::from_ymd_opt(2024, 6, 19)
            .and_then(|d| d.checked_add_signed(chrono::TimeDelta::days(days)))
            .unwrap_or_default();
        let doc = Document { title: title.as_deref(), text: &text, published };
        let mentions = coder.code(&doc);
        let text_chars = text.chars().count();
        let title_chars = title.as_deref().map_or(0, |t| t.chars().count());
        prop_assert!(mentions.len() <= text_chars + title_chars);
        for m in &mentions {
            let within = if m.in_title { title_chars } else { text_chars };
            prop_assert!(m.sentence_start <= m.sentence_end && m.sentence_end <= within);
            prop_assert!(m.action_start <= m.action_end);
            prop_assert!(m.action_end <= m.sentence.chars().count());
            prop_assert!((1..=20).contains(&m.root));
            prop_assert!((1..=4).contains(&m.quad_class));
            prop_assert!((-10.0..=10.0).contains(&m.goldstein));
            prop_assert!((0.0..=1.0).contains(&m.confidence));
            prop_assert!(m.sentence.len() <= text.len() + title.as_ref().map_or(0, String::len));
        }
    }
}
