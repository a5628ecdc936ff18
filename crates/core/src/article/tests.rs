//! Tests of article parsing: field mapping, text reduction, dates and every reject class.
// The helpers take `json!(..)` temporaries by value so that call sites stay readable.
#![allow(clippy::needless_pass_by_value)]

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;

const BODY: &str =
    "Russia and North Korea signed a new treaty that provides mutual defense assistance.";

fn parse(v: serde_json::Value) -> Result<Article, Rejection> {
    parse_article(
        &serde_json::to_vec(&v).unwrap_or_default(),
        &Limits::default(),
    )
}

fn ok(v: serde_json::Value) -> Article {
    parse(v).unwrap_or_else(|r| panic!("rejected: {r}"))
}

fn rejected(v: serde_json::Value) -> Rejection {
    match parse(v) {
        Ok(a) => panic!("accepted: {a:?}"),
        Err(r) => r,
    }
}

fn class_of_bytes(bytes: &[u8]) -> RejectClass {
    match parse_article(bytes, &Limits::default()) {
        Ok(a) => panic!("accepted: {a:?}"),
        Err(r) => r.class,
    }
}

#[test]
fn news_please_fields() {
    let a = ok(json!({
        "url": "https://www.example.com/world/2024/06/19/putin-kim/?utm_source=rss",
        "title": "  Putin and Kim   sign\n pact ",
        "maintext": "  First paragraph.  \n\n Second   paragraph, longer than forty characters. ",
        "description": "Leaders meet &amp; sign",
        "date_publish": "2024-06-19 08:30:00",
        "date_modify": "2024-06-19T10:00:00+02:00",
        "source_domain": "www.Example.com",
        "language": "EN",
        "authors": ["Jane Doe", " Jane  Doe ", "John Roe", null],
        "image_url": "ignored",
    }));
    assert_eq!(a.external_id, None);
    assert_eq!(
        a.url.as_deref(),
        Some("https://www.example.com/world/2024/06/19/putin-kim/?utm_source=rss")
    );
    assert_eq!(
        a.canonical_url.as_deref(),
        Some("https://example.com/world/2024/06/19/putin-kim")
    );
    assert_eq!(a.title.as_deref(), Some("Putin and Kim sign pact"));
    assert_eq!(a.description.as_deref(), Some("Leaders meet & sign"));
    assert_eq!(
        a.text,
        "First paragraph.\nSecond paragraph, longer than forty characters."
    );
    assert_eq!(a.source.as_deref(), Some("example.com"));
    assert_eq!(a.language.as_deref(), Some("en"));
    assert_eq!(a.authors, ["Jane Doe", "John Roe"]);
    assert_eq!(
        a.published_at,
        Utc.with_ymd_and_hms(2024, 6, 19, 8, 30, 0).single()
    );
    assert_eq!(
        a.modified_at,
        Utc.with_ymd_and_hms(2024, 6, 19, 8, 0, 0).single()
    );
    assert_eq!(
        a.display_id(),
        "https://www.example.com/world/2024/06/19/putin-kim/?utm_source=rss"
    );
}

#[test]
fn generic_fields() {
    let a = ok(json!({
        "id": 12345,
        "title": "Pact",
        "body": BODY,
        "published_at": 1718785800,
        "source": "Reuters",
        "authors": "Jane Doe",
    }));
    assert_eq!(a.external_id.as_deref(), Some("12345"));
    assert_eq!(a.url, None);
    assert_eq!(a.canonical_url, None);
    assert_eq!(a.text, BODY);
    assert_eq!(a.source.as_deref(), Some("Reuters"));
    assert_eq!(a.authors, ["Jane Doe"]);
    assert_eq!(
        a.published_at,
        Utc.with_ymd_and_hms(2024, 6, 19, 8, 30, 0).single()
    );
    assert_eq!(a.display_id(), "12345");

    for field in ["text", "content"] {
        assert_eq!(ok(json!({"id": "x", field: BODY})).text, BODY);
    }
    // string id is trimmed; NewsAPI-style source object
    let a =
        ok(json!({"id": " abc ", "text": BODY, "source": {"id": "bbc-news", "name": "BBC News"}}));
    assert_eq!(a.external_id.as_deref(), Some("abc"));
    assert_eq!(a.source.as_deref(), Some("BBC News"));
}

