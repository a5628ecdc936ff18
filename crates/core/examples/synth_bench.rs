//! Measures how fast the synthetic stream is generated (and serialised), single-threaded.
//!
//! `cargo run --release -p newsflow-core --example synth_bench -- [articles] [mean_words]`

use std::hint::black_box;
use std::time::Instant;

use newsflow_core::synth::{Generator, SynthConfig};

fn main() {
    let mut args = std::env::args().skip(1);
    let articles = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let mean_words = args.next().and_then(|a| a.parse().ok()).unwrap_or(600);
    let cfg = SynthConfig {
        articles,
        mean_words,
        ..SynthConfig::default()
    };

    let started = Instant::now();
    let mut bytes = 0usize;
    for article in Generator::new(cfg.clone()) {
        bytes += black_box(article).truth.id.len();
    }
    let generate = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let mut buf = Vec::with_capacity(1 << 16);
    for article in Generator::new(cfg) {
        buf.clear();
        serde_json::to_writer(&mut buf, &article.json).unwrap_or_else(|e| panic!("{e}"));
        bytes += buf.len();
    }
    let with_json = started.elapsed().as_secs_f64();

    println!(
        "{articles} articles of ~{mean_words} words: generate {:.0} articles/s ({generate:.2} s); \
         generate + serialise {:.0} articles/s ({:.0} MB/s of JSON)",
        articles as f64 / generate,
        articles as f64 / with_json,
        bytes as f64 / with_json / 1e6,
    );
}
