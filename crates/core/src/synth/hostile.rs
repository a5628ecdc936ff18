//! A deterministic corpus of hostile and broken input messages, each labelled with what the
//! dedup stage must do with it: dead-letter it with a given [`RejectClass`], or store it
//! safely (scripts stripped, control characters and NUL removed, injection strings kept
//! verbatim as text). Pure logic, no I/O; the same config always yields the same bytes.
//!
//! Messages cycle through every [`HostileKind`] (so each kind gets about `count / 14`
//! messages), with the variant inside a kind drawn at random; the few huge messages (20 MB by
//! default) sit at fixed, evenly spread positions. Every stored message carries a marker
//! word (`hostilemark{n}s{seed}`) in its text, so its row can be found whatever happened to
//! its id or URL. Expectations are those of `parse_article` with `Limits::default()`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::article::{Article, MAX_URL_BYTES, RejectClass};

/// What corpus to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostileConfig {
    /// Seeds the ChaCha8 generator; also part of every key, id and marker.
    pub seed: u64,
    /// Number of messages, huge ones included.
    pub count: usize,
    /// How many of them are huge (over the size limit, rejected before parsing).
    pub huge: usize,
    /// Size of each huge message in bytes; must exceed the `Limits::max_message_bytes` of
    /// the stage that reads the corpus (5 MiB by default; every other message is well under
    /// 1 MiB, so a lower limit leaves their labels unchanged).
    pub huge_bytes: usize,
}

impl Default for HostileConfig {
    fn default() -> Self {
        Self {
            seed: 7,
            count: 10_000,
            huge: 3,
            huge_bytes: 20 * 1024 * 1024,
        }
    }
}

/// The kind of hostility a message exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostileKind {
    InvalidJson,
    WrongType,
    MissingField,
    Empty,
    Huge,
    InvalidUtf8,
    NulBytes,
    ControlChars,
    DeepNesting,
    HugeNumber,
    DuplicateKeys,
    HtmlScript,
    SqlInjection,
    AbsurdDate,
    AbsurdUrl,
}

impl HostileKind {
    pub const ALL: [HostileKind; 15] = [
        HostileKind::InvalidJson,
        HostileKind::WrongType,
        HostileKind::MissingField,
        HostileKind::Empty,
        HostileKind::Huge,
        HostileKind::InvalidUtf8,
        HostileKind::NulBytes,
        HostileKind::ControlChars,
        HostileKind::DeepNesting,
        HostileKind::HugeNumber,
        HostileKind::DuplicateKeys,
        HostileKind::HtmlScript,
        HostileKind::SqlInjection,
        HostileKind::AbsurdDate,
        HostileKind::AbsurdUrl,
    ];

    /// Every kind but [`HostileKind::Huge`], in the order messages cycle through them.
    const CYCLE: [HostileKind; 14] = [
        HostileKind::InvalidJson,
        HostileKind::WrongType,
        HostileKind::MissingField,
        HostileKind::Empty,
        HostileKind::InvalidUtf8,
        HostileKind::NulBytes,
        HostileKind::ControlChars,
        HostileKind::DeepNesting,
        HostileKind::HugeNumber,
        HostileKind::DuplicateKeys,
        HostileKind::HtmlScript,
        HostileKind::SqlInjection,
        HostileKind::AbsurdDate,
        HostileKind::AbsurdUrl,
    ];

    /// Stable snake_case name (the `newsflow.hostile.kind` header, report tables).
    pub fn as_str(self) -> &'static str {
        match self {
            HostileKind::InvalidJson => "invalid_json",
            HostileKind::WrongType => "wrong_type",
            HostileKind::MissingField => "missing_field",
            HostileKind::Empty => "empty",
            HostileKind::Huge => "huge",
            HostileKind::InvalidUtf8 => "invalid_utf8",
            HostileKind::NulBytes => "nul_bytes",
            HostileKind::ControlChars => "control_chars",
            HostileKind::DeepNesting => "deep_nesting",
            HostileKind::HugeNumber => "huge_number",
            HostileKind::DuplicateKeys => "duplicate_keys",
            HostileKind::HtmlScript => "html_script",
            HostileKind::SqlInjection => "sql_injection",
            HostileKind::AbsurdDate => "absurd_date",
            HostileKind::AbsurdUrl => "absurd_url",
        }
    }
}

/// What the stored canonical URL must be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UrlExpectation {
    /// Anything (including none).
    Unchecked,
    /// No canonical URL: the given one is not a usable http(s) address.
    Absent,
    Exact(String),
    /// Present and starting with this (IDN hosts become `xn--` labels).
    Prefix(String),
}

/// What must hold for a message that is stored as an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredExpectation {
    /// A word unique to the message that its stored text contains: finds its row.
    pub marker: String,
    /// The exact external id, when one is expected.
    pub external_id: Option<String>,
    /// The exact title, when one is expected.
    pub title: Option<String>,
    /// Substrings the stored text contains (the marker is checked on its own).
    pub text_contains: Vec<String>,
    /// Substrings that must not survive anywhere in the stored text or title.
    pub text_excludes: Vec<String>,
    pub canonical_url: UrlExpectation,
    /// The publication date was absurd: it must be stored as unknown.
    pub published_at_absent: bool,
}

/// The dedup stage's required outcome for a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    /// On the DLQ with this `newsflow.error.class` (and a reason).
    Rejected(RejectClass),
    /// A row in `articles` satisfying the expectation.
    Stored(StoredExpectation),
}