#[test]
fn source_falls_back_to_url_host() {
    let a = ok(json!({"url": "https://m.BBC.co.uk/news/x", "text": BODY}));
    assert_eq!(a.source.as_deref(), Some("bbc.co.uk"));
    let a = ok(json!({"url": "https://www.example.com:8080/x", "text": BODY}));
    assert_eq!(a.source.as_deref(), Some("example.com"));
    let a = ok(json!({"id": "1", "text": BODY}));
    assert_eq!(a.source, None);
    // a domain is normalised, a name kept as given
    let a = ok(json!({"id": "1", "text": BODY, "source_domain": "WWW.Reuters.com", "source": "x"}));
    assert_eq!(a.source.as_deref(), Some("reuters.com"));
    let a = ok(json!({"id": "1", "text": BODY, "source_domain": " Reuters  UK "}));
    assert_eq!(a.source.as_deref(), Some("Reuters UK"));
    let a = ok(json!({"url": "https://www.example.com/a", "text": BODY, "source": ""}));
    assert_eq!(a.source.as_deref(), Some("example.com"));
}

#[test]
fn html_is_reduced() {
    let html = "<html><head><title>Site</title><script>track()</script></head><body>\
        <nav>Home | World</nav><h1>Headline</h1><p>First&nbsp;paragraph with &ldquo;quotes&rdquo;.</p>\
        <p>Second paragraph.</p><footer>© Site</footer></body></html>";
    let a = ok(json!({"id": "h", "html": html}));
    assert_eq!(
        a.text,
        "Headline\nFirst paragraph with \u{201C}quotes\u{201D}.\nSecond paragraph."
    );
    // HTML in a plain-text field is detected and reduced too
    let a = ok(
        json!({"id": "h", "maintext": "<p>One paragraph of text here.</p><p>And another one &amp; more.</p>"}),
    );
    assert_eq!(
        a.text,
        "One paragraph of text here.\nAnd another one & more."
    );
    // titles and descriptions: tags dropped, entities decoded, one line
    let a = ok(
        json!({"id": "h", "text": BODY, "title": "<b>Putin</b> &amp; Kim\n meet", "description": "Leaders&nbsp;meet &#8212; again"}),
    );
    assert_eq!(a.title.as_deref(), Some("Putin & Kim meet"));
    assert_eq!(
        a.description.as_deref(),
        Some("Leaders meet \u{2014} again")
    );
    // but a '<' in plain text is left alone
    let a = ok(
        json!({"id": "h", "maintext": "Inflation < 2% and growth > 1% were reported for the quarter."}),
    );
    assert_eq!(
        a.text,
        "Inflation < 2% and growth > 1% were reported for the quarter."
    );
}

#[test]
fn body_field_preference_and_description_fallback() {
    let a = ok(
        json!({"id": "1", "maintext": "From maintext, long enough to be the body text.", "body": "From body, also long enough to be text."}),
    );
    assert!(a.text.starts_with("From maintext"));
    // empty / whitespace-only / script-only bodies fall through to the next field
    let a = ok(json!({"id": "1", "maintext": "  ", "html": "<script>x</script>", "content": BODY}));
    assert_eq!(a.text, BODY);
    // no body: the description
    let a = ok(json!({"id": "1", "title": "T", "description": BODY}));
    assert_eq!(a.text, BODY);
    assert_eq!(a.description.as_deref(), Some(BODY));
    // short body, longer description: the description
    let a = ok(json!({"id": "1", "text": "Too short.", "description": BODY}));
    assert_eq!(a.text, BODY);
}

