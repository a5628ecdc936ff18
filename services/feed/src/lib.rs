//! The feed tool: replays JSONL files and plain-text articles, or generates a synthetic
//! stream with labelled duplicates (ground truth written beside it) or the hostile-input
//! drill (malformed messages with their expected outcome), into `news.articles.raw`; also
//! creates the topics (the local broker does not auto-create them).

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use indicatif::{ProgressBar, ProgressStyle};
use newsflow_core::synth::hostile::{Hostile, HostileConfig, HostileMessage};
use newsflow_core::synth::{Generator, SynthConfig, plain_text_article};
use newsflow_runtime::config::{KafkaArgs, validate_topic};
use newsflow_runtime::kafka;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

#[derive(Debug, Parser)]
#[command(
    name = "newsflow-feed",
    version,
    about = "Produces news articles into newsflow's input topic"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format: `json` or `pretty`.
    #[arg(long = "log-format", env = "NEWSFLOW_LOG_FORMAT", default_value = "pretty", global = true,
          value_parser = ["json", "pretty"])]
    pub log_format: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create newsflow's topics (idempotent).
    Topics(TopicsArgs),
    /// Produce JSONL files (news-please or generic articles), one message per non-blank line, bytes as they are.
    Jsonl(JsonlArgs),
    /// Produce plain-text articles (first line the headline) such as the seed sample.
    Text(TextArgs),
    /// Generate a synthetic stream with labelled duplicates; produce it and/or write it to a file.
    Synth(SynthArgs),
    /// The hostile-input drill: a corpus of malformed messages (each labelled with the DLQ
    /// class it must get, or how it must be stored), optionally mixed into a valid synthetic
    /// stream; produce it and/or write it to files.
    Hostile(HostileArgs),
    /// Score the duplicate links stored in Postgres against a synthetic stream's ground truth.
    Score(ScoreArgs),
    /// Inspect the dead-letter topic (one JSON line per message) and optionally replay the
    /// original bytes of the selected messages to a topic (after the cause was fixed).
    Dlq(DlqArgs),
    /// Read a topic from its beginning to its end as it is now, as fast as the broker serves
    /// it, and print messages/s and MB/s as JSON (the benchmark's broker consume limit).
    Drain(DrainArgs),
}

#[derive(Debug, Args)]
pub struct DrainArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// The topic to read.
    #[arg(long)]
    pub topic: String,
}

#[derive(Debug, Args)]
pub struct DlqArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// The dead-letter topic.
    #[arg(
        long = "dlq-topic",
        env = "NEWSFLOW_DLQ_TOPIC",
        default_value = "news.articles.dlq"
    )]
    pub dlq_topic: String,
    /// Only messages of this error class (e.g. invalid_json, store_failed).
    #[arg(long)]
    pub class: Option<String>,
    /// Produce the selected messages' original key, bytes and headers to this topic.
    #[arg(long = "replay-to")]
    pub replay_to: Option<String>,
    /// Stop after this many selected messages.
    #[arg(long, default_value_t = u64::MAX)]
    pub limit: u64,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Ground truth written by `synth --truth`.
    #[arg(long)]
    pub truth: PathBuf,
    #[command(flatten)]
    pub db: newsflow_runtime::config::DbArgs,
}

#[derive(Debug, Args)]
pub struct TopicsArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Partitions per topic (at least the number of replicas you will run).
    #[arg(long, env = "NEWSFLOW_PARTITIONS", default_value_t = 4,
          value_parser = clap::value_parser!(i32).range(1..=1000))]
    pub partitions: i32,
    /// Topics to create.
    #[arg(long = "topic", default_values = ["news.articles.raw", "news.articles", "news.articles.duplicates", "news.articles.dlq", "news.events"])]
    pub topics: Vec<String>,
}