impl Expected {
    /// `rejected:<class>` or `stored`, for headers and summaries.
    pub fn label(&self) -> String {
        match self {
            Expected::Rejected(class) => format!("rejected:{class}"),
            Expected::Stored(_) => "stored".to_owned(),
        }
    }
}

/// One generated message.
#[derive(Debug, Clone)]
pub struct HostileMessage {
    /// Position in the corpus.
    pub n: usize,
    pub kind: HostileKind,
    /// Kafka key (`hostile-{seed}-{n}`): the DLQ keeps it, so a dead letter is traced back.
    pub key: String,
    pub payload: Vec<u8>,
    pub expected: Expected,
}

/// The stored form of an article as the checks see it: built from a parsed [`Article`] or
/// from an `articles` row.
#[derive(Debug, Clone, Copy)]
pub struct StoredView<'a> {
    pub external_id: Option<&'a str>,
    pub url: Option<&'a str>,
    pub canonical_url: Option<&'a str>,
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub text: &'a str,
    pub source: Option<&'a str>,
    pub language: Option<&'a str>,
    pub authors: &'a [String],
    pub has_published_at: bool,
}

impl<'a> From<&'a Article> for StoredView<'a> {
    fn from(a: &'a Article) -> Self {
        StoredView {
            external_id: a.external_id.as_deref(),
            url: a.url.as_deref(),
            canonical_url: a.canonical_url.as_deref(),
            title: a.title.as_deref(),
            description: a.description.as_deref(),
            text: &a.text,
            source: a.source.as_deref(),
            language: a.language.as_deref(),
            authors: &a.authors,
            has_published_at: a.published_at.is_some(),
        }
    }
}

impl StoredExpectation {
    /// Whether `view` is what this message must be stored as; the error says what is not.
    ///
    /// Beyond the message's own expectations, every stored string must be free of NUL and
    /// other control characters (the text may keep `\n` between paragraphs).
    pub fn check(&self, view: &StoredView<'_>) -> Result<(), String> {
        let mut strings: Vec<(&str, &str)> = vec![("text", view.text)];
        for (name, value) in [
            ("external_id", view.external_id),
            ("url", view.url),
            ("canonical_url", view.canonical_url),
            ("title", view.title),
            ("description", view.description),
            ("source", view.source),
            ("language", view.language),
        ] {
            if let Some(v) = value {
                strings.push((name, v));
            }
        }
        strings.extend(view.authors.iter().map(|a| ("authors", a.as_str())));
        for (name, value) in strings {
            let allowed_newline = name == "text";
            if let Some(c) = value
                .chars()
                .find(|c| c.is_control() && !(allowed_newline && *c == '\n'))
            {
                return Err(format!("{name} holds control character {c:?}"));
            }
        }
        if !contains_word(view.text, &self.marker) {
            return Err(format!("text lacks the marker {}", self.marker));
        }
        if let Some(id) = &self.external_id
            && view.external_id != Some(id.as_str())
        {
            return Err(format!(
                "external_id is {:?}, expected {id:?}",
                view.external_id
            ));
        }
        if let Some(title) = &self.title
            && view.title != Some(title.as_str())
        {
            return Err(format!("title is {:?}, expected {title:?}", view.title));
        }
        for s in &self.text_contains {
            if !view.text.contains(s.as_str()) {
                return Err(format!("text lacks {s:?}: {:?}", preview(view.text)));
            }
        }
        for s in &self.text_excludes {
            for (name, value) in [
                ("text", Some(view.text)),
                ("title", view.title),
                ("description", view.description),
            ] {
                if value.is_some_and(|v| v.to_lowercase().contains(&s.to_lowercase())) {
                    return Err(format!("{name} still holds {s:?}"));
                }
            }
        }
        let canonical_ok = match &self.canonical_url {
            UrlExpectation::Unchecked => true,
            UrlExpectation::Absent => view.canonical_url.is_none(),
            UrlExpectation::Exact(u) => view.canonical_url == Some(u.as_str()),
            UrlExpectation::Prefix(p) => view.canonical_url.is_some_and(|u| u.starts_with(p)),
        };
        if !canonical_ok {
            return Err(format!(
                "canonical_url is {:?}, expected {:?}",
                view.canonical_url, self.canonical_url
            ));
        }
        if self.published_at_absent && view.has_published_at {
            return Err("an absurd publication date was stored".to_owned());
        }
        Ok(())
    }
}

fn contains_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w == word)
}

fn preview(text: &str) -> &str {
    match text.char_indices().nth(160) {
        Some((i, _)) => text.get(..i).unwrap_or(text),
        None => text,
    }
}

/// The marker word of message `n` of a corpus seeded with `seed`.
pub fn marker(seed: u64, n: usize) -> String {
    format!("hostilemark{n}s{seed}")
}

/// The marker found in a stored text, if any: the inverse of [`marker`], for matching rows
/// back to messages.
pub fn find_marker(text: &str) -> Option<&str> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.starts_with("hostilemark"))
}

/// Streams the corpus; see the module docs.
#[derive(Debug)]
pub struct Hostile {
    config: HostileConfig,
    rng: ChaCha8Rng,
    n: usize,
    /// Messages that are not huge so far: picks the next kind of the cycle.
    cycled: usize,
}

