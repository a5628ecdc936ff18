//! Raw scraper JSON to a validated, normalised [`Article`], or a classified [`Rejection`]
//! saying why the message cannot become one (the service sends those to the DLQ).

mod canonical_url;
mod html;
pub(crate) mod normalize;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

pub use canonical_url::canonicalize_url;
use normalize::{Lines, normalize_text};

/// Size limits applied while parsing. Messages over `max_message_bytes` are rejected
/// before any parsing; text is cut (not rejected) at `max_text_chars`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted raw message, in bytes (checked before parsing).
    pub max_message_bytes: usize,
    /// Longer normalised text is truncated at a character boundary.
    pub max_text_chars: usize,
    /// Shorter normalised text (after falling back to the description) is rejected as
    /// [`RejectClass::NoText`].
    pub min_text_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 5 * 1024 * 1024,
            max_text_chars: 200_000,
            min_text_chars: 40,
        }
    }
}

/// Longest title / author name kept, in characters; longer values are cut.
const MAX_TITLE_CHARS: usize = 2_000;
const MAX_AUTHOR_CHARS: usize = 200;
/// Longest description kept, in characters (also the longest text a description can
/// stand in for). Together with the other caps this bounds an [`Article`] serialised as
/// JSON (the message forwarded downstream) to well under the 1,000,000 bytes a Kafka
/// producer and broker accept by default, whatever the input.
const MAX_DESCRIPTION_CHARS: usize = 10_000;
/// Authors beyond this many (distinct) are ignored.
const MAX_AUTHORS: usize = 20;
/// Longest `url` accepted, in bytes, before and after canonicalisation. Longer URLs are not
/// article addresses (browsers and servers stop around 2 KB) and would not fit the unique
/// index on `canonical_url` (Postgres caps a B-tree entry at about 2.7 KB).
pub const MAX_URL_BYTES: usize = 2_048;
/// Longest `id` accepted, in bytes.
pub const MAX_ID_BYTES: usize = 512;
/// Longest language tag kept (BCP 47 tags fit in 35 characters); longer values are dropped.
const MAX_LANGUAGE_CHARS: usize = 35;

/// A raw article that passed validation, in normalised form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Article {
    /// The scraper's `id` (a JSON string or number), if it sent one.
    pub external_id: Option<String>,
    /// The URL as given (trimmed).
    pub url: Option<String>,
    /// [`canonicalize_url`] of `url`; `None` if there is no URL or it is not valid.
    pub canonical_url: Option<String>,
    /// Normalised to one line.
    pub title: Option<String>,
    /// Normalised to one line.
    pub description: Option<String>,
    /// Normalised plain text (HTML reduced), paragraphs separated by `\n`; never empty,
    /// no control characters other than `\n`.
    pub text: String,
    /// The outlet: `source_domain` / `source` if given, else the canonical URL's host.
    pub source: Option<String>,
    /// As given, lowercased.
    pub language: Option<String>,
    pub authors: Vec<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub modified_at: Option<DateTime<Utc>>,
}

impl Article {
    /// A human-readable identifier: the external id, else the URL, else [`Self::article_key`].
    pub fn display_id(&self) -> String {
        self.external_id
            .clone()
            .or_else(|| self.url.clone())
            .unwrap_or_else(|| self.article_key())
    }

    /// xxh3-64 of the text's word stream (lowercase words, punctuation and whitespace
    /// dropped), as `i64` for a Postgres `bigint`. Equal for texts that differ only in
    /// case, whitespace, quote style or punctuation: the exact-text duplicate key.
    pub fn content_hash(&self) -> i64 {
        normalize::content_hash(&self.text) as i64
    }

    /// Deterministic 32-hex-character id: xxh3-128 over the canonical URL (or, without
    /// one, the external id) and the content hash. Stable across runs and platforms
    /// (explicit little-endian bytes), so a redelivered message gets the same key.
    pub fn article_key(&self) -> String {
        self.article_key_for(self.content_hash())
    }