#[test]
fn text_is_truncated_not_rejected() {
    let limits = Limits {
        max_text_chars: 50,
        ..Limits::default()
    };
    let long = "é".repeat(1000);
    let bytes = serde_json::to_vec(&json!({"id": "1", "text": long})).unwrap_or_default();
    let a = parse_article(&bytes, &limits).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(a.text.chars().count(), 50);
}

#[test]
fn text_has_no_control_characters() {
    let a = ok(
        json!({"id": "1", "text": "Line\u{0}one\u{7} with\ttabs\r\nline\u{1b} two with a few more words\u{2028}end"}),
    );
    assert_eq!(
        a.text,
        "Lineone with tabs\nline two with a few more words\nend"
    );
    assert!(!a.text.chars().any(|c| c.is_control() && c != '\n'));
}

#[test]
fn dates() {
    let at =
        |v: serde_json::Value| ok(json!({"id": "1", "text": BODY, "date_publish": v})).published_at;
    let expected = Utc.with_ymd_and_hms(2024, 6, 19, 8, 30, 0).single();
    assert_eq!(at(json!("2024-06-19T08:30:00Z")), expected);
    assert_eq!(at(json!("2024-06-19T10:30:00+02:00")), expected);
    assert_eq!(at(json!("2024-06-19 08:30:00")), expected);
    assert_eq!(at(json!("2024-06-19T08:30:00")), expected);
    assert_eq!(at(json!("2024-06-19 08:30:00+00:00")), expected);
    assert_eq!(at(json!("2024-06-19T08:30:00.000+0000")), expected);
    assert_eq!(at(json!("Wed, 19 Jun 2024 08:30:00 GMT")), expected);
    assert_eq!(at(json!(1718785800)), expected);
    assert_eq!(at(json!(1718785800000_i64)), expected);
    assert_eq!(at(json!(1718785800.0)), expected);
    assert_eq!(at(json!("1718785800")), expected);
    assert_eq!(
        at(json!("2024-06-19")),
        Utc.with_ymd_and_hms(2024, 6, 19, 0, 0, 0).single()
    );
    // unparseable or absurd: absent, not rejected
    for bad in [
        json!("yesterday"),
        json!(""),
        json!("2024-13-45"),
        json!("0001-01-01T00:00:00Z"),
        json!("1899-12-31"),
        json!("2201-01-01 00:00:00"),
        json!(1e300),
        json!(-1e300),
        json!(99999999999999999999.0),
        json!(null),
    ] {
        assert_eq!(at(bad.clone()), None, "{bad}");
    }
    // published_at alias, modified_at alias
    let a = ok(
        json!({"id": "1", "text": BODY, "published_at": "2024-06-19T08:30:00Z", "modified_at": 1718785800}),
    );
    assert_eq!((a.published_at, a.modified_at), (expected, expected));
}

#[test]
fn reject_too_large_before_parsing() {
    let limits = Limits {
        max_message_bytes: 10,
        ..Limits::default()
    };
    let r = parse_article(b"{\"not even\": json", &limits).err();
    assert_eq!(r.map(|r| r.class), Some(RejectClass::TooLarge));
    assert_eq!(
        class_of_bytes(&vec![b' '; 6 * 1024 * 1024]),
        RejectClass::TooLarge
    );
}

