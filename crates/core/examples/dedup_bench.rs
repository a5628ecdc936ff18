//! Throughput of the dedup core: parse + normalise + content hash + sketch, and the
//! offline Checker (the same plus the Index), over generated ~600-word articles.
//!
//! `cargo run --release -p newsflow-core --example dedup_bench -- [N]`
//!
//! `parse+hash+sketch` is the service's sequence (`Article::content_hash` and `sketch`,
//! two tokenisations); `parse+fingerprint` gets both from one (`dedup::fingerprint`,
//! as the offline Checker does).
//!
//! Rates are per CPU-second of this thread (from /proc/thread-self/schedstat where
//! available), so they stay meaningful on a machine shared with other builds; wall-clock
//! time is printed beside them.

use std::time::{Duration, Instant};

use newsflow_core::article::{Article, Limits, parse_article};
use newsflow_core::dedup::{Checker, DedupParams, fingerprint, sketch};

/// Deterministic xorshift, so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "that",
    "for",
    "on",
    "with",
    "as",
    "by",
    "was",
    "said",
    "it",
    "is",
    "from",
    "at",
    "his",
    "have",
    "be",
    "has",
    "which",
    "its",
    "are",
    "were",
    "an",
    "will",
    "their",
    "after",
    "two",
    "countries",
    "Russia",
    "North",
    "Korea",
    "Putin",
    "Kim",
    "treaty",
    "military",
    "partnership",
    "government",
    "minister",
    "foreign",
    "security",
    "sanctions",
    "Ukraine",
    "war",
    "talks",
    "summit",
    "leaders",
    "agreement",
    "defense",
    "economic",
    "trade",
    "officials",
    "Washington",
    "Seoul",
    "Pyongyang",
    "Moscow",
    "China",
    "meeting",
    "president",
    "week",
    "year",
    "reported",
    "according",
    "statement",
    "support",
    "cooperation",
    "region",
    "allies",
    "missiles",
    "weapons",
    "shells",
    "technology",
    "energy",
    "food",
    "fuel",
    "aid",
    "visit",
    "ceremony",
    "press",
    "conference",
    "analysts",
    "concerns",
    "“comrade”",
    "isn’t",
    "U.S.",
    "—",
    "world’s",
    "Tuesday",
    "Wednesday",
    "billion",
    "people",
];

fn article(rng: &mut Rng, i: usize) -> Vec<u8> {
    let mut text = String::with_capacity(4_500);
    let mut words = 0;
    while words < 600 {
        for _ in 0..(3 + rng.below(3)) {
            let len = 12 + rng.below(14);
            for w in 0..len {
                let word = WORDS[rng.below(WORDS.len())];
                if w == 0 {
                    let mut c = word.chars();
                    if let Some(first) = c.next() {
                        text.extend(first.to_uppercase());
                        text.push_str(c.as_str());
                    }
                } else {
                    text.push(' ');
                    text.push_str(word);
                }
                // a unique token now and then, so articles differ
                if rng.below(40) == 0 {
                    text.push_str(&format!(" x{}", rng.next() % 1_000_000));
                }
            }
            text.push_str(". ");
            words += len;
        }
        text.push('\n');
    }
    serde_json::to_vec(&serde_json::json!({
        "url": format!("https://www.example.com/world/2024/06/19/story-{i}/?utm_source=rss"),
        "title": "Putin and Kim sign defence pact",
        "maintext": text,
        "date_publish": "2024-06-19 08:30:00",
        "source_domain": "www.example.com",
        "language": "en",
        "authors": ["Jane Doe"],
    }))
    .unwrap_or_default()
}

/// CPU time consumed by this thread so far, if the kernel tells.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Measures `f`, returning (CPU time if known else wall time, wall time).
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration, Duration) {
    let (cpu0, wall0) = (thread_cpu(), Instant::now());
    let out = f();
    let wall = wall0.elapsed();
    let cpu = match (cpu0, thread_cpu()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => wall,
    };
    (out, cpu, wall)
}

fn report(label: &str, n: usize, cpu: Duration, wall: Duration, extra: &str) {
    println!(
        "{label:<20} {:>8.0} articles/s per core ({:.1} µs CPU/article; wall {:.1} µs){extra}",
        n as f64 / cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / n as f64,
        wall.as_secs_f64() * 1e6 / n as f64,
    );
}

// One function per measured stage, never inlined, so that a profiler attributes every
// instruction to its stage: `valgrind --tool=callgrind` then `callgrind_annotate
// --inclusive=yes` lists `dedup_bench::stage_*` with their totals (divide by N).

#[inline(never)]
fn stage_pipeline(messages: &[Vec<u8>], limits: &Limits) -> usize {
    let mut keys = 0usize;
    for m in messages {
        if let Ok(a) = parse_article(m, limits) {
            let s = sketch(&a.text);
            keys += s.band_keys.len() + (a.content_hash() & 1) as usize;
        }
    }
    keys
}