impl Hostile {
    pub fn new(config: HostileConfig) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x0068_6f73_7469_6c65),
            config,
            n: 0,
            cycled: 0,
        }
    }

    /// Whether message `n` is one of the huge ones (evenly spread over the corpus).
    fn is_huge(&self, n: usize) -> bool {
        let huge = self.config.huge.min(self.config.count);
        if huge == 0 {
            return false;
        }
        let stride = self.config.count / huge;
        n % stride == stride / 2 && n / stride < huge
    }
}

impl Iterator for Hostile {
    type Item = HostileMessage;

    fn next(&mut self) -> Option<HostileMessage> {
        if self.n >= self.config.count {
            return None;
        }
        let n = self.n;
        self.n += 1;
        let kind = if self.is_huge(n) {
            HostileKind::Huge
        } else {
            self.cycled += 1;
            HostileKind::CYCLE[(self.cycled - 1) % HostileKind::CYCLE.len()]
        };
        let mut ctx = Ctx {
            seed: self.config.seed,
            n,
            rng: &mut self.rng,
        };
        let (payload, expected) = match kind {
            HostileKind::InvalidJson => ctx.invalid_json(),
            HostileKind::WrongType => ctx.wrong_type(),
            HostileKind::MissingField => ctx.missing_field(),
            HostileKind::Empty => ctx.empty(),
            HostileKind::Huge => ctx.huge(self.config.huge_bytes),
            HostileKind::InvalidUtf8 => ctx.invalid_utf8(),
            HostileKind::NulBytes => ctx.nul_bytes(),
            HostileKind::ControlChars => ctx.control_chars(),
            HostileKind::DeepNesting => ctx.deep_nesting(),
            HostileKind::HugeNumber => ctx.huge_number(),
            HostileKind::DuplicateKeys => ctx.duplicate_keys(),
            HostileKind::HtmlScript => ctx.html_script(),
            HostileKind::SqlInjection => ctx.sql_injection(),
            HostileKind::AbsurdDate => ctx.absurd_date(),
            HostileKind::AbsurdUrl => ctx.absurd_url(),
        };
        Some(HostileMessage {
            n,
            kind,
            key: format!("hostile-{}-{n}", self.config.seed),
            payload,
            expected,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.config.count - self.n;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Hostile {}

/// Words of the hostile articles' bodies: none is in the synthetic stream's vocabulary, so
/// hostile articles never look like copies of the valid stream (or of each other: each body
/// is a random draw of them plus a unique marker).
const WORDS: &[&str] = &[
    "quarry", "lantern", "orchard", "meadow", "pebble", "thimble", "walnut", "glacier", "harp",
    "velvet", "cobalt", "juniper", "saffron", "tundra", "marble", "beacon", "falcon", "lagoon",
    "nutmeg", "quartz", "ripple", "sorrel", "tinder", "umber", "willow", "yarrow", "zephyr",
    "bramble", "cinder", "dapple", "ember", "fennel",
];

const SQL_INJECTIONS: &[&str] = &[
    "'; DROP TABLE articles; --",
    "Robert'); DROP TABLE students;--",
    "1' OR '1'='1",
    "\" OR \"\"=\"",
    "' UNION SELECT usename, passwd FROM pg_shadow --",
    "1; SELECT pg_sleep(30); --",
    "'); TRUNCATE outbox; --",
    "admin'--",
    "\\'; DELETE FROM consumer_offsets WHERE true; --",
    "$1 $2::text E'\\\\x41' $$dollar$$",
    "%27 OR 1=1 --",
    "'; COPY articles TO PROGRAM 'id'; --",
];

/// Per-message generation context.
struct Ctx<'r> {
    seed: u64,
    n: usize,
    rng: &'r mut ChaCha8Rng,
}

type Generated = (Vec<u8>, Expected);

fn rejected(payload: impl Into<Vec<u8>>, class: RejectClass) -> Generated {
    (payload.into(), Expected::Rejected(class))
}

fn to_bytes(object: &Map<String, Value>) -> Vec<u8> {
    serde_json::to_vec(object).unwrap_or_default()
}

impl Ctx<'_> {
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    fn variant(&mut self, variants: usize) -> usize {
        self.rng.random_range(0..variants)
    }

    fn id(&self) -> String {
        format!("hostile-{}-{}", self.seed, self.n)
    }

    fn marker(&self) -> String {
        marker(self.seed, self.n)
    }

    /// Random words around the marker: ASCII, well over the minimum text length.
    fn body(&mut self) -> String {
        let mut words: Vec<String> = (0..24).map(|_| self.pick(WORDS).to_owned()).collect();
        let at = self.rng.random_range(0..words.len());
        words.insert(at, self.marker());
        let mut body = words.join(" ");
        body.push('.');
        body
    }

    /// A valid article in the news-please shape.
    fn base(&mut self) -> Map<String, Value> {
        let body = self.body();
        let mut object = Map::new();
        object.insert("id".into(), json!(self.id()));
        object.insert(
            "url".into(),
            json!(format!("https://hostile.example/{}/{}", self.seed, self.n)),
        );
        object.insert("title".into(), json!(format!("Hostile test {}", self.n)));
        object.insert("maintext".into(), json!(body));
        object.insert("date_publish".into(), json!("2024-06-19 08:30:00"));
        object.insert("language".into(), json!("en"));
        object
    }

    /// The expectation of a stored base article.
    fn stored(&self) -> StoredExpectation {
        StoredExpectation {
            marker: self.marker(),
            external_id: Some(self.id()),
            title: None,
            text_contains: Vec::new(),
            text_excludes: Vec::new(),
            canonical_url: UrlExpectation::Unchecked,
            published_at_absent: false,
        }
    }

    fn invalid_json(&mut self) -> Generated {
        let base = to_bytes(&self.base());
        let text = String::from_utf8_lossy(&base).into_owned();
        let id = self.id();
        let payload: Vec<u8> = match self.variant(14) {
            // Any strict prefix of an object is incomplete (the body is ASCII, so a cut
            // never splits a character).
            0 => {
                let cut = self.rng.random_range(1..base.len());
                base[..cut].to_vec()
            }
            1 => format!("{text} trailing garbage").into_bytes(),
            2 => format!("{text}{text}").into_bytes(),
            3 => format!("{{'id': '{id}', 'maintext': 'single quotes'}}").into_bytes(),
            4 => format!("{{id: \"{id}\", maintext: \"unquoted keys\"}}").into_bytes(),
            5 => format!("{},}}", &text[..text.len() - 1]).into_bytes(),
            6 => format!("{{\"id\": NaN, \"url\": \"https://x.example/{id}\"}}").into_bytes(),
            7 => format!("/* a comment */ {text}").into_bytes(),
            8 => format!("not json at all {id}").into_bytes(),
            9 => format!("<article><id>{id}</id></article>").into_bytes(),
            10 => format!("{{\"id\": \"{id}").into_bytes(),
            11 => format!("{{\"id\": \"\\x41{id}\"}}").into_bytes(),
            12 => format!("{{\"id\": 0x1F, \"title\": \"{id}\"}}").into_bytes(),
            _ => format!("{{\"id\" \"{id}\"}}").into_bytes(),
        };
        rejected(payload, RejectClass::InvalidJson)
    }

    fn wrong_type(&mut self) -> Generated {
        let mut object = self.base();
        const WRONG: &[&str] = &[
            "id",
            "url",
            "title",
            "description",
            "maintext",
            "body",
            "text",
            "content",
            "html",
            "authors",
            "author_item",
            "date_publish",
            "published_at",
            "date_modify",
            "language",
            "source",
            "source_domain",
            "top_level",
        ];
        let field = self.pick(WRONG);
        let values = [
            json!(true),
            json!(42),
            json!([1, 2]),
            json!({"nested": "object"}),
        ];
        let value = values[self.variant(values.len())].clone();
        match field {
            "top_level" => {
                let payload = match self.variant(6) {
                    0 => "[]".to_owned(),
                    1 => format!("[{}]", String::from_utf8_lossy(&to_bytes(&object))),
                    2 => format!("\"{}\"", self.id()),
                    3 => "42".to_owned(),
                    4 => "null".to_owned(),
                    _ => "true".to_owned(),
                };
                rejected(payload, RejectClass::NotAnObject)
            }
            "author_item" => {
                object.insert("authors".into(), json!(["Jane Doe", value]));
                rejected(to_bytes(&object), RejectClass::InvalidField)
            }
            "id" | "date_publish" | "published_at" | "date_modify" => {
                // Numbers are valid ids and epoch dates. The first date field present is
                // the one read, so `published_at` counts only without `date_publish`.
                if field == "published_at" {
                    object.remove("date_publish");
                }
                let value = if value.is_number() {
                    json!(["not", "a", "scalar"])
                } else {
                    value
                };
                object.insert(field.into(), value);
                rejected(to_bytes(&object), RejectClass::InvalidField)
            }
            "authors" if value.is_array() => {
                object.insert(field.into(), json!([[1]]));
                rejected(to_bytes(&object), RejectClass::InvalidField)
            }
            "source" if value.is_object() => {
                // NewsAPI's {"id", "name"} object is a valid source.
                object.insert(field.into(), json!(7.5));
                rejected(to_bytes(&object), RejectClass::InvalidField)
            }
            _ => {
                object.insert(field.into(), value);
                rejected(to_bytes(&object), RejectClass::InvalidField)
            }
        }
    }

    fn missing_field(&mut self) -> Generated {
        let mut object = self.base();
        match self.variant(8) {
            0 => {
                object.remove("id");
                object.remove("url");
                rejected(to_bytes(&object), RejectClass::NoIdentity)
            }
            1 => {
                object.remove("maintext");
                rejected(to_bytes(&object), RejectClass::NoText)
            }
            2 => rejected(
                format!("{{\"id\": \"{}\"}}", self.id()),
                RejectClass::NoText,
            ),
            3 => {
                let body = self.body();
                rejected(
                    to_bytes(&Map::from_iter([("maintext".to_owned(), json!(body))])),
                    RejectClass::NoIdentity,
                )
            }
            4 => {
                // Body too short, no description to stand in.
                object.insert("maintext".into(), json!("Too short."));
                rejected(to_bytes(&object), RejectClass::NoText)
            }
            5 => {
                // Only what identifies and carries the article: stored.
                for field in ["title", "date_publish", "language", "url"] {
                    object.remove(field);
                }
                let mut expected = self.stored();
                expected.canonical_url = UrlExpectation::Absent;
                (to_bytes(&object), Expected::Stored(expected))
            }
            6 => {
                // Body too short, but the description stands in.
                let body = self.body();
                object.insert("maintext".into(), json!("Too short."));
                object.insert("description".into(), json!(body));
                (to_bytes(&object), Expected::Stored(self.stored()))
            }
            _ => {
                // Explicit nulls are missing fields.
                object.insert("title".into(), Value::Null);
                object.insert("authors".into(), Value::Null);
                object.insert("date_publish".into(), Value::Null);
                let mut expected = self.stored();
                expected.published_at_absent = true;
                (to_bytes(&object), Expected::Stored(expected))
            }
        }
    }

    fn empty(&mut self) -> Generated {
        let mut object = self.base();
        match self.variant(10) {
            0 => rejected(Vec::new(), RejectClass::InvalidJson),
            // No newline byte anywhere in the corpus: every message but the blank ones
            // can be written as one JSONL line (see `newsflow-feed hostile --out`).
            1 => rejected(" \t \r \u{b}", RejectClass::InvalidJson),
            2 => rejected(b"\xEF\xBB\xBF".to_vec(), RejectClass::InvalidJson),
            3 => rejected("{}", RejectClass::NoIdentity),
            4 => rejected("\"\"", RejectClass::NotAnObject),
            5 => {
                object.insert("maintext".into(), json!(""));
                rejected(to_bytes(&object), RejectClass::NoText)
            }
            6 => {
                object.insert("maintext".into(), json!(" \n\t\u{a0}\u{2003} \r\n "));
                rejected(to_bytes(&object), RejectClass::NoText)
            }
            7 => {
                object.insert(
                    "html".into(),
                    json!("<html><head><title>t</title></head><body><p></p><script>alert(1)</script></body></html>"),
                );
                object.remove("maintext");
                rejected(to_bytes(&object), RejectClass::NoText)
            }
            8 => {
                object.insert("maintext".into(), json!("\u{0}\u{1}\u{200b}\u{feff}"));
                rejected(to_bytes(&object), RejectClass::NoText)
            }
            _ => {
                object.insert("maintext".into(), json!(""));
                object.insert("description".into(), json!(""));
                rejected(to_bytes(&object), RejectClass::NoText)
            }
        }
    }

    /// A well-formed article padded to `bytes`: rejected for its size alone.
    fn huge(&mut self, bytes: usize) -> Generated {
        let head = format!(
            "{{\"id\": \"{}\", \"url\": \"https://hostile.example/huge/{}\", \"maintext\": \"",
            self.id(),
            self.n
        );
        let tail = "\"}";
        let mut payload = Vec::with_capacity(bytes.max(head.len() + tail.len()));
        payload.extend_from_slice(head.as_bytes());
        let chunk = b"lantern orchard meadow pebble ";
        while payload.len() + tail.len() < bytes {
            let room = bytes - tail.len() - payload.len();
            payload.extend_from_slice(&chunk[..room.min(chunk.len())]);
        }
        payload.extend_from_slice(tail.as_bytes());
        rejected(payload, RejectClass::TooLarge)
    }

    fn invalid_utf8(&mut self) -> Generated {
        let base = to_bytes(&self.base());
        // Somewhere inside the body text.
        let body_at = base
            .windows(11)
            .position(|w| w == b"hostilemark")
            .unwrap_or(base.len() / 2);
        let mut payload = base.clone();
        match self.variant(9) {
            0 => payload.insert(body_at, 0xFF),
            1 => payload.insert(body_at, 0x80),
            2 => payload
                .splice(body_at..body_at, [0xC0, 0xAF])
                .for_each(drop),
            3 => payload
                .splice(body_at..body_at, [0xED, 0xA0, 0x80])
                .for_each(drop),
            4 => payload
                .splice(body_at..body_at, [0xE2, 0x82])
                .for_each(drop),
            5 => payload
                .splice(body_at..body_at, *b"caf\xE9 ")
                .for_each(drop),
            6 => {
                // UTF-16LE with a byte order mark, as some Windows exporters write.
                payload = vec![0xFF, 0xFE];
                for unit in String::from_utf8_lossy(&base).encode_utf16() {
                    payload.extend_from_slice(&unit.to_le_bytes());
                }
            }
            7 => {
                payload = (0..64)
                    .map(|_| match self.rng.random::<u8>() {
                        b'\n' => 0xFF,
                        b => b,
                    })
                    .collect();
                payload[0] = 0xFE;
            }
            _ => {
                // An escaped lone surrogate is not a character either.
                let id = self.id();
                let body = self.body();
                return rejected(
                    format!(
                        "{{\"id\": \"{id}\", \"title\": \"\\ud800 lone\", \"maintext\": \"{body}\"}}"
                    ),
                    RejectClass::BadEncoding,
                );
            }
        }
        rejected(payload, RejectClass::BadEncoding)
    }

    fn nul_bytes(&mut self) -> Generated {
        let mut object = self.base();
        let base = to_bytes(&object);
        let mut expected = self.stored();
        match self.variant(9) {
            // Raw NUL bytes are not JSON, inside a string or between tokens.
            0 => {
                let at = base
                    .windows(11)
                    .position(|w| w == b"hostilemark")
                    .unwrap_or(1);
                let mut payload = base;
                payload.insert(at, 0);
                rejected(payload, RejectClass::InvalidJson)
            }
            1 => {
                let mut payload = base;
                payload.push(0);
                rejected(payload, RejectClass::InvalidJson)
            }
            2 => rejected(vec![0u8; 64], RejectClass::InvalidJson),
            // Escaped NULs (\u0000) decode to NUL characters: stripped from every field.
            3 => {
                let body = self.body();
                object.insert("maintext".into(), json!(format!("\u{0}{body}\u{0}")));
                object.insert("title".into(), json!(format!("Nul\u{0}title {}", self.n)));
                expected.title = Some(format!("Nultitle {}", self.n));
                expected.text_contains.push(self.marker());
                (to_bytes(&object), Expected::Stored(expected))
            }
            4 => {
                let id = self.id();
                object.insert("id".into(), json!(format!("\u{0}{id}\u{0}")));
                (to_bytes(&object), Expected::Stored(expected))
            }
            5 => {
                let url = format!("https://hostile.example/{}/nul{}\u{0}", self.seed, self.n);
                object.insert("url".into(), json!(url));
                expected.canonical_url = UrlExpectation::Exact(format!(
                    "https://hostile.example/{}/nul{}",
                    self.seed, self.n
                ));
                (to_bytes(&object), Expected::Stored(expected))
            }
            6 => {
                object.insert("language".into(), json!("e\u{0}n"));
                object.insert("authors".into(), json!(["Jane\u{0} Doe", "\u{0}"]));
                object.insert("source".into(), json!("Nul\u{0} Wire"));
                (to_bytes(&object), Expected::Stored(expected))
            }
            7 => {
                object.insert("date_publish".into(), json!("2024-06-19\u{0}08:30:00"));
                object.insert("description".into(), json!("\u{0}desc\u{0}"));
                expected.published_at_absent = true;
                (to_bytes(&object), Expected::Stored(expected))
            }
            _ => {
                // A NUL in a key names an unknown field: ignored.
                object.insert("main\u{0}text".into(), json!("ignored"));
                (to_bytes(&object), Expected::Stored(expected))
            }
        }
    }

    fn control_chars(&mut self) -> Generated {
        let mut object = self.base();
        let mut expected = self.stored();
        const CONTROLS: &[char] = &[
            '\u{1}', '\u{7}', '\u{8}', '\u{b}', '\u{c}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9c}',
            '\u{200b}', '\u{200e}', '\u{202e}', '\u{2066}', '\u{feff}', '\u{ad}',
        ];
        match self.variant(4) {
            0 => {
                // Escaped control characters between the words of the body.
                let body = self.body();
                let mut noisy = String::new();
                for word in body.split(' ') {
                    noisy.push_str(word);
                    noisy.push(' ');
                    noisy.push(self.pick(CONTROLS));
                    noisy.push(' ');
                }
                object.insert("maintext".into(), json!(noisy));
                (to_bytes(&object), Expected::Stored(expected))
            }
            1 => {
                object.insert(
                    "title".into(),
                    json!(format!("Title\u{7} one\r\n\ttwo\u{1b} {}", self.n)),
                );
                expected.title = Some(format!("Title one two {}", self.n));
                (to_bytes(&object), Expected::Stored(expected))
            }
            2 => {
                // A raw (unescaped) control character inside a JSON string is not JSON.
                let base = to_bytes(&object);
                let at = base
                    .windows(11)
                    .position(|w| w == b"hostilemark")
                    .unwrap_or(1);
                let mut payload = base;
                payload.insert(at, self.pick(&[0x01u8, 0x07, 0x1b, b'\t', b'\r']));
                rejected(payload, RejectClass::InvalidJson)
            }
            _ => {
                // Bidi overrides and zero-width characters around a terminal escape.
                let body = self.body();
                object.insert(
                    "maintext".into(),
                    json!(format!(
                        "\u{202e}{body}\u{202c} \u{1b}[31mred\u{1b}[0m \u{2028}\u{2029}next"
                    )),
                );
                expected.text_contains.push("[31mred".to_owned());
                (to_bytes(&object), Expected::Stored(expected))
            }
        }
    }

    fn deep_nesting(&mut self) -> Generated {
        let depth = self.rng.random_range(130..=20_000usize);
        match self.variant(6) {
            0 => rejected(
                format!("{}1{}", "[".repeat(depth), "]".repeat(depth)),
                RejectClass::InvalidJson,
            ),
            1 => rejected(
                format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)),
                RejectClass::InvalidJson,
            ),
            2 => rejected("[".repeat(depth), RejectClass::InvalidJson),
            3 => {
                // Deep, but within the limit, in a field nobody reads: stored.
                let mut object = self.base();
                let nest = self.rng.random_range(10..=100usize);
                let extra: Value = serde_json::from_str(&format!(
                    "{}\"deep\"{}",
                    "[".repeat(nest),
                    "]".repeat(nest)
                ))
                .unwrap_or(Value::Null);
                object.insert("extra".into(), extra);
                (to_bytes(&object), Expected::Stored(self.stored()))
            }
            4 => {
                let mut object = self.base();
                let title: Value =
                    serde_json::from_str(&format!("{}\"t\"{}", "[".repeat(50), "]".repeat(50)))
                        .unwrap_or(Value::Null);
                object.insert("title".into(), title);
                rejected(to_bytes(&object), RejectClass::InvalidField)
            }
            _ => {
                // Deep nesting inside an otherwise valid article.
                let object = self.base();
                let text = String::from_utf8_lossy(&to_bytes(&object)).into_owned();
                rejected(
                    format!(
                        "{}, \"extra\": {}0{}}}",
                        &text[..text.len() - 1],
                        "[".repeat(depth),
                        "]".repeat(depth)
                    ),
                    RejectClass::InvalidJson,
                )
            }
        }
    }