/// Where and how fast to produce.
#[derive(Debug, Clone, Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Topic to produce to.
    #[arg(
        long,
        env = "NEWSFLOW_INPUT_TOPIC",
        default_value = "news.articles.raw"
    )]
    pub topic: String,
    /// Messages per second at most (0 = as fast as possible).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct JsonlArgs {
    #[command(flatten)]
    pub produce: ProduceArgs,
    /// JSONL files (`-` for standard input).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TextArgs {
    #[command(flatten)]
    pub produce: ProduceArgs,
    /// Plain-text files, one article each.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Publication date of the articles (YYYY-MM-DD or RFC 3339).
    #[arg(long = "published-at")]
    pub published_at: String,
    /// Outlet the articles came from.
    #[arg(long, default_value = "seed.example")]
    pub source: String,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    #[command(flatten)]
    pub produce: ProduceArgs,
    /// Number of articles.
    #[arg(long, default_value_t = 10_000)]
    pub count: usize,
    /// Random seed: the same seed gives the same stream.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Share of duplicates (0..1).
    #[arg(long = "duplicate-ratio", default_value_t = 0.3)]
    pub duplicate_ratio: f64,
    /// Mean article length in words.
    #[arg(long = "mean-words", default_value_t = 600)]
    pub mean_words: usize,
    /// Write the ground truth (one JSON line per article) to this file.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Write the articles to this JSONL file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only write files; do not produce to Kafka.
    #[arg(long = "no-produce")]
    pub no_produce: bool,
}

#[derive(Debug, Args)]
pub struct HostileArgs {
    #[command(flatten)]
    pub produce: ProduceArgs,
    /// Number of malformed messages.
    #[arg(long, default_value_t = 10_000)]
    pub count: usize,
    /// Random seed: the same seed gives the same bytes (also part of keys and markers).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// How many of the messages are huge (rejected as too_large before parsing).
    #[arg(long, default_value_t = 3)]
    pub huge: usize,
    /// Size of each huge message in bytes; must exceed the dedup stage's
    /// --max-message-bytes (5 MiB by default) for the too_large label to hold. The local
    /// broker (Tansu 0.6.0) never delivers a record of 5 MiB or more (its partition stalls
    /// behind it): there use e.g. --huge-bytes 4194304 with dedup --max-message-bytes 2097152.
    #[arg(long = "huge-bytes", default_value_t = 20 * 1024 * 1024)]
    pub huge_bytes: usize,
    /// Valid synthetic articles (300 words on average) to interleave evenly with them.
    #[arg(long, default_value_t = 0)]
    pub valid: usize,
    /// Write one JSON line per malformed message: n, key, kind, expected outcome, size.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Write the mixed stream to this JSONL file, one message per line, as produced.
    /// Blank messages (empty or whitespace) cannot be framed as a line and are left out.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only write files; do not produce to Kafka.
    #[arg(long = "no-produce")]
    pub no_produce: bool,
}

/// One message to produce: optional key, payload and headers.
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

/// Runs the chosen subcommand.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Topics(args) => {
            args.kafka.validate().map_err(anyhow::Error::msg)?;
            for t in &args.topics {
                validate_topic("--topic", t).map_err(anyhow::Error::msg)?;
            }
            let topics: Vec<(&str, i32)> = args
                .topics
                .iter()
                .map(|t| (t.as_str(), args.partitions))
                .collect();
            kafka::ensure_topics(&args.kafka, &topics)
                .await
                .context("creating topics")?;
            println!("topics ready: {}", args.topics.join(", "));
            Ok(())
        }
        Command::Jsonl(args) => {
            let mut lines = Vec::new();
            for file in &args.files {
                read_lines(file, &mut lines)?;
            }
            let n = produce(&args.produce, lines.into_iter()).await?;
            println!("produced {n} messages to {}", args.produce.topic);
            Ok(())
        }
        Command::Text(args) => {
            let published = parse_date(&args.published_at)?;
            let mut messages = Vec::new();
            for file in &args.files {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let stem = file
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("article");
                let url = format!("https://{}/{}", args.source, stem);
                let json = plain_text_article(&text, stem, &url, &args.source, published);
                messages.push(serde_json::to_vec(&json)?);
            }
            let n = produce(&args.produce, messages.into_iter()).await?;
            println!("produced {n} messages to {}", args.produce.topic);
            Ok(())
        }
        Command::Synth(args) => synth(args).await,
        Command::Hostile(args) => hostile(args).await,
        Command::Score(args) => score_run(&args).await,
        Command::Dlq(args) => dlq(&args).await,
        Command::Drain(args) => drain(&args),
    }
}