#[test]
fn reject_bad_encoding() {
    assert_eq!(
        class_of_bytes(b"{\"id\": \"\xff\xfe\", \"text\": \"x\"}"),
        RejectClass::BadEncoding
    );
    assert_eq!(class_of_bytes(b"\xc3\x28"), RejectClass::BadEncoding);
    // a JSON escape for a lone surrogate is not text either
    assert_eq!(
        class_of_bytes(br#"{"id": "1", "text": "\ud800 lone"}"#),
        RejectClass::BadEncoding
    );
    // a UTF-8 byte-order mark is fine
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(
        &serde_json::to_vec(&json!({"id": "1", "text": BODY})).unwrap_or_default(),
    );
    assert!(parse_article(&with_bom, &Limits::default()).is_ok());
}

#[test]
fn reject_invalid_json() {
    for bytes in [
        &b""[..],
        b"   ",
        b"{",
        b"{\"id\": 1,}",
        b"not json",
        b"{\"id\": 1} trailing",
        b"\0",
    ] {
        assert_eq!(class_of_bytes(bytes), RejectClass::InvalidJson, "{bytes:?}");
    }
}

#[test]
fn deep_nesting_is_rejected_without_overflow() {
    for depth in [200, 100_000] {
        let mut s = String::from("{\"id\": \"1\", \"x\": ");
        s.push_str(&"[".repeat(depth));
        s.push_str(&"]".repeat(depth));
        s.push('}');
        let r = parse_article(s.as_bytes(), &Limits::default()).err();
        assert_eq!(r.as_ref().map(|r| r.class), Some(RejectClass::InvalidJson));
        assert!(r.is_some_and(|r| r.reason.contains("128")));
    }
}

#[test]
fn reject_not_an_object() {
    for v in [
        json!([1, 2]),
        json!("text"),
        json!(42),
        json!(null),
        json!(true),
    ] {
        let r = rejected(v.clone());
        assert_eq!(r.class, RejectClass::NotAnObject, "{v}");
    }
    assert_eq!(
        rejected(json!([])).reason,
        "top-level JSON value is an array, expected an object"
    );
}

#[test]
fn reject_no_identity() {
    let r = rejected(json!({"text": BODY}));
    assert_eq!(
        r,
        Rejection {
            class: RejectClass::NoIdentity,
            reason: "neither url nor id is present".into()
        }
    );
    assert_eq!(
        rejected(json!({"url": "", "id": " ", "text": BODY})).class,
        RejectClass::NoIdentity
    );
    let r = rejected(json!({"url": "not a url", "text": BODY}));
    assert_eq!(r.class, RejectClass::NoIdentity);
    assert!(r.reason.contains("not a url"));
    // an invalid URL is fine with an id
    let a = ok(json!({"url": "not a url", "id": "7", "text": BODY}));
    assert_eq!(
        (a.url.as_deref(), a.canonical_url),
        (Some("not a url"), None)
    );
}

#[test]
fn reject_no_text() {
    let r = rejected(json!({"id": "1", "title": "Only a title"}));
    assert_eq!(r.class, RejectClass::NoText);
    let r = rejected(json!({"id": "1", "text": "Too short."}));
    assert_eq!(
        r,
        Rejection {
            class: RejectClass::NoText,
            reason: "text has 10 characters, minimum is 40".into()
        }
    );
    assert_eq!(
        rejected(json!({"id": "1", "html": "<script>only script</script>"})).class,
        RejectClass::NoText
    );
    assert_eq!(
        rejected(json!({"id": "1", "text": "\u{0}\u{1}   \n\n\u{200B}"})).class,
        RejectClass::NoText
    );
}

#[test]
fn reject_invalid_field_names_the_field() {
    let cases = [
        (
            json!({"id": "1", "text": BODY, "title": {"a": 1}}),
            "field `title` must be a string, got an object",
        ),
        (
            json!({"id": "1", "text": BODY, "url": 5}),
            "field `url` must be a string, got a number",
        ),
        (
            json!({"id": [1], "text": BODY}),
            "field `id` must be a string or number, got an array",
        ),
        (
            json!({"id": "1", "text": 5}),
            "field `text` must be a string, got a number",
        ),
        (
            json!({"id": "1", "maintext": ["a"]}),
            "field `maintext` must be a string, got an array",
        ),
        (
            json!({"id": "1", "text": BODY, "authors": [1]}),
            "field `authors[0]` must be a string, got a number",
        ),
        (
            json!({"id": "1", "text": BODY, "authors": {"a": 1}}),
            "field `authors` must be an array of strings, got an object",
        ),
        (
            json!({"id": "1", "text": BODY, "date_publish": true}),
            "field `date_publish` must be a date string or epoch number, got a boolean",
        ),
        (
            json!({"id": "1", "text": BODY, "language": 1}),
            "field `language` must be a string, got a number",
        ),
        (
            json!({"id": "1", "text": BODY, "source": [1]}),
            "field `source` must be a string, got an array",
        ),
        (
            json!({"id": "1", "text": BODY, "description": {}}),
            "field `description` must be a string, got an object",
        ),
    ];
    for (v, reason) in cases {
        let r = rejected(v);
        assert_eq!(r.class, RejectClass::InvalidField);
        assert_eq!(r.reason, reason);
    }
}

#[test]
fn field_types_are_checked_before_identity_and_text() {
    let r = rejected(json!({"title": 5}));
    assert_eq!(r.class, RejectClass::InvalidField);
    let r = rejected(json!({"id": "1", "html": {}}));
    assert_eq!(r.class, RejectClass::InvalidField);
    assert_eq!(
        rejected(json!({"title": "t"})).class,
        RejectClass::NoIdentity
    );
}

#[test]
fn reject_class_names_and_display() {
    let all = [
        (RejectClass::InvalidJson, "invalid_json"),
        (RejectClass::NotAnObject, "not_an_object"),
        (RejectClass::BadEncoding, "bad_encoding"),
        (RejectClass::TooLarge, "too_large"),
        (RejectClass::NoText, "no_text"),
        (RejectClass::NoIdentity, "no_identity"),
        (RejectClass::InvalidField, "invalid_field"),
    ];
    for (class, name) in all {
        assert_eq!(class.as_str(), name);
        assert_eq!(class.to_string(), name);
        assert_eq!(serde_json::to_value(class).ok(), Some(json!(name)));
    }
    let r = Rejection {
        class: RejectClass::NoText,
        reason: "empty".into(),
    };
    assert_eq!(r.to_string(), "no_text: empty");
}

#[test]
fn article_key_and_content_hash() {
    let a = ok(json!({"url": "https://example.com/a", "text": BODY}));
    let key = a.article_key();
    assert_eq!(key.len(), 32);
    assert!(
        key.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    // same canonical URL and same text up to presentation: same key and hash
    let b = ok(
        json!({"url": "http://www.example.com/a/?utm_source=x", "id": "other", "text": BODY.to_uppercase()}),
    );
    assert_eq!(a.content_hash(), b.content_hash());
    assert_eq!(a.article_key(), b.article_key());
    // different text or URL: different key
    let c = ok(json!({"url": "https://example.com/a", "text": format!("{BODY} Updated.")}));
    assert_ne!(a.article_key(), c.article_key());
    let d = ok(json!({"url": "https://example.com/b", "text": BODY}));
    assert_ne!(a.article_key(), d.article_key());
    // without a URL the id takes its place
    let e = ok(json!({"id": "1", "text": BODY}));
    let f = ok(json!({"id": "2", "text": BODY}));
    assert_ne!(e.article_key(), f.article_key());
    assert_eq!(e.content_hash(), a.content_hash());
    // pinned: keys are stored and used as Kafka message keys, they must never change
    assert_eq!(a.content_hash(), PINNED_HASH);
    assert_eq!(key, PINNED_KEY);
}

const PINNED_HASH: i64 = 7694484734668851644;
const PINNED_KEY: &str = "d5173923ff5bb50698d829e683c61554";

#[test]
fn seed_article_parses() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/samples/seed-article.txt"
    );
    let seed = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let a = ok(json!({"url": "https://example.com/seed", "maintext": seed}));
    assert_eq!(a.text.lines().count(), seed.lines().count());
    assert!(a.text.contains("Russia’s war in Ukraine"));
}