    fn huge_number(&mut self) -> Generated {
        let object = self.base();
        let text = String::from_utf8_lossy(&to_bytes(&object)).into_owned();
        let open = &text[..text.len() - 1];
        let mut expected = self.stored();
        match self.variant(7) {
            // Beyond f64: serde_json refuses it.
            0 => rejected(format!("{open}, \"id\": 1e400}}"), RejectClass::InvalidJson),
            1 => rejected(
                format!("{open}, \"date_publish\": -{}}}", "9".repeat(400)),
                RejectClass::InvalidJson,
            ),
            2 => {
                // 300 digits fit an f64: a valid (if odd) numeric id.
                expected.external_id = None;
                (
                    format!("{open}, \"id\": {}{}}}", self.n + 1, "7".repeat(300)).into_bytes(),
                    Expected::Stored(expected),
                )
            }
            3 => {
                expected.published_at_absent = true;
                let value = self.pick(&[
                    "1e308",
                    "-1e308",
                    "18446744073709551615",
                    "-9223372036854775808",
                    "1.7976931348623157e308",
                    "253402300800000",
                ]);
                (
                    format!("{open}, \"date_publish\": {value}}}").into_bytes(),
                    Expected::Stored(expected),
                )
            }
            4 => rejected(
                format!("{open}, \"maintext\": {}}}", "9".repeat(300)),
                RejectClass::InvalidField,
            ),
            5 => {
                expected.published_at_absent = true;
                (
                    format!("{open}, \"date_publish\": \"{}\"}}", "9".repeat(40)).into_bytes(),
                    Expected::Stored(expected),
                )
            }
            _ => {
                // Numbers in fields nobody reads.
                (
                    format!(
                        "{open}, \"views\": 1e308, \"score\": -{}}}",
                        "1".repeat(200)
                    )
                    .into_bytes(),
                    Expected::Stored(expected),
                )
            }
        }
    }