/// Prints precision/recall of the stored duplicate links against the ground truth as JSON.
async fn score_run(args: &ScoreArgs) -> anyhow::Result<()> {
    args.db.validate().map_err(anyhow::Error::msg)?;
    let text = std::fs::read_to_string(&args.truth)
        .with_context(|| format!("cannot read {}", args.truth.display()))?;
    let truth: Vec<newsflow_core::synth::Truth> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .context("the truth file is not JSONL of truth records")?;
    let pool = newsflow_runtime::db::connect(&args.db, Duration::from_secs(10)).await?;
    let rows: Vec<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT a.external_id, o.external_id FROM articles a LEFT JOIN articles o ON o.id = a.duplicate_of",
    )
    .fetch_all(&pool)
    .await?;
    let decisions = rows.iter().filter_map(|(id, of)| {
        Some(newsflow_core::synth::Decision {
            id: id.as_deref()?,
            is_duplicate: of.is_some(),
            duplicate_of: of.as_deref(),
        })
    });
    let score = newsflow_core::synth::score(&truth, decisions);
    println!("{}", serde_json::to_string_pretty(&score)?);
    Ok(())
}

fn parse_date(raw: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(raw) {
        return Ok(dt.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .with_context(|| format!("--published-at must be YYYY-MM-DD or RFC 3339, got {raw:?}"))?;
    Ok(day.and_hms_opt(12, 0, 0).unwrap_or_default().and_utc())
}

fn read_lines(path: &Path, out: &mut Vec<Vec<u8>>) -> anyhow::Result<()> {
    let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        Box::new(BufReader::new(
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
        ))
    };
    for line in reader.split(b'\n') {
        let mut line = line?;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if !line.iter().all(u8::is_ascii_whitespace) {
            out.push(line);
        }
    }
    Ok(())
}

async fn synth(args: SynthArgs) -> anyhow::Result<()> {
    if !(0.0..=1.0).contains(&args.duplicate_ratio) {
        bail!(
            "--duplicate-ratio must be between 0 and 1, got {}",
            args.duplicate_ratio
        );
    }
    let config = SynthConfig {
        seed: args.seed,
        articles: args.count,
        duplicate_ratio: args.duplicate_ratio,
        mean_words: args.mean_words,
        ..SynthConfig::default()
    };
    let mut truth = args
        .truth
        .as_ref()
        .map(|p| std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display())))
        .transpose()?
        .map(BufWriter::new);
    let mut out = args
        .out
        .as_ref()
        .map(|p| std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display())))
        .transpose()?
        .map(BufWriter::new);
    // The generator streams, so memory stays flat however long the stream.
    let mut write_error = None;
    let messages = Generator::new(config).map(|a| {
        let bytes = serde_json::to_vec(&a.json).unwrap_or_default();
        let mut write = || -> std::io::Result<()> {
            if let Some(t) = truth.as_mut() {
                serde_json::to_writer(&mut *t, &a.truth)?;
                t.write_all(b"\n")?;
            }
            if let Some(o) = out.as_mut() {
                o.write_all(&bytes)?;
                o.write_all(b"\n")?;
            }
            Ok(())
        };
        if let Err(e) = write() {
            write_error.get_or_insert(e);
        }
        bytes
    });
    let n = if args.no_produce {
        messages.count() as u64
    } else {
        produce(&args.produce, messages).await?
    };
    if let Some(e) = write_error {
        return Err(e).context("writing the synthetic stream's files");
    }
    if let Some(mut t) = truth {
        t.flush()?;
    }
    if let Some(mut o) = out {
        o.flush()?;
    }
    if args.no_produce {
        println!("generated {n} articles");
    } else {
        println!("produced {n} synthetic articles to {}", args.produce.topic);
    }
    Ok(())
}

