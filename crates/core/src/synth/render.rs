//! Turning synthetic articles into the JSON scrapers send (news-please or generic
//! shape, plain or HTML body), building their URLs, and wrapping plain-text files.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

use super::compose::{Doc, Writer, capitalize_at};
use super::vocab::VOCAB;

/// Which scraper the article pretends to come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    /// news-please: `maintext`, `date_publish` as "YYYY-MM-DD HH:MM:SS", `source_domain`.
    NewsPlease,
    /// Generic: `body` as plain text, `published_at` RFC 3339, `source`.
    Generic,
    /// Generic with the whole page as HTML in `body`: nav, scripts, `<p>` paragraphs.
    GenericHtml,
}

/// Everything but the body that goes into an article's JSON.
pub(super) struct Meta<'a> {
    pub id: &'a str,
    pub url: &'a str,
    pub title: &'a str,
    pub outlet: u16,
    pub published: DateTime<Utc>,
    pub authors: &'a [String],
}

fn s(v: &str) -> Value {
    Value::String(v.to_owned())
}

pub(super) fn to_json(format: Format, meta: &Meta<'_>, doc: &Doc, rng: &mut ChaCha8Rng) -> Value {
    let outlet = &VOCAB.outlets[meta.outlet as usize];
    let mut m = Map::new();
    m.insert("id".into(), s(meta.id));
    m.insert("url".into(), s(meta.url));
    m.insert("title".into(), s(meta.title));
    match format {
        Format::NewsPlease => {
            let mut text = String::with_capacity(doc_len_hint(doc));
            doc.write_plain(&mut text);
            let description = if doc.sentence_count() > 0 {
                doc.sentence(0)
            } else {
                ""
            };
            m.insert("description".into(), s(description));
            m.insert("maintext".into(), Value::String(text));
            m.insert(
                "date_publish".into(),
                Value::String(meta.published.format("%Y-%m-%d %H:%M:%S").to_string()),
            );
            m.insert("source_domain".into(), Value::String(host(outlet.domain)));
            m.insert(
                "authors".into(),
                Value::Array(meta.authors.iter().map(|a| s(a)).collect()),
            );
        }
        Format::Generic | Format::GenericHtml => {
            let mut body = String::with_capacity(doc_len_hint(doc) + 1024);
            if format == Format::GenericHtml {
                html_page(&mut body, meta, doc, rng);
            } else {
                doc.write_plain(&mut body);
            }
            m.insert("body".into(), Value::String(body));
            m.insert(
                "published_at".into(),
                Value::String(meta.published.to_rfc3339_opts(SecondsFormat::Secs, true)),
            );
            m.insert("source".into(), s(outlet.name));
        }
    }
    m.insert("language".into(), s("en"));
    Value::Object(m)
}

fn doc_len_hint(doc: &Doc) -> usize {
    doc.sentence_count() * 140 + 256
}

/// A page as a scraper that does not extract would store it: the article between
/// navigation, scripts and footer clutter that normalisation has to strip.
fn html_page(out: &mut String, meta: &Meta<'_>, doc: &Doc, rng: &mut ChaCha8Rng) {
    let v = &*VOCAB;
    out.push_str("<!DOCTYPE html><html><head><title>");
    html_escape::encode_text_to_string(meta.title, out);
    out.push_str("</title>");
    out.push_str(v.scripts[rng.random_range(0..v.scripts.len())]);
    out.push_str("</head><body>");
    for seg in &v.nav[rng.random_range(0..v.nav.len())].segs {
        match seg {
            super::vocab::Seg::Lit(l) => out.push_str(l),
            super::vocab::Seg::Slot(_) => {
                html_escape::encode_text_to_string(v.outlets[meta.outlet as usize].name, out);
            }
        }
    }
    out.push_str("<article><h1>");
    html_escape::encode_text_to_string(meta.title, out);
    out.push_str("</h1>\n");
    doc.write_html(out);
    out.push_str("</article>");
    out.push_str(v.scripts[rng.random_range(0..v.scripts.len())]);
    out.push_str(v.footers[rng.random_range(0..v.footers.len())]);
    out.push_str("</body></html>");
}

/// `www.` plus the domain, unless it already names a host (`news.yahoo.co.jp`).
fn host(domain: &str) -> String {
    if domain.matches('.').count() >= 2
        && !domain.ends_with(".co.uk")
        && !domain.ends_with(".co.kr")
    {
        domain.to_owned()
    } else {
        format!("www.{domain}")
    }
}

