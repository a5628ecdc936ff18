//! Rendering report rows as an aligned terminal table, CSV or JSON.

use std::io::Write;

use serde::Serialize;

use crate::query::{
    ActorRow, DailyRow, DlqRow, DuplicateRow, DyadDayRow, DyadRow, EventRecord, EventRow,
    MentionRow, StoryRow,
};

/// Output format of the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for a terminal.
    Table,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// One JSON array of objects.
    Json,
}

/// A row that can be shown as table cells.
pub trait Tabular: Serialize {
    fn headers() -> &'static [&'static str];
    fn cells(&self) -> Vec<String>;
}

fn opt<T: ToString>(v: Option<&T>) -> String {
    v.map(ToString::to_string).unwrap_or_default()
}

/// Goldstein means and similarities with two decimals: enough to compare, short enough to read.
pub fn fixed2(v: f64) -> String {
    format!("{v:.2}")
}

impl Tabular for DailyRow {
    fn headers() -> &'static [&'static str] {
        &[
            "day",
            "root_code",
            "quad_class",
            "country",
            "events",
            "mentions",
            "articles",
            "mean_goldstein",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.day.to_string(),
            format!("{:02}", self.root_code),
            self.quad_class.to_string(),
            opt(self.country.as_ref()),
            self.events.to_string(),
            self.mentions.to_string(),
            self.articles.to_string(),
            fixed2(self.mean_goldstein),
        ]
    }
}

impl Tabular for DyadRow {
    fn headers() -> &'static [&'static str] {
        &[
            "source_code",
            "source_name",
            "target_code",
            "target_name",
            "events",
            "mentions",
            "mean_goldstein",
            "first_day",
            "last_day",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.source_code.clone(),
            self.source_name.clone(),
            self.target_code.clone(),
            opt(self.target_name.as_ref()),
            self.events.to_string(),
            self.mentions.to_string(),
            fixed2(self.mean_goldstein),
            self.first_day.to_string(),
            self.last_day.to_string(),
        ]
    }
}

impl Tabular for DyadDayRow {
    fn headers() -> &'static [&'static str] {
        &[
            "day",
            "source_code",
            "source_name",
            "target_code",
            "target_name",
            "events",
            "mentions",
            "mean_goldstein",
            "cooperative",
            "conflictual",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.day.to_string(),
            self.source_code.clone(),
            self.source_name.clone(),
            self.target_code.clone(),
            opt(self.target_name.as_ref()),
            self.events.to_string(),
            self.mentions.to_string(),
            fixed2(self.mean_goldstein),
            self.cooperative_events.to_string(),
            self.conflictual_events.to_string(),
        ]
    }
}

impl Tabular for ActorRow {
    fn headers() -> &'static [&'static str] {
        &[
            "actor_code",
            "actor_name",
            "actor_country",
            "events",
            "as_source",
            "as_target",
            "mentions",
            "mean_goldstein",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.actor_code.clone(),
            opt(self.actor_name.as_ref()),
            opt(self.actor_country.as_ref()),
            self.events.to_string(),
            self.as_source.to_string(),
            self.as_target.to_string(),
            self.mentions.to_string(),
            fixed2(self.mean_goldstein),
        ]
    }
}

impl Tabular for StoryRow {
    fn headers() -> &'static [&'static str] {
        &[
            "story_id",
            "title",
            "first_seen",
            "last_seen",
            "articles",
            "copies",
            "outlets",
            "events",
            "event_ids",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.story_id.to_string(),
            opt(self.title.as_ref()),
            self.first_seen.format("%Y-%m-%d %H:%M").to_string(),
            self.last_seen.format("%Y-%m-%d %H:%M").to_string(),
            self.articles.to_string(),
            self.copy_count.to_string(),
            self.outlets.join(" "),
            self.events.to_string(),
            self.event_ids.join(" "),
        ]
    }
}

impl Tabular for EventRow {
    fn headers() -> &'static [&'static str] {
        &[
            "event_id",
            "date",
            "source",
            "target",
            "code",
            "quad",
            "goldstein",
            "place",
            "mentions",
            "articles",
            "sources",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.event_id.clone(),
            self.event_date.to_string(),
            self.source_code.clone(),
            opt(self.target_code.as_ref()),
            self.cameo_code.clone(),
            self.quad_class.to_string(),
            fixed2(f64::from(self.goldstein)),
            opt(self.place_country.as_ref()),
            self.num_mentions.to_string(),
            self.num_articles.to_string(),
            self.num_sources.to_string(),
        ]
    }
}

impl Tabular for MentionRow {
    fn headers() -> &'static [&'static str] {
        &[
            "mention_id",
            "article_id",
            "outlet",
            "sentence_no",
            "in_title",
            "is_copy",
            "confidence",
            "action",
            "sentence",
            "url",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.mention_id.to_string(),
            self.article_id.to_string(),
            opt(self.outlet.as_ref()),
            self.sentence_no.to_string(),
            self.in_title.to_string(),
            self.is_copy.to_string(),
            fixed2(f64::from(self.confidence)),
            self.action_text.clone(),
            self.sentence.clone(),
            opt(self.url.as_ref()),
        ]
    }
}

