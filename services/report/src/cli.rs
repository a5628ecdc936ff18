//! Runs the one-shot subcommands: connect, validate, query, print. Exit codes: 0 success,
//! 1 a database or I/O failure, 2 a bad argument (the message names the flag).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use newsflow_runtime::config::DbArgs;
use newsflow_runtime::db;
use sqlx::PgPool;

use crate::chart;
use crate::config::Command;
use crate::filters::{Bounds, FilterError, RawFilters, parse_date};
use crate::gdelt;
use crate::output::{self, Format};
use crate::query;

/// A failure, sorted by whose it is.
enum Failure {
    Usage(String),
    Runtime(anyhow::Error),
}

impl From<FilterError> for Failure {
    fn from(e: FilterError) -> Self {
        Failure::Usage(format!("invalid value for {}: {}", e.flag(), e.message))
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Runtime(e)
    }
}

/// Runs a one-shot subcommand (everything but `serve`) and reports its outcome.
pub fn main(command: Command) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn connect(args: &DbArgs) -> Result<PgPool, Failure> {
    args.validate().map_err(Failure::Usage)?;
    let pool = db::connect(args, Duration::from_secs(5))
        .await
        .context("connecting to Postgres")?;
    Ok(pool)
}

fn print_rows<T: output::Tabular>(format: Format, rows: &[T]) -> Result<(), Failure> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    output::write_rows(&mut out, format, rows).context("writing the report")?;
    out.flush().context("writing the report")?;
    Ok(())
}

fn validate(raw: &RawFilters) -> Result<crate::filters::Filters, Failure> {
    Ok(raw.validate(Bounds::CLI)?)
}

async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::EventsDaily(q) => {
            let f = validate(&q.filters.raw())?;
            let pool = connect(&q.db).await?;
            let rows = query::events_daily(&pool, &f)
                .await
                .map_err(anyhow::Error::from)?;
            print_rows(q.format, &rows)
        }
        Command::Dyads(q) => {
            let f = validate(&q.filters.raw())?;
            let pool = connect(&q.db).await?;
            let rows = query::dyads(&pool, &f).await.map_err(anyhow::Error::from)?;
            print_rows(q.format, &rows)
        }
        Command::DyadsDaily(q) => {
            let f = validate(&q.filters.raw())?;
            let pool = connect(&q.db).await?;
            let rows = query::dyads_daily(&pool, &f)
                .await
                .map_err(anyhow::Error::from)?;
            print_rows(q.format, &rows)
        }
        Command::Actors(q) => {
            let f = validate(&q.filters.raw())?;
            let pool = connect(&q.db).await?;
            let rows = query::actors(&pool, &f)
                .await
                .map_err(anyhow::Error::from)?;
            print_rows(q.format, &rows)
        }
        Command::Events(q) => {
            let f = validate(&q.filters.raw())?;
            let pool = connect(&q.db).await?;
            let rows = query::events(&pool, &f)
                .await
                .map_err(anyhow::Error::from)?;
            print_rows(q.format, &rows)
        }
        Command::Event(q) => {
            let id = q.id.trim();
            if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(Failure::Usage(format!(
                    "invalid value for <ID>: expected an event id of letters and digits, got {id:?}"
                )));
            }
            let pool = connect(&q.db).await?;
            let record = query::event(&pool, id).await.map_err(anyhow::Error::from)?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            output::write_event(&mut out, q.format, &record).context("writing the report")?;
            Ok(())
        }
        Command::Stories(q) => {
            let f = validate(&q.raw())?;
            let pool = connect(&q.db).await?;
            let rows = query::stories(&pool, &f)
                .await
                .map_err(anyhow::Error::from)?;
            print_rows(q.format, &rows)
        }
        Command::Duplicates(q) => {
            let f = validate(&q.raw())?;
            let pool = connect(&q.db).await?;
            let rows = query::duplicates(&pool, &f)
                .await
                .map_err(anyhow::Error::from)?;
            print_rows(q.format, &rows)
        }
        Command::Dlq(q) => {
            let f = validate(&q.raw())?;
            let pool = connect(&q.db).await?;
            let rows = query::dlq(&pool, &f).await.map_err(anyhow::Error::from)?;
            print_rows(q.format, &rows)
        }
        Command::ExportGdelt(a) => {
            let from = parse_date("from", &a.from)?;
            let to = parse_date("to", &a.to)?;
            if from > to {
                return Err(
                    FilterError::new("from", format!("{from} is after --to ({to})")).into(),
                );
            }
            let pool = connect(&a.db).await?;
            let summary = gdelt::export(&pool, from, to, &a.out_dir)
                .await
                .map_err(anyhow::Error::from)?;
            println!(
                "wrote {} events and {} mentions to {} files in {}",
                summary.events,
                summary.mentions,
                summary.files.len(),
                a.out_dir.display()
            );
            Ok(())
        }
        Command::Chart(a) => {
            let f = validate(&a.filters.raw())?;
            let ext = a
                .out
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            if !matches!(ext.as_deref(), Some("png" | "svg")) {
                return Err(Failure::Usage(format!(
                    "invalid value for --out: the file must end in .png or .svg, got {}",
                    a.out.display()
                )));
            }
            // Fail on a missing font before touching the database.
            chart::ensure_font().map_err(anyhow::Error::from)?;
            let pool = connect(&a.db).await?;
            let data = chart::load(&pool, a.kind, &f)
                .await
                .map_err(anyhow::Error::from)?;
            chart::render_file(&data, &f, &a.out).map_err(anyhow::Error::from)?;
            println!("wrote {}", a.out.display());
            Ok(())
        }
        Command::Serve(_) | Command::Migrate(_) => Err(Failure::Runtime(anyhow::anyhow!(
            "serve and migrate run through the service frame, not the one-shot CLI"
        ))),
    }
}
