//! `newsflow-extract code FILE`: the service's coder over a JSONL file, offline. Input lines
//! are articles (`id`, `url`, `title`, `text` or `body`, `published_at`, `source`) or single
//! sentences (`id`, `text`, `date`). Output: one JSON line per coded event mention, in input
//! order; after each article's mentions, one `{"id", "story_id"}` line with the story it was
//! assigned to. Inputs with no event produce no mention line. A symmetric act (meet,
//! negotiate, sign, cooperate: `data/verbs/cameo.tsv` pairing) is one line per pair of actors,
//! `source`/`target` in canonical order (country codes sorted: "Russia and North Korea signed"
//! → PRK → RUS), so every report of it carries the same `event_id`.

use std::io::{BufRead, BufWriter, Write};
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, Utc};
use newsflow_core::article::{Limits, parse_article};
use newsflow_core::coding::{Coder, Document, Mention};
use newsflow_core::stories::{StoryIndex, StoryParams, signature};
use serde::Serialize;
use serde_json::Value;

use crate::config::CodeArgs;

/// One output line per mention.
#[derive(Serialize)]
struct MentionLine<'a> {
    id: &'a Value,
    event_id: String,
    date: NaiveDate,
    source: ActorOut<'a>,
    target: Option<ActorOut<'a>>,
    cameo: &'a str,
    root: u8,
    quad_class: u8,
    goldstein: f32,
    plover: &'a str,
    place: Option<&'a newsflow_core::coding::Place>,
    sentence_no: usize,
    sentence: &'a str,
    action: &'a str,
    confidence: f32,
}

#[derive(Serialize)]
struct ActorOut<'a> {
    code: &'a str,
    name: &'a str,
    country: Option<&'a str>,
}

impl<'a> From<&'a newsflow_core::coding::Actor> for ActorOut<'a> {
    fn from(a: &'a newsflow_core::coding::Actor) -> Self {
        Self {
            code: &a.code,
            name: &a.name,
            country: a.country.as_deref(),
        }
    }
}

/// An input line the coder can read.
struct Input {
    id: Value,
    title: Option<String>,
    text: String,
    published: NaiveDate,
    is_article: bool,
}

fn text_field<'a>(v: &'a Value, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| v.get(*n).and_then(Value::as_str))
        .filter(|s| !s.trim().is_empty())
}

fn parse_date(raw: &str) -> Option<NaiveDate> {
    DateTime::parse_from_rfc3339(raw)
        .map(|d| d.with_timezone(&Utc).date_naive())
        .ok()
        .or_else(|| NaiveDate::parse_from_str(raw.get(..10)?, "%Y-%m-%d").ok())
}

fn parse_input(line: &[u8]) -> Result<Input, String> {
    let v: Value = serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
    if !v.is_object() {
        return Err("not a JSON object".into());
    }
    let id = v
        .get("id")
        .cloned()
        .or_else(|| v.get("url").cloned())
        .unwrap_or(Value::Null);
    let is_article = ["url", "title", "published_at", "date_publish"]
        .iter()
        .any(|k| v.get(*k).is_some());
    if is_article {
        // Articles go through the same parsing and normalisation as in the pipeline.
        let article = parse_article(line, &Limits::default()).map_err(|r| r.to_string())?;
        let published = match article.published_at {
            Some(at) => at.date_naive(),
            None => Utc::now().date_naive(),
        };
        return Ok(Input {
            id,
            title: article.title,
            text: article.text,
            published,
            is_article,
        });
    }
    let text = text_field(&v, &["text", "body"]).ok_or("no text")?;
    let published = match text_field(&v, &["date", "published_at"]) {
        Some(d) => parse_date(d).ok_or_else(|| format!("unreadable date {d:?}"))?,
        None => Utc::now().date_naive(),
    };
    Ok(Input {
        id,
        title: None,
        text: text.to_owned(),
        published,
        is_article,
    })
}

fn write_mentions(out: &mut impl Write, id: &Value, mentions: &[Mention]) -> std::io::Result<()> {
    for m in mentions {
        let line = MentionLine {
            id,
            event_id: m.event_id(),
            date: m.date,
            source: (&m.source).into(),
            target: m.target.as_ref().map(Into::into),
            cameo: &m.cameo,
            root: m.root,
            quad_class: m.quad_class,
            goldstein: m.goldstein,
            plover: &m.plover,
            place: m.place.as_ref(),
            sentence_no: m.sentence_no,
            sentence: &m.sentence,
            action: &m.action_text,
            confidence: m.confidence,
        };
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Codes every non-blank line of `input`. Unreadable lines are reported on stderr and skipped.
pub fn code(coder: &Coder, input: impl BufRead, out: &mut impl Write) -> std::io::Result<usize> {
    let params = StoryParams::default();
    let mut stories = StoryIndex::new(params.clone());
    let mut skipped = 0;
    for (n, line) in input.split(b'\n').enumerate() {
        let line = line?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let input = match parse_input(&line) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("line {}: skipped: {e}", n + 1);
                skipped += 1;
                continue;
            }
        };
        let doc = Document {
            title: input.title.as_deref(),
            text: &input.text,
            published: input.published,
        };
        let mentions = coder.code(&doc);
        write_mentions(out, &input.id, &mentions)?;
        if input.is_article {
            let sig = signature(input.title.as_deref(), &input.text, &mentions, &params);
            let story_id = stories.add(&sig, input.published);
            serde_json::to_writer(
                &mut *out,
                &serde_json::json!({"id": input.id, "story_id": story_id}),
            )?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(skipped)
}

/// Runs the offline coder; exit code 1 on I/O errors or bad settings.
pub fn main(args: &CodeArgs) -> ExitCode {
    let coder = match crate::load_coder(args.dictionaries.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let input = match newsflow_runtime::input::open(&args.file) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match code(&coder, input, &mut out) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