    /// [`Article::article_key`] given the article's content hash, for a caller that already
    /// has it (from [`crate::dedup::fingerprint`]) and so need not tokenise the text again.
    pub fn article_key_for(&self, content_hash: i64) -> String {
        let mut input = Vec::with_capacity(64);
        input.extend_from_slice(b"newsflow-article-v1\0");
        match (&self.canonical_url, &self.external_id) {
            (Some(url), _) => {
                input.push(b'u');
                input.extend_from_slice(url.as_bytes());
            }
            (None, Some(id)) => {
                input.push(b'i');
                input.extend_from_slice(id.as_bytes());
            }
            (None, None) => input.push(b'-'),
        }
        input.push(0);
        input.extend_from_slice(&content_hash.to_le_bytes());
        format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&input))
    }
}

/// Why a message could not become an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectClass {
    /// Not parseable as JSON (including nesting deeper than 128 levels).
    InvalidJson,
    /// Valid JSON, but not an object.
    NotAnObject,
    /// Not UTF-8 (or JSON escapes encoding a lone surrogate).
    BadEncoding,
    /// Over `Limits::max_message_bytes`.
    TooLarge,
    /// No body text or description of at least `Limits::min_text_chars`.
    NoText,
    /// Neither a usable `url` nor an `id`.
    NoIdentity,
    /// A known field has the wrong type, or an `id` / `url` longer than
    /// [`MAX_ID_BYTES`] / [`MAX_URL_BYTES`]; the reason names the field.
    InvalidField,
}

impl RejectClass {
    /// Stable snake_case name, for metrics labels, DLQ headers and the checker output.
    pub fn as_str(&self) -> &'static str {
        match self {
            RejectClass::InvalidJson => "invalid_json",
            RejectClass::NotAnObject => "not_an_object",
            RejectClass::BadEncoding => "bad_encoding",
            RejectClass::TooLarge => "too_large",
            RejectClass::NoText => "no_text",
            RejectClass::NoIdentity => "no_identity",
            RejectClass::InvalidField => "invalid_field",
        }
    }
}

impl std::fmt::Display for RejectClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message that cannot become an article: permanent, never worth retrying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{class}: {reason}")]
pub struct Rejection {
    pub class: RejectClass,
    pub reason: String,
}

impl Rejection {
    fn new(class: RejectClass, reason: impl Into<String>) -> Self {
        Rejection {
            class,
            reason: reason.into(),
        }
    }
}

/// Fields that may hold the body, in order of preference.
const BODY_FIELDS: &[&str] = &["maintext", "body", "text", "content", "html"];
const PUBLISHED_FIELDS: &[&str] = &["date_publish", "published_at"];
const MODIFIED_FIELDS: &[&str] = &["date_modify", "modified_at"];

/// Parses one raw message (news-please or generic field names) into an [`Article`].
///
/// Never panics; every failure is a [`Rejection`]. Size is checked before anything
/// else, then encoding, JSON syntax, shape, field types, identity and finally text.
/// Unknown fields are ignored; missing and `null` fields are the same.
pub fn parse_article(bytes: &[u8], limits: &Limits) -> Result<Article, Rejection> {
    let object = parse_object(bytes, limits)?;
    let fields = Fields(&object);

    // Cheap field checks first, so that a wrong type is reported as such whatever
    // else is wrong with the message; the text, the expensive part, last.
    let external_id = fields.id()?;
    let url = fields.url()?;
    let url = url.as_deref();
    let title = fields.inline_text("title", MAX_TITLE_CHARS)?;
    let description = fields.inline_text(
        "description",
        MAX_DESCRIPTION_CHARS.min(limits.max_text_chars),
    )?;
    let language = fields
        .string("language")?
        .map(|l| normalize_text(l, Lines::Join, MAX_LANGUAGE_CHARS + 1))
        .filter(|l| !l.is_empty() && l.chars().count() <= MAX_LANGUAGE_CHARS)
        .map(|l| l.to_lowercase().replace('_', "-"));
    let authors = fields.authors()?;
    let published_at = fields.date(PUBLISHED_FIELDS)?;
    let modified_at = fields.date(MODIFIED_FIELDS)?;
    for field in BODY_FIELDS {
        fields.string(field)?;
    }

    let canonical_url = url.and_then(canonicalize_url);
    if external_id.is_none() && canonical_url.is_none() {
        let reason = match url {
            Some(u) => format!(
                "url {:?} is not a valid http(s) URL and there is no id",
                truncate_for_reason(u)
            ),
            None => "neither url nor id is present".to_owned(),
        };
        return Err(Rejection::new(RejectClass::NoIdentity, reason));
    }
    let source = fields.source(canonical_url.as_deref())?;
    let text = fields.body_text(description.as_deref(), limits)?;

    Ok(Article {
        external_id,
        url: url.map(str::to_owned),
        canonical_url,
        title,
        description,
        text,
        source,
        language,
        authors,
        published_at,
        modified_at,
    })
}