/// The malformed corpus interleaved evenly with `valid` synthetic articles (seeded like the
/// corpus): hostile messages keyed `hostile-{seed}-{n}` with headers naming their kind and
/// expected outcome, valid ones unkeyed as `synth` produces them. A hostile message's
/// payload is moved into its record (the returned message's own is left empty).
pub fn hostile_stream(
    config: HostileConfig,
    valid: usize,
) -> impl ExactSizeIterator<Item = (Option<HostileMessage>, Record)> {
    let hostile_total = config.count;
    let total = hostile_total + valid;
    let seed = config.seed;
    let mut hostile = Hostile::new(config);
    let mut synthetic = Generator::new(SynthConfig {
        seed,
        articles: valid,
        mean_words: 300,
        ..SynthConfig::default()
    });
    let mut emitted = 0usize;
    (0..total).map(move |i| {
        // Bresenham: after i + 1 messages, round((i + 1) * share) are hostile.
        let due = ((i + 1) * hostile_total + total / 2) / total.max(1);
        let next_hostile = emitted < due;
        if next_hostile && let Some(mut m) = hostile.next() {
            emitted += 1;
            // The payload moves to the record (huge ones are 20 MB).
            let record = Record {
                key: Some(m.key.clone().into_bytes()),
                payload: std::mem::take(&mut m.payload),
                headers: vec![
                    ("newsflow.hostile.kind", m.kind.as_str().to_owned()),
                    ("newsflow.hostile.expected", m.expected.label()),
                ],
            };
            return (Some(m), record);
        }
        let payload = synthetic
            .next()
            .map(|a| serde_json::to_vec(&a.json).unwrap_or_default())
            .unwrap_or_default();
        (
            None,
            Record {
                payload,
                ..Record::default()
            },
        )
    })
}

async fn hostile(mut args: HostileArgs) -> anyhow::Result<()> {
    // dedup's --max-message-bytes is at least 1024: a smaller "huge" message is never too large.
    if args.huge > 0 && args.huge_bytes <= 1024 {
        bail!("--huge-bytes must be over 1024, got {}", args.huge_bytes);
    }
    if args.huge > args.count {
        bail!(
            "--huge ({}) cannot exceed --count ({})",
            args.huge,
            args.count
        );
    }
    let config = HostileConfig {
        seed: args.seed,
        count: args.count,
        huge: args.huge,
        huge_bytes: args.huge_bytes,
    };
    let create = |p: &PathBuf| {
        std::fs::File::create(p)
            .map(BufWriter::new)
            .with_context(|| format!("cannot create {}", p.display()))
    };
    let mut labels = args.labels.as_ref().map(create).transpose()?;
    let mut out = args.out.as_ref().map(create).transpose()?;
    let stream = hostile_stream(config, args.valid);
    let mut records = Vec::with_capacity(stream.len());
    let mut unframed = 0u64;
    for (message, record) in stream {
        if let (Some(m), Some(l)) = (&message, labels.as_mut()) {
            serde_json::to_writer(
                &mut *l,
                &serde_json::json!({
                    "n": m.n, "key": m.key, "kind": m.kind, "expected": m.expected,
                    "label": m.expected.label(), "bytes": record.payload.len(),
                }),
            )?;
            l.write_all(b"\n")?;
        }
        if let Some(o) = out.as_mut() {
            if record.payload.iter().all(u8::is_ascii_whitespace) {
                unframed += 1;
            } else {
                o.write_all(&record.payload)?;
                o.write_all(b"\n")?;
            }
        }
        records.push(record);
    }
    for file in [labels.as_mut(), out.as_mut()].into_iter().flatten() {
        file.flush()?;
    }
    if unframed > 0 {
        eprintln!(
            "{unframed} blank messages are not in the JSONL file (a blank line is no message)"
        );
    }
    if args.no_produce {
        println!(
            "generated {} messages ({} malformed)",
            records.len(),
            args.count
        );
        return Ok(());
    }
    // The huge messages need a producer that accepts them; the broker decides the rest.
    if !args
        .produce
        .kafka
        .properties
        .iter()
        .any(|(k, _)| k == "message.max.bytes")
    {
        let largest = records.iter().map(|r| r.payload.len()).max().unwrap_or(0);
        let limit = (largest + 64 * 1024).clamp(1_000_000, 1_000_000_000);
        args.produce
            .kafka
            .properties
            .push(("message.max.bytes".to_owned(), limit.to_string()));
    }
    let n = produce_records(&args.produce, records.into_iter()).await?;
    println!(
        "produced {n} messages ({} malformed, {} valid) to {}",
        args.count, args.valid, args.produce.topic
    );
    Ok(())
}