    fn duplicate_keys(&mut self) -> Generated {
        let id = self.id();
        let body = self.body();
        let url = format!("https://hostile.example/{}/dup{}", self.seed, self.n);
        let mut expected = self.stored();
        // serde_json keeps the last of repeated keys.
        match self.variant(6) {
            0 => (
                format!("{{\"id\": \"first-{id}\", \"id\": \"{id}\", \"url\": \"{url}\", \"maintext\": \"{body}\"}}")
                    .into_bytes(),
                Expected::Stored(expected),
            ),
            1 => {
                expected.canonical_url = UrlExpectation::Exact(url.clone());
                (
                    format!("{{\"id\": \"{id}\", \"url\": 5, \"url\": \"{url}\", \"maintext\": \"{body}\"}}")
                        .into_bytes(),
                    Expected::Stored(expected),
                )
            }
            2 => rejected(
                format!("{{\"id\": \"{id}\", \"maintext\": \"{body}\", \"maintext\": 7}}"),
                RejectClass::InvalidField,
            ),
            3 => rejected(
                format!("{{\"id\": \"{id}\", \"maintext\": \"{body}\", \"maintext\": null}}"),
                RejectClass::NoText,
            ),
            4 => (
                format!("{{\"id\": \"{id}\", \"maintext\": \"\", \"maintext\": \"{body}\"}}")
                    .into_bytes(),
                Expected::Stored(expected),
            ),
            _ => rejected(
                format!("{{\"id\": \"{id}\", \"id\": null, \"url\": \"{url}\", \"url\": null, \"maintext\": \"{body}\"}}"),
                RejectClass::NoIdentity,
            ),
        }
    }