impl Tabular for DuplicateRow {
    fn headers() -> &'static [&'static str] {
        &["day", "duplicate_kind", "articles", "mean_similarity"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.day.to_string(),
            self.duplicate_kind.clone(),
            self.articles.to_string(),
            self.mean_similarity.map(fixed2).unwrap_or_default(),
        ]
    }
}

impl Tabular for DlqRow {
    fn headers() -> &'static [&'static str] {
        &[
            "day",
            "error_class",
            "messages",
            "payload_bytes",
            "sample_reason",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.day.to_string(),
            self.error_class.clone(),
            self.messages.to_string(),
            self.payload_bytes.to_string(),
            self.sample_reason.clone(),
        ]
    }
}

/// True for cells that read as numbers, which are right-aligned.
fn numeric(cell: &str) -> bool {
    !cell.is_empty() && cell.parse::<f64>().is_ok()
}

/// Longest cell shown in a terminal table; longer text (sentences, URL lists) is cut with `…`.
const MAX_CELL: usize = 60;

fn clip(cell: &str) -> String {
    let flat = cell.replace(['\n', '\t'], " ");
    if flat.chars().count() <= MAX_CELL {
        flat
    } else {
        let mut s: String = flat.chars().take(MAX_CELL - 1).collect();
        s.push('…');
        s
    }
}

/// Writes `headers` and `rows` as space-aligned columns, numbers right-aligned.
pub fn write_table(
    out: &mut impl Write,
    headers: &[&str],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| clip(c)).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String], header: bool| -> String {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            let pad = w.saturating_sub(cell.chars().count());
            if !header && numeric(cell) {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(pad));
            }
        }
        s.trim_end().to_owned()
    };
    let header_cells: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    writeln!(out, "{}", line(&header_cells, true))?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    writeln!(out, "{}", line(&rule, true))?;
    for row in &rows {
        writeln!(out, "{}", line(row, false))?;
    }
    writeln!(
        out,
        "({} row{})",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    )
}

/// Writes rows in the chosen format.
pub fn write_rows<T: Tabular>(
    out: &mut impl Write,
    format: Format,
    rows: &[T],
) -> anyhow::Result<()> {
    match format {
        Format::Table => {
            let cells: Vec<Vec<String>> = rows.iter().map(Tabular::cells).collect();
            write_table(out, T::headers(), &cells)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(T::headers())?;
            for row in rows {
                w.write_record(row.cells())?;
            }
            w.flush()?;
        }
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, rows)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

/// Writes one event's record: its fields, then its mentions.
pub fn write_event(
    out: &mut impl Write,
    format: Format,
    record: &EventRecord,
) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, record)?;
            writeln!(out)?;
        }
        Format::Csv => write_rows(out, format, &record.mentions)?,
        Format::Table => {
            let e = &record.event;
            let fields: Vec<(&str, String)> = vec![
                ("event_id", e.event_id.clone()),
                ("date", format!("{} ({})", e.event_date, e.date_precision)),
                ("source", format!("{} ({})", e.source_code, e.source_name)),
                (
                    "target",
                    match (&e.target_code, &e.target_name) {
                        (Some(c), Some(n)) => format!("{c} ({n})"),
                        (Some(c), None) => c.clone(),
                        _ => String::new(),
                    },
                ),
                (
                    "cameo_code",
                    format!(
                        "{} (root {:02}, quad class {}, PLOVER {})",
                        e.cameo_code, e.root_code, e.quad_class, e.plover
                    ),
                ),
                ("goldstein", fixed2(f64::from(e.goldstein))),
                (
                    "place",
                    format!(
                        "{} {}",
                        opt(e.place_name.as_ref()),
                        opt(e.place_country.as_ref())
                    )
                    .trim()
                    .to_owned(),
                ),
                (
                    "counts",
                    format!(
                        "{} mentions, {} articles, {} sources",
                        e.num_mentions, e.num_articles, e.num_sources
                    ),
                ),
                ("story", opt(e.story_id.as_ref())),
            ];
            for (k, v) in fields {
                writeln!(out, "{k:>10}  {v}")?;
            }
            writeln!(out)?;
            write_rows(out, format, &record.mentions)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_and_right_aligns_numbers() -> std::io::Result<()> {
        let mut out = Vec::new();
        write_table(
            &mut out,
            &["code", "events"],
            &[
                vec!["RUSGOV".into(), "3".into()],
                vec!["PRK".into(), "12".into()],
            ],
        )?;
        let text = String::from_utf8_lossy(&out);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "code    events");
        assert_eq!(lines[2], "RUSGOV       3");
        assert_eq!(lines[3], "PRK         12");
        assert_eq!(lines[4], "(2 rows)");
        Ok(())
    }
}
