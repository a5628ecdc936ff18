//! Coder throughput on ~600-word articles, single thread, then the story signatures of the
//! same articles:
//! `cargo run --release -p newsflow-core --example coding_bench [-- SECONDS]`.
//! At least one pass over the 200 articles runs, so `-- 0` is one pass (for callgrind:
//! `coding_bench::code_pass` is the coder's share). Rates are per CPU-second of this
//! thread where the kernel tells (/proc/thread-self/schedstat), so a machine shared with
//! other builds does not distort them; wall-clock rates are printed beside them.
//!
//! Articles are assembled from the evaluation sentences and the seed sample (deterministic
//! order), so they carry the density of actors and actions of real news.

use std::time::{Duration, Instant};

use newsflow_core::coding::eval::parse_cases;
use newsflow_core::coding::{Coder, Document, Mention};
use newsflow_core::stories::{StoryParams, signature};

/// CPU time consumed by this thread so far, if the kernel tells.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Codes every article once; returns the number of mentions. Never inlined, so a
/// profiler attributes the coder's instructions to it.
#[inline(never)]
fn code_pass(coder: &Coder, articles: &[String], published: chrono::NaiveDate) -> usize {
    articles
        .iter()
        .map(|a| {
            coder
                .code(&Document {
                    title: Some("Headline about Russia and Ukraine"),
                    text: a,
                    published,
                })
                .len()
        })
        .sum()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let eval = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/eval/sentences.jsonl"
    ))?;
    let mut sentences: Vec<String> = parse_cases(&eval)?.into_iter().map(|c| c.text).collect();
    if let Ok(seed) = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/samples/seed-article.txt"
    )) {
        sentences.extend(seed.lines().map(str::to_string));
    }
    // ~600-word articles, paragraphs of three sentences.
    let mut articles = Vec::new();
    let mut i = 0usize;
    for _ in 0..200 {
        let mut a = String::from("KYIV, Ukraine — ");
        let mut words = 0;
        let mut k = 0;
        while words < 600 {
            let s = &sentences[(i * 7919) % sentences.len()];
            i += 1;
            words += s.split_whitespace().count();
            a.push_str(s);
            k += 1;
            a.push_str(if k % 3 == 0 { "\n" } else { " " });
        }
        articles.push(a);
    }
    let t0 = Instant::now();
    let coder = Coder::embedded()?;
    let build = t0.elapsed();
    let published = chrono::NaiveDate::from_ymd_opt(2024, 6, 19).ok_or("date")?;
    let sent_per_article: Vec<usize> = articles
        .iter()
        .map(|a| newsflow_core::coding::text::split_sentences(a).0.len())
        .collect();
    let (mut n_articles, mut n_sentences, mut n_mentions) = (0usize, 0usize, 0usize);
    let (start, cpu0) = (Instant::now(), thread_cpu());
    loop {
        n_mentions += code_pass(&coder, &articles, published);
        n_articles += articles.len();
        n_sentences += sent_per_article.iter().map(|n| n + 1).sum::<usize>();
        if start.elapsed() >= Duration::from_secs_f64(secs) {
            break;
        }
    }
    let el = start.elapsed().as_secs_f64();
    let cpu = match (cpu0, thread_cpu()) {
        (Some(a), Some(b)) => b.saturating_sub(a).as_secs_f64(),
        _ => el,
    };
    println!("coder build: {:.1} ms", build.as_secs_f64() * 1e3);
    println!(
        "{n_articles} articles ({} words avg), {n_sentences} sentences, {n_mentions} mentions in {el:.2} s (1 thread)",
        articles
            .iter()
            .map(|a| a.split_whitespace().count())
            .sum::<usize>()
            / articles.len()
    );
    println!(
        "articles/s: {:.0} per core ({:.0} wall-clock)",
        n_articles as f64 / cpu,
        n_articles as f64 / el
    );
    println!("sentences/s: {:.0} per core", n_sentences as f64 / cpu);
    println!(
        "mentions/article: {:.1}",
        n_mentions as f64 / n_articles as f64
    );

    // Story signatures of the same articles (coded once), which the extract service
    // computes after coding: they must stay a small share of the coder's time.
    let title = Some("Headline about Russia and Ukraine");
    let coded: Vec<Vec<Mention>> = articles
        .iter()
        .map(|a| {
            coder.code(&Document {
                title,
                text: a,
                published,
            })
        })
        .collect();
    let params = StoryParams::default();
    let (mut n_signed, mut n_terms) = (0usize, 0usize);
    let (start, cpu0) = (Instant::now(), thread_cpu());
    loop {
        n_terms += sign_pass(&articles, &coded, title, &params);
        n_signed += articles.len();
        if start.elapsed() >= Duration::from_secs_f64(secs.min(2.0)) {
            break;
        }
    }
    let el = start.elapsed().as_secs_f64();
    let sign_cpu = match (cpu0, thread_cpu()) {
        (Some(a), Some(b)) => b.saturating_sub(a).as_secs_f64(),
        _ => el,
    };
    println!(
        "story signatures/s: {:.0} per core ({:.1} us each, {:.1} % of coding; {:.0} terms avg)",
        n_signed as f64 / sign_cpu,
        sign_cpu * 1e6 / n_signed as f64,
        100.0 * (sign_cpu / n_signed as f64) / (cpu / n_articles as f64),
        n_terms as f64 / n_signed as f64
    );
    Ok(())
}

/// Signs every coded article once; returns the number of terms kept.
#[inline(never)]
fn sign_pass(
    articles: &[String],
    coded: &[Vec<Mention>],
    title: Option<&str>,
    params: &StoryParams,
) -> usize {
    articles
        .iter()
        .zip(coded)
        .map(|(a, m)| signature(title, a, m, params).terms.len())
        .sum()
}