/// Produces every message, at most `rate` per second, and waits until the broker has
/// acknowledged all of them. Fails if any delivery failed.
pub async fn produce(
    args: &ProduceArgs,
    messages: impl ExactSizeIterator<Item = Vec<u8>>,
) -> anyhow::Result<u64> {
    produce_records(
        args,
        messages.map(|payload| Record {
            payload,
            ..Record::default()
        }),
    )
    .await
}

/// [`produce`] with keys and headers.
pub async fn produce_records(
    args: &ProduceArgs,
    messages: impl ExactSizeIterator<Item = Record>,
) -> anyhow::Result<u64> {
    args.kafka.validate().map_err(anyhow::Error::msg)?;
    validate_topic("--topic", &args.topic).map_err(anyhow::Error::msg)?;
    if !(args.rate >= 0.0 && args.rate.is_finite()) {
        bail!("--rate must be a non-negative number, got {}", args.rate);
    }
    // A bulk load rides out a slow broker rather than dropping what it could not deliver in
    // the services' 30 s: retried for up to 10 minutes (the idempotent producer neither
    // duplicates nor reorders). An operator's own setting wins.
    // It also lingers 100 ms, not the services' 25: against a broker that answers in seconds,
    // librdkafka's broker thread wakes at every linger deadline while a partition is at its
    // in-flight limit, and with 25 ms that loop took a whole core in the 200,000-article bench
    // (BENCHMARKS.md). A bulk load loses nothing by waiting longer to fill its requests.
    let mut kafka_args = args.kafka.clone();
    for (key, value) in [("message.timeout.ms", "600000"), ("linger.ms", "100")] {
        if !kafka_args.properties.iter().any(|(k, _)| k == key) {
            kafka_args
                .properties
                .push((key.to_owned(), value.to_owned()));
        }
    }
    let producer: FutureProducer = kafka::producer(&kafka_args).context("creating the producer")?;
    let total = messages.len() as u64;
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} [{bar:40}] {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let interval = (args.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / args.rate));
    let started = tokio::time::Instant::now();
    let mut in_flight = FuturesUnordered::new();
    let mut delivered = 0u64;
    let mut failed = 0u64;
    for (i, record) in messages.enumerate() {
        if let Some(interval) = interval {
            tokio::time::sleep_until(started + interval * u32::try_from(i).unwrap_or(u32::MAX))
                .await;
        }
        // Bound what is waiting for acknowledgement so memory stays flat.
        while in_flight.len() >= 10_000 {
            if let Some(result) = in_flight.next().await {
                count(result, &mut delivered, &mut failed, &bar);
            }
        }
        let producer = producer.clone();
        let topic = args.topic.clone();
        in_flight.push(async move {
            let mut headers = rdkafka::message::OwnedHeaders::new();
            for (key, value) in &record.headers {
                headers = headers.insert(rdkafka::message::Header {
                    key,
                    value: Some(value.as_bytes()),
                });
            }
            let mut kafka_record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&topic)
                .payload(record.payload.as_slice())
                .headers(headers);
            if let Some(key) = &record.key {
                kafka_record = kafka_record.key(key.as_slice());
            }
            producer
                .send(kafka_record, Duration::from_secs(600))
                .await
                .map(|_| ())
                .map_err(|(e, _)| e)
        });
    }
    while let Some(result) = in_flight.next().await {
        count(result, &mut delivered, &mut failed, &bar);
    }
    producer
        .flush(Duration::from_secs(30))
        .context("flushing the producer")?;
    bar.finish_and_clear();
    if failed > 0 {
        bail!(
            "{failed} of {total} messages could not be delivered to {}",
            args.topic
        );
    }
    Ok(delivered)
}

fn count(
    result: Result<(), rdkafka::error::KafkaError>,
    delivered: &mut u64,
    failed: &mut u64,
    bar: &ProgressBar,
) {
    match result {
        Ok(()) => *delivered += 1,
        Err(e) => {
            *failed += 1;
            tracing::warn!(error = %e, "delivery failed");
        }
    }
    bar.inc(1);
}