#[test]
fn salvages_identity_of_rejected_messages() {
    let limits = Limits::default();
    assert_eq!(
        salvage_identity(br#"{"id": 5, "title": {}}"#, &limits).as_deref(),
        Some("5")
    );
    assert_eq!(
        salvage_identity(br#"{"url": "u", "text": ""}"#, &limits).as_deref(),
        Some("u")
    );
    assert_eq!(
        salvage_identity(br#"{"id": {}, "url": "u"}"#, &limits).as_deref(),
        Some("u")
    );
    assert_eq!(salvage_identity(b"[1]", &limits), None);
    assert_eq!(salvage_identity(b"{", &limits), None);
}

#[test]
fn arbitrary_bytes_never_panic() {
    // a cheap deterministic fuzz over mutated valid messages
    let base = serde_json::to_vec(&json!({
        "id": "1", "url": "https://example.com/a?b=1#c", "title": "<b>T</b> &amp;",
        "html": "<p>Some <i>text</i> here that is long enough.</p><script>x</script>",
        "date_publish": "2024-06-19 08:30:00", "authors": ["A"], "source_domain": "example.com"
    }))
    .unwrap_or_default();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let mut bytes = base.clone();
        for _ in 0..(next() % 4 + 1) {
            let i = (next() % bytes.len() as u64) as usize;
            let alphabet = b"<>&\"'\\{}[]:,/.#?%\0\xff\xc3 az09";
            let b = alphabet[(next() % alphabet.len() as u64) as usize];
            match next() % 3 {
                0 => bytes[i] = b,
                1 => bytes.insert(i, b),
                _ => {
                    bytes.remove(i);
                }
            }
        }
        if let Ok(a) = parse_article(&bytes, &Limits::default()) {
            assert!(!a.text.is_empty());
            let _ = (
                a.article_key(),
                a.display_id(),
                crate::dedup::sketch(&a.text),
            );
        }
    }
}

#[test]
fn article_key_from_a_known_hash_is_the_article_key() {
    let raw = br#"{"url": "https://example.com/a?utm_source=x", "title": "T", "text": "Some words of text here for the key, long enough to be an article."}"#;
    let a = parse_article(raw, &Limits::default()).expect("valid article");
    assert_eq!(a.article_key_for(a.content_hash()), a.article_key());
    assert_eq!(
        crate::dedup::fingerprint(&a.text).content_hash,
        a.content_hash()
    );
}

/// Every string of an article, for checks that must hold for all of them.
fn strings(a: &Article) -> Vec<&str> {
    let mut all: Vec<&str> = [
        a.external_id.as_deref(),
        a.url.as_deref(),
        a.canonical_url.as_deref(),
        a.title.as_deref(),
        a.description.as_deref(),
        Some(a.text.as_str()),
        a.source.as_deref(),
        a.language.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    all.extend(a.authors.iter().map(String::as_str));
    all
}

#[test]
fn nul_and_control_characters_never_reach_any_field() {
    // Regression: `id`, `url` and `language` were stored as given, and Postgres text
    // rejects NUL, so the write failed and the article went to the DLQ as store_failed.
    let a = ok(json!({
        "id": "\u{0}id\u{0}-7\u{1b}",
        "url": "https://example.com/a\u{0}b\tc\n",
        "language": "e\u{0}n\u{7}",
        "title": "T\u{0}itle",
        "authors": ["Jane\u{0} Doe"],
        "source": "Wire\u{0} Service",
        "text": format!("{BODY}\u{0}\u{1}"),
    }));
    assert_eq!(a.external_id.as_deref(), Some("id-7"));
    assert_eq!(a.url.as_deref(), Some("https://example.com/abc"));
    assert_eq!(a.canonical_url.as_deref(), Some("https://example.com/abc"));
    assert_eq!(a.language.as_deref(), Some("en"));
    for s in strings(&a) {
        assert!(!s.chars().any(|c| c.is_control() && c != '\n'), "{s:?}");
    }
    // A URL that is nothing but control characters is no URL.
    let r = rejected(json!({"url": "\u{0}\u{1}", "text": BODY}));
    assert_eq!(r.class, RejectClass::NoIdentity);
}

#[test]
fn overlong_url_and_id_are_invalid_fields() {
    let long_url = format!("https://example.com/{}", "a".repeat(100 * 1024));
    let r = rejected(json!({"id": "1", "url": long_url, "text": BODY}));
    assert_eq!(r.class, RejectClass::InvalidField);
    assert!(r.reason.contains("`url`"), "{}", r.reason);
    let r = rejected(json!({"id": "x".repeat(MAX_ID_BYTES + 1), "text": BODY}));
    assert_eq!(r.class, RejectClass::InvalidField);
    assert!(r.reason.contains("`id`"), "{}", r.reason);
    // At the limits they are fine.
    let url = format!("https://example.com/{}", "a".repeat(MAX_URL_BYTES - 20));
    let a = ok(json!({"id": "x".repeat(MAX_ID_BYTES), "url": url, "text": BODY}));
    assert_eq!(a.canonical_url.as_deref(), Some(url.as_str()));
    // A language that is no language tag is dropped, not stored.
    let a = ok(json!({"id": "1", "text": BODY, "language": "x".repeat(5_000)}));
    assert_eq!(a.language, None);
}

#[test]
fn a_million_authors_are_capped_in_linear_time() {
    // Regression: the distinct-author check was quadratic; ~500,000 names in a 5 MB
    // message kept a core busy for minutes.
    let names: Vec<String> = (0..500_000).map(|i| format!("a{i}")).collect();
    let bytes =
        serde_json::to_vec(&json!({"id": "1", "text": BODY, "authors": names})).unwrap_or_default();
    assert!(bytes.len() < Limits::default().max_message_bytes);
    let start = std::time::Instant::now();
    let a = parse_article(&bytes, &Limits::default()).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(a.authors.len(), MAX_AUTHORS);
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    // Wrong types are still found past the cap.
    let mut items: Vec<serde_json::Value> = (0..100).map(|i| json!(format!("a{i}"))).collect();
    items.push(json!(5));
    let r = rejected(json!({"id": "1", "text": BODY, "authors": items}));
    assert_eq!(
        r.reason,
        "field `authors[100]` must be a string, got a number"
    );
}

#[test]
fn the_forwarded_message_of_any_article_fits_a_default_kafka_message() {
    // Regression: description was cut at the text limit (200,000 characters), so an
    // article of 4-byte characters made a ~1.6 MB `news.articles` message, over the
    // 1,000,000 bytes a producer accepts by default: the outbox relay retried it forever.
    let wide = "\u{1F600}".repeat(300_000);
    let quotes = "\"\\".repeat(300_000);
    for body in [&wide, &quotes] {
        let names: Vec<String> = (0..100).map(|i| format!("{i}{wide:.300}")).collect();
        let bytes = serde_json::to_vec(&json!({
            "id": "i".repeat(MAX_ID_BYTES),
            "url": format!("https://example.com/{}", "%F0%9F%98%80".repeat(160)),
            "title": body, "description": body, "maintext": body,
            "authors": names, "source": body, "language": "en",
        }))
        .unwrap_or_default();
        assert!(bytes.len() < Limits::default().max_message_bytes);
        let a = parse_article(&bytes, &Limits::default()).unwrap_or_else(|r| panic!("{r}"));
        let message =
            crate::messages::ArticleMessage::new(&a, a.article_key(), i64::MAX, Utc::now());
        let size = serde_json::to_vec(&message).unwrap_or_default().len();
        assert!(size < 950_000, "{size} bytes");
    }
}