    fn html_script(&mut self) -> Generated {
        let mut object = self.base();
        let body = self.body();
        let mut expected = self.stored();
        expected.text_excludes = [
            "<script",
            "alert(",
            "onerror",
            "javascript:",
            "document.cookie",
        ]
        .map(str::to_owned)
        .to_vec();
        let html = match self.variant(9) {
            0 => format!("<p>{body}</p><script>alert('x')</script><p>after the script</p>"),
            1 => format!(
                "<div><SCRIPT type=\"text/javascript\">var s = \"</p><p>\"; document.cookie</SCRIPT>{body}</div>"
            ),
            2 => format!("<p><img src=x onerror=\"alert(1)\">{body}</p>"),
            3 => format!("<p>{body} <a href=\"javascript:alert(1)\">click here</a></p>"),
            4 => format!(
                "<p>{body}</p><iframe src=\"https://evil.example/\">alert(2)</iframe><svg onload=alert(3)><script>alert(4)</script></svg>"
            ),
            5 => format!(
                "<style>body {{ background: url(javascript:alert(5)) }}</style><p>{body}</p>"
            ),
            6 => format!("<p>{body}</p><script>if (a < b) {{ alert(6) }}"),
            7 => {
                // Markup in the title and the description too.
                object.insert(
                    "title".into(),
                    json!(format!(
                        "<script>alert(7)</script>Headline <b>{}</b>",
                        self.n
                    )),
                );
                object.insert(
                    "description".into(),
                    json!("<img src=x onerror=alert(8)>A description"),
                );
                expected.title = Some(format!("Headline {}", self.n));
                format!("<p>{body}</p>")
            }
            _ => {
                // Nothing but scripts: no text left.
                object.remove("maintext");
                object.insert(
                    "html".into(),
                    json!("<script>alert(9)</script><noscript>enable js</noscript>"),
                );
                return rejected(to_bytes(&object), RejectClass::NoText);
            }
        };
        object.remove("maintext");
        object.insert("html".into(), json!(html));
        (to_bytes(&object), Expected::Stored(expected))
    }

