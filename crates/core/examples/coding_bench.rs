//! Coder throughput on ~600-word articles, single thread:
//! `cargo run --release -p newsflow-core --example coding_bench [-- SECONDS]`.
//!
//! Articles are assembled from the evaluation sentences and the seed sample (deterministic
//! order), so they carry the density of actors and actions of real news.

use std::time::{Duration, Instant};

use newsflow_core::coding::eval::parse_cases;
use newsflow_core::coding::{Coder, Document};

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
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs_f64(secs) {
        for (a, ns) in articles.iter().zip(&sent_per_article) {
            let m = coder.code(&Document {
                title: Some("Headline about Russia and Ukraine"),
                text: a,
                published,
            });
            n_mentions += m.len();
            n_articles += 1;
            n_sentences += ns + 1;
        }
    }
    let el = start.elapsed().as_secs_f64();
    println!("coder build: {:.1} ms", build.as_secs_f64() * 1e3);
    println!(
        "{n_articles} articles ({} words avg), {n_sentences} sentences, {n_mentions} mentions in {el:.2} s (1 thread)",
        articles
            .iter()
            .map(|a| a.split_whitespace().count())
            .sum::<usize>()
            / articles.len()
    );
    println!("articles/s: {:.0}", n_articles as f64 / el);
    println!("sentences/s: {:.0}", n_sentences as f64 / el);
    println!(
        "mentions/article: {:.1}",
        n_mentions as f64 / n_articles as f64
    );
    Ok(())
}