/// A unique, realistic article URL: outlet host, section, date, title slug and a
/// token derived from (seed, article number).
pub(super) fn article_url(
    outlet: u16,
    published: DateTime<Utc>,
    title: &str,
    seed: u64,
    n: usize,
) -> String {
    let o = &VOCAB.outlets[outlet as usize];
    let mut url = String::with_capacity(128);
    let _ = write!(
        url,
        "https://{}/{}/{}/",
        host(o.domain),
        o.section,
        published.format("%Y/%m/%d")
    );
    let mut words = 0;
    let mut in_word = false;
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            if !in_word && words > 0 {
                url.push('-');
            }
            if !in_word {
                words += 1;
                if words > 8 {
                    break;
                }
            }
            in_word = true;
            url.push(c.to_ascii_lowercase());
        } else {
            in_word = false;
        }
    }
    let token = xxhash_rust::xxh3::xxh3_64_with_seed(&(n as u64).to_le_bytes(), seed);
    let _ = write!(url, "-{:08x}", token as u32);
    url
}

const TRACKING: [&str; 5] = [
    "utm_source=twitter&utm_medium=social&fbclid=IwAR",
    "utm_source=facebook&utm_medium=referral&utm_campaign=share&fbclid=IwAR",
    "utm_source=newsletter&utm_medium=email&utm_campaign=daily&mc_eid=",
    "ref=rss&utm_source=feedburner&utm_medium=feed&gclid=Cj0",
    "at_medium=RSS&at_campaign=KARANGA&cid=",
];

/// The same URL with share/newsletter tracking parameters appended.
pub(super) fn with_tracking(url: &str, rng: &mut ChaCha8Rng) -> String {
    let mut out = String::with_capacity(url.len() + 96);
    out.push_str(url);
    out.push(if url.contains('?') { '&' } else { '?' });
    out.push_str(TRACKING[rng.random_range(0..TRACKING.len())]);
    let _ = write!(out, "{:016x}", rng.random::<u64>());
    out
}

/// An AMP or mobile address of the same article.
pub(super) fn amp_variant(url: &str, rng: &mut ChaCha8Rng) -> String {
    let (scheme_host, path) = url
        .strip_prefix("https://")
        .and_then(|rest| rest.split_once('/'))
        .unwrap_or((url, ""));
    let bare = scheme_host.strip_prefix("www.").unwrap_or(scheme_host);
    match rng.random_range(0..4u8) {
        0 => format!("https://amp.{bare}/{path}"),
        1 => format!("https://m.{bare}/{path}"),
        2 => format!("{url}/amp"),
        _ => format!("{url}?outputType=amp"),
    }
}

/// The headline of a light edit: an "UPDATE 1-" style prefix or a short suffix.
pub(super) fn tweak_title(title: &str, w: &mut Writer<'_>) -> String {
    let v = &*VOCAB;
    let mut out = String::with_capacity(title.len() + 24);
    if w.rng.random_bool(0.5) {
        out.push_str(v.title_prefixes[w.rng.random_range(0..v.title_prefixes.len())]);
        out.push_str(title);
    } else {
        out.push_str(title);
        let t = &v.title_suffixes[w.rng.random_range(0..v.title_suffixes.len())];
        w.fill(t, &mut out, 0);
    }
    capitalize_at(&mut out, 0);
    out
}

/// A plain-text file (first non-empty line the headline, every further non-empty line
/// a paragraph, like `shared/samples/seed-article.txt`) as generic article JSON:
/// `id`, `url`, `title`, `body` (paragraphs joined by blank lines), `published_at`
/// (RFC 3339), `source`, `language` ("en").
pub fn plain_text_article(
    text: &str,
    id: &str,
    url: &str,
    source: &str,
    published_at: DateTime<Utc>,
) -> Value {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let title = lines.next().unwrap_or_default();
    let mut body = String::with_capacity(text.len());
    for (i, line) in lines.enumerate() {
        if i > 0 {
            body.push_str("\n\n");
        }
        body.push_str(line);
    }
    let mut m = Map::new();
    m.insert("id".into(), s(id));
    m.insert("url".into(), s(url));
    m.insert("title".into(), s(title));
    m.insert("body".into(), Value::String(body));
    m.insert(
        "published_at".into(),
        Value::String(published_at.to_rfc3339_opts(SecondsFormat::Secs, true)),
    );
    m.insert("source".into(), s(source));
    m.insert("language".into(), s("en"));
    Value::Object(m)
}