/// The same through [`fingerprint`]: content hash and sketch from one tokenisation.
#[inline(never)]
fn stage_pipeline_fingerprint(messages: &[Vec<u8>], limits: &Limits) -> usize {
    let mut keys = 0usize;
    for m in messages {
        if let Ok(a) = parse_article(m, limits) {
            let f = fingerprint(&a.text);
            keys += f.sketch.band_keys.len() + (f.content_hash & 1) as usize;
        }
    }
    keys
}

#[inline(never)]
fn stage_fingerprint(texts: &[Article]) -> usize {
    texts
        .iter()
        .map(|a| fingerprint(&a.text).sketch.shingles.len())
        .sum()
}

#[inline(never)]
fn stage_parse(messages: &[Vec<u8>], limits: &Limits) -> Vec<Article> {
    messages
        .iter()
        .filter_map(|m| parse_article(m, limits).ok())
        .collect()
}

#[inline(never)]
fn stage_content_hash(texts: &[Article]) -> i64 {
    texts
        .iter()
        .map(|a| a.content_hash())
        .fold(0, i64::wrapping_add)
}

#[inline(never)]
fn stage_sketch(texts: &[Article]) -> usize {
    texts.iter().map(|a| sketch(&a.text).shingles.len()).sum()
}

#[inline(never)]
fn stage_parse_html(messages: &[Vec<u8>], limits: &Limits) -> usize {
    messages
        .iter()
        .filter(|m| parse_article(m, limits).is_ok())
        .count()
}

#[inline(never)]
fn stage_checker(checker: &mut Checker, messages: &[Vec<u8>]) -> usize {
    messages
        .iter()
        .filter(|m| checker.check_line(m).decision == "duplicate")
        .count()
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let messages: Vec<Vec<u8>> = (0..n).map(|i| article(&mut rng, i)).collect();
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let limits = Limits::default();
    println!("{n} articles, {} bytes each on average", bytes / n.max(1));

    // parse + normalise + hash + sketch, as the service does per message
    let (keys, cpu, wall) = timed(|| stage_pipeline(&messages, &limits));
    report(
        "parse+hash+sketch",
        n,
        cpu,
        wall,
        &format!(" [{keys} band keys]"),
    );

    let (keys, cpu, wall) = timed(|| stage_pipeline_fingerprint(&messages, &limits));
    report(
        "parse+fingerprint",
        n,
        cpu,
        wall,
        &format!(" [{keys} band keys; hash and sketch from one tokenisation]"),
    );

    // the split
    let (texts, cpu, wall) = timed(|| stage_parse(&messages, &limits));
    report("  parse", n, cpu, wall, "");
    let (_, cpu, wall) = timed(|| stage_content_hash(&texts));
    report("  content_hash", n, cpu, wall, "");
    let (shingles, cpu, wall) = timed(|| stage_sketch(&texts));
    report(
        "  sketch",
        n,
        cpu,
        wall,
        &format!(" [{} shingles/article]", shingles / n.max(1)),
    );
    let (_, cpu, wall) = timed(|| stage_fingerprint(&texts));
    report("  fingerprint", n, cpu, wall, " [content hash + sketch]");

    // the same articles as HTML pages (`html` field): tag stripping on top
    let html_messages: Vec<Vec<u8>> = texts
        .iter()
        .map(|a| {
            let body: String = a.text.split('\n').map(|p| format!("<p class=\"para\">{p}</p>\n")).collect();
            let page = format!(
                "<!DOCTYPE html><html><head><title>t</title><script>var x = 1;</script></head><body>\
                 <nav><a href=\"/\">Home</a> <a href=\"/world\">World</a></nav><article><h1>Headline</h1>{body}</article>\
                 <footer>&copy; Example</footer></body></html>"
            );
            serde_json::to_vec(&serde_json::json!({"url": a.url, "html": page})).unwrap_or_default()
        })
        .collect();
    let (_, cpu, wall) = timed(|| stage_parse_html(&html_messages, &limits));
    report("  parse (HTML)", n, cpu, wall, "");

    // calibration: how fast this machine runs a trivial scan of the same texts
    let (words, cpu, _) = timed(|| {
        texts
            .iter()
            .map(|a| {
                std::hint::black_box(&a.text)
                    .split_ascii_whitespace()
                    .count()
            })
            .sum::<usize>()
    });
    let text_bytes: usize = texts.iter().map(|a| a.text.len()).sum();
    println!(
        "  (calibration: str::split_ascii_whitespace runs at {:.2} ns/byte here, {:.1} µs/article, {} words/article)",
        cpu.as_secs_f64() * 1e9 / text_bytes.max(1) as f64,
        cpu.as_secs_f64() * 1e6 / n as f64,
        words / n.max(1)
    );

    // the offline checker: parse + sketch + classify + insert into one Index
    let mut checker = Checker::new(DedupParams::default(), limits);
    let (duplicates, cpu, wall) = timed(|| stage_checker(&mut checker, &messages));
    report(
        "checker",
        n,
        cpu,
        wall,
        &format!(" [{duplicates} duplicates]"),
    );
}