/// Reads the DLQ from the beginning to its current end, prints every selected message and, with
/// `--replay-to`, produces its original key, bytes and headers there (marked with
/// `newsflow.replayed-from`). Error headers are dropped from the replayed copy.
async fn dlq(args: &DlqArgs) -> anyhow::Result<()> {
    use rdkafka::Message;
    use rdkafka::consumer::BaseConsumer;
    use rdkafka::message::{Header, Headers, OwnedHeaders};
    args.kafka.validate().map_err(anyhow::Error::msg)?;
    validate_topic("--dlq-topic", &args.dlq_topic).map_err(anyhow::Error::msg)?;
    if let Some(t) = &args.replay_to {
        validate_topic("--replay-to", t).map_err(anyhow::Error::msg)?;
    }
    let consumer: BaseConsumer = kafka::client_config(
        &args.kafka,
        &[
            ("group.id", "newsflow-dlq-inspect"),
            ("enable.auto.commit", "false"),
        ],
    )
    .create()?;
    let mut ends = assign_whole_topic(&consumer, &args.dlq_topic)?;
    let producer: Option<FutureProducer> = match &args.replay_to {
        Some(_) => Some(kafka::producer(&args.kafka)?),
        None => None,
    };
    if ends.is_empty() {
        eprintln!("{} is empty", args.dlq_topic);
        return Ok(());
    }
    let (mut selected, mut replayed) = (0u64, 0u64);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !ends.is_empty() && selected < args.limit {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "timed out reading {}",
            args.dlq_topic
        );
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message?;
        if ends
            .get(&message.partition())
            .is_some_and(|end| message.offset() + 1 >= *end)
        {
            ends.remove(&message.partition());
        }
        let header = |name: &str| {
            message.headers().and_then(|h| {
                h.iter()
                    .find(|h| h.key == name)
                    .and_then(|h| h.value)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            })
        };
        let class = header("newsflow.error.class");
        if args
            .class
            .as_deref()
            .is_some_and(|c| class.as_deref() != Some(c))
        {
            continue;
        }
        selected += 1;
        let payload = message.payload().unwrap_or_default();
        println!(
            "{}",
            serde_json::json!({
                "partition": message.partition(), "offset": message.offset(),
                "class": class, "reason": header("newsflow.error.reason"),
                "source": format!("{}/{}/{}", header("newsflow.source.topic").unwrap_or_default(),
                    header("newsflow.source.partition").unwrap_or_default(),
                    header("newsflow.source.offset").unwrap_or_default()),
                "service": header("newsflow.service"),
                "bytes": payload.len(),
                "preview": String::from_utf8_lossy(&payload[..payload.len().min(120)]),
            })
        );
        if let (Some(producer), Some(target)) = (&producer, &args.replay_to) {
            let origin = format!(
                "{}/{}/{}",
                args.dlq_topic,
                message.partition(),
                message.offset()
            );
            let mut headers = OwnedHeaders::new();
            if let Some(h) = message.headers() {
                for h in h.iter().filter(|h| !h.key.starts_with("newsflow.")) {
                    headers = headers.insert(Header {
                        key: h.key,
                        value: h.value,
                    });
                }
            }
            headers = headers.insert(Header {
                key: "newsflow.replayed-from",
                value: Some(&origin),
            });
            let mut record: FutureRecord<'_, [u8], [u8]> =
                FutureRecord::to(target).payload(payload).headers(headers);
            if let Some(key) = message.key() {
                record = record.key(key);
            }
            producer
                .send(record, Duration::from_secs(30))
                .await
                .map_err(|(e, _)| e)?;
            replayed += 1;
        }
    }
    match &args.replay_to {
        Some(target) => eprintln!("{selected} selected, {replayed} replayed to {target}"),
        None => eprintln!("{selected} selected"),
    }
    Ok(())
}