/// The text normaliser as applied to bodies (paragraph breaks kept as `\n`), on its own:
/// for tools and property tests. See [`Article::text`].
pub fn normalize_body_text(raw: &str, max_chars: usize) -> String {
    normalize_text(raw, Lines::Keep, max_chars)
}

/// The text normaliser as applied to titles and names (one line).
pub fn normalize_inline_text(raw: &str, max_chars: usize) -> String {
    normalize_text(raw, Lines::Join, max_chars)
}

/// HTML reduced to text (scripts, styles and page furniture dropped, entities decoded),
/// before normalisation: what the `html` field goes through first.
pub fn reduce_html(html: &str) -> String {
    html::html_to_text(html)
}

/// Whatever identifies a message that was rejected: its `id`, else its `url`, if the
/// message is at least a JSON object within the size limit. For DLQ reports.
pub(crate) fn salvage_identity(bytes: &[u8], limits: &Limits) -> Option<String> {
    let object = parse_object(bytes, limits).ok()?;
    let fields = Fields(&object);
    if let Ok(Some(id)) = fields.id() {
        return Some(id);
    }
    match object.get("url") {
        Some(Value::String(u)) if !u.trim().is_empty() => Some(u.trim().to_owned()),
        _ => None,
    }
}

fn parse_object(bytes: &[u8], limits: &Limits) -> Result<Map<String, Value>, Rejection> {
    if bytes.len() > limits.max_message_bytes {
        return Err(Rejection::new(
            RejectClass::TooLarge,
            format!(
                "message is {} bytes, limit is {}",
                bytes.len(),
                limits.max_message_bytes
            ),
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Rejection::new(
            RejectClass::BadEncoding,
            format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        if message.contains("recursion limit") {
            Rejection::new(
                RejectClass::InvalidJson,
                format!("nested more than 128 levels deep ({message})"),
            )
        } else if message.contains("surrogate") || message.contains("end of hex escape") {
            // serde_json's words for a \uD800-style escape without its pair: not text.
            Rejection::new(RejectClass::BadEncoding, message)
        } else {
            Rejection::new(RejectClass::InvalidJson, message)
        }
    })?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(Rejection::new(
            RejectClass::NotAnObject,
            format!(
                "top-level JSON value is {}, expected an object",
                type_name(&other)
            ),
        )),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn truncate_for_reason(s: &str) -> &str {
    match s.char_indices().nth(200) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

fn too_long(field: &str, bytes: usize, limit: usize) -> Rejection {
    Rejection::new(
        RejectClass::InvalidField,
        format!("field `{field}` is {bytes} bytes long, limit is {limit}"),
    )
}

/// `s` without control characters, borrowed when it has none (the common case).
fn without_controls(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(char::is_control) {
        std::borrow::Cow::Owned(s.chars().filter(|c| !c.is_control()).collect())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

fn invalid_field(field: &str, expected: &str, got: &Value) -> Rejection {
    Rejection::new(
        RejectClass::InvalidField,
        format!("field `{field}` must be {expected}, got {}", type_name(got)),
    )
}

/// Reduces a body-like field to normalised text, reducing HTML first if it is (or
/// looks like) HTML.
fn reduce_text(raw: &str, is_html: bool, lines: Lines, max_chars: usize) -> String {
    if is_html || html::looks_like_html(raw) {
        normalize_text(&html::html_to_text(raw), lines, max_chars)
    } else if lines == Lines::Join && raw.contains('&') {
        // Titles and descriptions often arrive with escaped entities even when not HTML.
        normalize_text(&html_escape::decode_html_entities(raw), lines, max_chars)
    } else {
        normalize_text(raw, lines, max_chars)
    }
}

/// Typed, liberal access to the message's fields. Missing and `null` are the same.
struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    fn get(&self, field: &str) -> Option<&'a Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    fn string(&self, field: &str) -> Result<Option<&'a str>, Rejection> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(invalid_field(field, "a string", other)),
        }
    }

    /// The `id`, trimmed, without control characters (Postgres text cannot hold NUL).
    fn id(&self) -> Result<Option<String>, Rejection> {
        match self.get("id") {
            None => Ok(None),
            Some(Value::String(s)) => {
                let id = without_controls(s.trim());
                let id = id.trim();
                if id.len() > MAX_ID_BYTES {
                    return Err(too_long("id", id.len(), MAX_ID_BYTES));
                }
                Ok(Some(id).filter(|s| !s.is_empty()).map(str::to_owned))
            }
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(invalid_field("id", "a string or number", other)),
        }
    }

    /// The `url`, trimmed, without control characters (as a browser's URL parser drops
    /// tabs and newlines, and Postgres text cannot hold NUL).
    fn url(&self) -> Result<Option<String>, Rejection> {
        let Some(raw) = self.string("url")? else {
            return Ok(None);
        };
        let url = without_controls(raw.trim());
        let url = url.trim();
        if url.len() > MAX_URL_BYTES {
            return Err(too_long("url", url.len(), MAX_URL_BYTES));
        }
        Ok(Some(url).filter(|u| !u.is_empty()).map(str::to_owned))
    }

    fn inline_text(&self, field: &str, max_chars: usize) -> Result<Option<String>, Rejection> {
        Ok(self
            .string(field)?
            .map(|s| reduce_text(s, false, Lines::Join, max_chars))
            .filter(|s| !s.is_empty()))
    }

    /// The first body field that reduces to non-empty text; the description instead if
    /// that is too short and the description is longer.
    fn body_text(&self, description: Option<&str>, limits: &Limits) -> Result<String, Rejection> {
        let mut body = String::new();
        for &field in BODY_FIELDS {
            let Some(raw) = self.string(field)? else {
                continue;
            };
            body = reduce_text(raw, field == "html", Lines::Keep, limits.max_text_chars);
            if !body.is_empty() {
                break;
            }
        }
        let mut chars = body.chars().count();
        if let Some(d) = description.filter(|_| chars < limits.min_text_chars) {
            let d_chars = d.chars().count();
            if d_chars > chars {
                body = d.to_owned();
                chars = d_chars;
            }
        }
        if body.is_empty() {
            return Err(Rejection::new(
                RejectClass::NoText,
                "no text in maintext/body/text/content/html or description",
            ));
        }
        if chars < limits.min_text_chars {
            return Err(Rejection::new(
                RejectClass::NoText,
                format!(
                    "text has {chars} characters, minimum is {}",
                    limits.min_text_chars
                ),
            ));
        }
        Ok(body)
    }

    fn source(&self, canonical_url: Option<&str>) -> Result<Option<String>, Rejection> {
        let given = match (self.string("source_domain")?, self.get("source")) {
            (Some(domain), _) if !domain.trim().is_empty() => Some(domain),
            (_, None) => None,
            (_, Some(Value::String(s))) => Some(s.as_str()),
            // NewsAPI shape: {"id": "bbc-news", "name": "BBC News"}.
            (_, Some(Value::Object(o))) => ["name", "id"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str)),
            (_, Some(other)) => return Err(invalid_field("source", "a string", other)),
        };
        if let Some(s) = given {
            let s = normalize_text(s, Lines::Join, MAX_AUTHOR_CHARS);
            if !s.is_empty() {
                return Ok(Some(domain_like(&s).unwrap_or(s)));
            }
        }
        // Canonical host: already lowercase, without www./m./amp.
        Ok(canonical_url
            .and_then(|u| u.strip_prefix("https://"))
            .and_then(|rest| rest.split(['/', ':']).next())
            .filter(|h| !h.is_empty())
            .map(str::to_owned))
    }

    fn authors(&self) -> Result<Vec<String>, Rejection> {
        let mut authors: Vec<String> = Vec::new();
        // Capped: the distinct-name check is quadratic, and a hostile message may list
        // hundreds of thousands of names (every item is still type-checked).
        let mut push = |raw: &str| {
            if authors.len() >= MAX_AUTHORS {
                return;
            }
            let name = normalize_text(raw, Lines::Join, MAX_AUTHOR_CHARS);
            if !name.is_empty() && !authors.contains(&name) {
                authors.push(name);
            }
        };
        match self.get("authors") {
            None => {}
            Some(Value::String(s)) => push(s),
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::Null => {}
                        Value::String(s) => push(s),
                        other => {
                            return Err(invalid_field(&format!("authors[{i}]"), "a string", other));
                        }
                    }
                }
            }
            Some(other) => return Err(invalid_field("authors", "an array of strings", other)),
        }
        Ok(authors)
    }

    /// The first present date field. Unparseable or absurd dates become `None`.
    fn date(&self, fields: &[&str]) -> Result<Option<DateTime<Utc>>, Rejection> {
        for &field in fields {
            match self.get(field) {
                None => continue,
                Some(Value::String(s)) => return Ok(parse_date(s)),
                Some(Value::Number(n)) => return Ok(n.as_f64().and_then(from_epoch)),
                Some(other) => {
                    return Err(invalid_field(field, "a date string or epoch number", other));
                }
            }
        }
        Ok(None)
    }
}