    fn sql_injection(&mut self) -> Generated {
        let mut object = self.base();
        let injection = self.pick(SQL_INJECTIONS);
        let body = self.body();
        let mut expected = self.stored();
        let id = format!("{}{injection}", self.id());
        object.insert("id".into(), json!(id));
        object.insert("title".into(), json!(format!("{injection} {}", self.n)));
        object.insert("maintext".into(), json!(format!("{body} {injection}")));
        object.insert("authors".into(), json!([injection]));
        object.insert(
            "url".into(),
            json!(format!(
                "https://hostile.example/{}/sql{}?q={injection}",
                self.seed, self.n
            )),
        );
        expected.external_id = Some(id);
        expected.title = Some(format!("{injection} {}", self.n));
        expected.text_contains.push(injection.to_owned());
        (to_bytes(&object), Expected::Stored(expected))
    }

    fn absurd_date(&mut self) -> Generated {
        let mut object = self.base();
        let mut expected = self.stored();
        expected.published_at_absent = true;
        let value = match self.variant(3) {
            0 => json!(self.pick(&[
                "99999-01-01",
                "99999-12-31T23:59:59Z",
                "+99999-01-01T00:00:00Z",
                "-0001-01-01",
                "-99999-01-01T00:00:00Z",
                "1900-02-30",
                "2023-02-29",
                "2024-13-01",
                "2024-00-10",
                "2024-06-31 25:61:61",
                "0000-00-00 00:00:00",
                "Mon, 31 Feb 2024 10:00:00 +0000",
                "1899-12-31",
                "2201-01-01",
                "yesterday",
                "NaN",
                "Infinity",
                "",
                "-62135596800",
                "1e400",
            ])),
            1 => json!(self.pick(&[1e300, -1e300, 253_402_300_800_000.0, -62_135_596_800.0])),
            _ => {
                // The generic field name, and a modification date as absurd.
                object.remove("date_publish");
                object.insert("date_modify".into(), json!("99999-01-01"));
                json!("1900-02-30T00:00:00Z")
            }
        };
        let field = if object.contains_key("date_publish") {
            "date_publish"
        } else {
            "published_at"
        };
        object.insert(field.into(), value);
        (to_bytes(&object), Expected::Stored(expected))
    }