/// Assigns `consumer` every non-empty partition of `topic` from its first offset; returns
/// each such partition's end (high watermark) as of now.
fn assign_whole_topic(
    consumer: &rdkafka::consumer::BaseConsumer,
    topic: &str,
) -> anyhow::Result<std::collections::HashMap<i32, i64>> {
    use rdkafka::consumer::Consumer;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut ends = std::collections::HashMap::new();
    let mut tpl = rdkafka::TopicPartitionList::new();
    for t in metadata.topics() {
        for p in t.partitions() {
            let (low, high) = consumer.fetch_watermarks(topic, p.id(), Duration::from_secs(10))?;
            if high > low {
                ends.insert(p.id(), high);
                tpl.add_partition_offset(topic, p.id(), rdkafka::Offset::Offset(low))?;
            }
        }
    }
    if !ends.is_empty() {
        consumer.assign(&tpl)?;
    }
    Ok(ends)
}

/// `drain`: reads the topic to its current end and reports the rate.
fn drain(args: &DrainArgs) -> anyhow::Result<()> {
    use rdkafka::Message;
    use rdkafka::consumer::BaseConsumer;
    args.kafka.validate().map_err(anyhow::Error::msg)?;
    validate_topic("--topic", &args.topic).map_err(anyhow::Error::msg)?;
    let consumer: BaseConsumer = kafka::client_config(
        &args.kafka,
        &[
            ("group.id", "newsflow-drain"),
            ("enable.auto.commit", "false"),
            ("fetch.max.bytes", "52428800"),
            ("max.partition.fetch.bytes", "10485760"),
        ],
    )
    .create()?;
    let mut ends = assign_whole_topic(&consumer, &args.topic)?;
    let started = std::time::Instant::now();
    let (mut messages, mut bytes) = (0u64, 0u64);
    let mut idle = std::time::Instant::now();
    while !ends.is_empty() {
        anyhow::ensure!(
            idle.elapsed() < Duration::from_secs(60),
            "no message from {} for 60 s",
            args.topic
        );
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message?;
        idle = std::time::Instant::now();
        messages += 1;
        bytes += message.payload_len() as u64;
        if ends
            .get(&message.partition())
            .is_some_and(|end| message.offset() + 1 >= *end)
        {
            ends.remove(&message.partition());
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "topic": args.topic,
            "messages": messages,
            "bytes": bytes,
            "seconds": seconds,
            "messages_per_second": messages as f64 / seconds.max(1e-9),
            "mb_per_second": bytes as f64 / 1e6 / seconds.max(1e-9),
        })
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hostile_stream_interleaves_labelled_messages_evenly() {
        let config = HostileConfig {
            seed: 3,
            count: 200,
            huge: 0,
            ..HostileConfig::default()
        };
        let corpus: Vec<HostileMessage> = Hostile::new(config.clone()).collect();
        let stream: Vec<(Option<HostileMessage>, Record)> = hostile_stream(config, 100).collect();
        assert_eq!(stream.len(), 300);
        let hostile: Vec<&(Option<HostileMessage>, Record)> =
            stream.iter().filter(|(m, _)| m.is_some()).collect();
        assert_eq!(hostile.len(), 200);
        // In corpus order, with their bytes, key and labels.
        for ((m, record), original) in hostile.iter().zip(&corpus) {
            let m = m.as_ref().map(|m| m.n);
            assert_eq!(m, Some(original.n));
            assert_eq!(record.payload, original.payload);
            assert_eq!(record.key.as_deref(), Some(original.key.as_bytes()));
            assert!(
                record
                    .headers
                    .contains(&("newsflow.hostile.expected", original.expected.label()))
            );
        }
        // Evenly: two malformed messages to one valid article, never more than 3 in a row.
        let longest_run = stream
            .split(|(m, _)| m.is_none())
            .map(<[_]>::len)
            .max()
            .unwrap_or(0);
        assert!(longest_run <= 3, "{longest_run}");
        // The valid ones are synthetic articles, unkeyed.
        for (_, record) in stream.iter().filter(|(m, _)| m.is_none()) {
            assert!(record.key.is_none());
            let json: serde_json::Value =
                serde_json::from_slice(&record.payload).unwrap_or_default();
            assert!(json["id"].as_str().is_some_and(|id| id.starts_with("syn-")));
        }
    }
}