/// `Example.COM` / `www.example.com` -> `example.com`; `None` for things that are not
/// a bare domain (e.g. an outlet name like "Reuters").
fn domain_like(s: &str) -> Option<String> {
    let s = s.trim();
    let looks_like_domain = s.contains('.')
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-'));
    if !looks_like_domain {
        return None;
    }
    let lower = s.to_lowercase();
    Some(
        lower
            .strip_prefix("www.")
            .unwrap_or(&lower)
            .trim_end_matches('.')
            .to_owned(),
    )
}

/// Dates outside this range of years are treated as absent, not as errors.
const MIN_YEAR: i32 = 1900;
const MAX_YEAR: i32 = 2200;

fn plausible(dt: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (MIN_YEAR..=MAX_YEAR).contains(&dt.year()).then_some(dt)
}

/// Epoch seconds, or milliseconds when the magnitude says so (>= 1e11 seconds would be
/// after the year 5000, >= 1e11 milliseconds is after 1973).
fn from_epoch(v: f64) -> Option<DateTime<Utc>> {
    if !v.is_finite() {
        return None;
    }
    let millis = if v.abs() >= 1e11 { v } else { v * 1000.0 };
    // `as` saturates; out-of-range values are rejected by chrono and the year check.
    DateTime::from_timestamp_millis(millis as i64).and_then(plausible)
}

/// RFC 3339, news-please's "YYYY-MM-DD HH:MM:SS", "YYYY-MM-DD", RFC 2822, and epoch
/// numbers written as strings. Naive times are taken as UTC.
fn parse_date(raw: &str) -> Option<DateTime<Utc>> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<f64>().ok().and_then(from_epoch);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return plausible(dt.to_utc());
    }
    // Each failed chrono attempt costs a parse: only try offset formats when there is
    // something after "YYYY-MM-DD HH:MM:SS" that may be an offset.
    let may_have_offset = s
        .get(19..)
        .is_some_and(|tail| tail.contains(['+', '-', 'Z', 'z']));
    if may_have_offset {
        // RFC 3339 with a space instead of 'T', or an offset without a colon.
        for fmt in [
            "%Y-%m-%d %H:%M:%S%.f%:z",
            "%Y-%m-%d %H:%M:%S%.f%z",
            "%Y-%m-%dT%H:%M:%S%.f%z",
        ] {
            if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
                return plausible(dt.to_utc());
            }
        }
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return plausible(dt.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .and_then(|dt| plausible(dt.and_utc()));
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return plausible(dt.to_utc());
    }
    None
}

#[cfg(test)]
mod tests;