    fn absurd_url(&mut self) -> Generated {
        let mut object = self.base();
        let mut expected = self.stored();
        let (seed, n) = (self.seed, self.n);
        let (url, canonical) = match self.variant(10) {
            0 => {
                let url = self.pick(&[
                    "javascript:alert(1)",
                    "data:text/html,<script>alert(1)</script>",
                    "file:///etc/passwd",
                    "ftp://hostile.example/a",
                    "mailto:someone@hostile.example",
                    "vbscript:msgbox(1)",
                ]);
                (url.to_owned(), UrlExpectation::Absent)
            }
            1 => {
                let url = self.pick(&[
                    "https://",
                    "http:///path",
                    "https:///",
                    "//",
                    "https://:80/",
                    "www.hostile.example/no-scheme",
                    "https://exa mple.com/",
                    "https://hostile.example:99999/",
                    "http://localhost/a",
                ]);
                (url.to_owned(), UrlExpectation::Absent)
            }
            2 => {
                // Without an id, an unusable URL leaves nothing to identify the article.
                object.remove("id");
                object.insert("url".into(), json!("javascript:alert(document.cookie)"));
                return rejected(to_bytes(&object), RejectClass::NoIdentity);
            }
            3 => {
                // 100 KB (or just over the limit): not an article address.
                let len = self.pick(&[100 * 1024, MAX_URL_BYTES + 1, 10 * 1024]);
                let mut url = format!("https://hostile.example/{seed}/{n}/");
                while url.len() < len {
                    url.push('a');
                }
                object.insert("url".into(), json!(url));
                return rejected(to_bytes(&object), RejectClass::InvalidField);
            }
            4 => {
                // Short enough, but percent-encoding makes it too long to index.
                let url = format!("https://hostile.example/{seed}/{n}/{}", " x".repeat(700));
                (url, UrlExpectation::Absent)
            }
            5 => (
                format!("https://bücher.example/{seed}/{n}"),
                UrlExpectation::Exact(format!("https://xn--bcher-kva.example/{seed}/{n}")),
            ),
            6 => (
                format!("https://例え.テスト/記事/{seed}/{n}"),
                UrlExpectation::Prefix("https://xn--".to_owned()),
            ),
            7 => (
                // A homograph: Cyrillic "а".
                format!("https://www.\u{430}pple.com/{seed}/{n}"),
                UrlExpectation::Prefix("https://xn--".to_owned()),
            ),
            8 => (
                format!("HTTPS://User:Pass@Hostile.Example.:443/{seed}/{n}/amp/?utm_source=x#frag"),
                UrlExpectation::Exact(format!("https://hostile.example/{seed}/{n}")),
            ),
            _ => {
                let url = self.pick(&[
                    "http://[::1]/a",
                    "https://xn--/a",
                    "https://hostile.example/%",
                    "https://hostile.example/%zz/%00",
                    "https://a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.hostile.example/",
                    "https://\u{1F600}.example/",
                    "http://0x7f.0.0.1/a",
                    "https://hostile.example/../../../../etc/passwd",
                ]);
                (url.to_owned(), UrlExpectation::Unchecked)
            }
        };
        object.insert("url".into(), json!(url));
        expected.canonical_url = canonical;
        (to_bytes(&object), Expected::Stored(expected))
    }
}

#[cfg(test)]
mod tests;
