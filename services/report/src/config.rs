//! The command line: one subcommand per report, the GDELT export, charts and the HTTP server.
//! Filter values are taken as text and validated by [`crate::filters`], so the command line
//! and the HTTP API accept and reject exactly the same values with the same messages.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use newsflow_runtime::config::{DbArgs, OpsArgs};

use crate::chart::ChartKind;
use crate::filters::RawFilters;
use crate::output::Format;

#[derive(Debug, Parser)]
#[command(
    name = "newsflow-report",
    version,
    about = "Reports over newsflow's Postgres: tables, CSV/JSON, charts, a GDELT export and an HTTP API",
    long_about = "Reports over newsflow's Postgres: tables, CSV/JSON, charts, a GDELT export and an HTTP API.\n\
                  In deployment, connect as a login role granted newsflow_analyst (read-only)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Events per day by CAMEO root code, quad class and country.
    EventsDaily(EventQuery),
    /// The busiest dyads (source → target) with counts and mean Goldstein score.
    Dyads(EventQuery),
    /// Dyads over time: one row per dyad and day, by day, then busiest first.
    DyadsDaily(EventQuery),
    /// The most active actors, as source and as target.
    Actors(EventQuery),
    /// Individual events, most mentioned first.
    Events(EventQuery),
    /// One event's full record: every mention with its sentence, outlet and URL.
    Event(EventIdQuery),
    /// Stories with their articles, outlets and events.
    Stories(StoryQuery),
    /// Articles per day by duplicate kind.
    Duplicates(DayQuery),
    /// Rejected (dead-lettered) messages per day by error class.
    Dlq(DayQuery),
    /// Write GDELT 2.0-compatible YYYYMMDD000000.export.CSV / .mentions.CSV files per event day.
    ExportGdelt(ExportArgs),
    /// Render a chart to a .png or .svg file.
    Chart(ChartArgs),
    /// Serve the reports as a JSON API, SVG charts and an HTML page.
    Serve(Box<ServeArgs>),
    /// Apply the database migrations and exit (needs a role that may run DDL, not the analyst).
    Migrate(DbArgs),
}

/// Filters on events.
#[derive(Debug, Clone, Args)]
pub struct EventFilterArgs {
    /// First event day, inclusive (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// Last event day, inclusive (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
    /// CAMEO actor code or prefix, as source or target (RUS, RUSGOV).
    #[arg(long)]
    pub actor: Option<String>,
    /// ISO-3 country of the source, the target or the place (PRK).
    #[arg(long)]
    pub country: Option<String>,
    /// CAMEO event code prefix (05 = root code, 057 = exact code).
    #[arg(long)]
    pub code: Option<String>,
    /// Quad class: 1 verbal coop., 2 material coop., 3 verbal conflict, 4 material conflict.
    #[arg(long = "quad-class")]
    pub quad_class: Option<String>,
    /// Story id: events first reported in this story or mentioned by any of its articles.
    #[arg(long)]
    pub story: Option<String>,
    /// Largest number of rows (default 100, at most 10000).
    #[arg(long)]
    pub limit: Option<String>,
}

impl EventFilterArgs {
    pub fn raw(&self) -> RawFilters {
        RawFilters {
            from: self.from.clone(),
            to: self.to.clone(),
            actor: self.actor.clone(),
            country: self.country.clone(),
            code: self.code.clone(),
            quad_class: self.quad_class.clone(),
            story: self.story.clone(),
            limit: self.limit.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct EventQuery {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub filters: EventFilterArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct EventIdQuery {
    #[command(flatten)]
    pub db: DbArgs,
    /// The event id (32 hex digits, as in events.event_id).
    pub id: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct StoryQuery {
    #[command(flatten)]
    pub db: DbArgs,
    /// Stories seen on or after this day (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// Stories seen on or before this day (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
    /// One story by id.
    #[arg(long)]
    pub story: Option<String>,
    /// Largest number of rows (default 100, at most 10000).
    #[arg(long)]
    pub limit: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

impl StoryQuery {
    pub fn raw(&self) -> RawFilters {
        RawFilters {
            from: self.from.clone(),
            to: self.to.clone(),
            story: self.story.clone(),
            limit: self.limit.clone(),
            ..RawFilters::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct DayQuery {
    #[command(flatten)]
    pub db: DbArgs,
    /// First day (UTC), inclusive (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day (UTC), inclusive (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
    /// Largest number of rows (default 100, at most 10000).
    #[arg(long)]
    pub limit: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

impl DayQuery {
    pub fn raw(&self) -> RawFilters {
        RawFilters {
            from: self.from.clone(),
            to: self.to.clone(),
            limit: self.limit.clone(),
            ..RawFilters::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// First event day, inclusive (YYYY-MM-DD).
    #[arg(long)]
    pub from: String,
    /// Last event day, inclusive (YYYY-MM-DD).
    #[arg(long)]
    pub to: String,
    /// Directory for the .export.CSV and .mentions.CSV files (created if missing).
    #[arg(long = "out-dir")]
    pub out_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ChartArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Which chart.
    #[arg(value_enum)]
    pub kind: ChartKind,
    /// Output file, .png or .svg.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub filters: EventFilterArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub ops: OpsArgs,
    /// Address of the report API and HTML page.
    #[arg(
        long = "listen",
        env = "NEWSFLOW_REPORT_LISTEN",
        default_value = "0.0.0.0:8080"
    )]
    pub listen: SocketAddr,
}
