//! Postgres pool, the embedded migrations, and start-up checks.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

use crate::config::{DbArgs, redact_url};

/// The schema, compiled into every binary so a service can check (or apply) it without files.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// Errors setting up the database connection.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("DATABASE_URL {url} is invalid: {source}")]
    BadUrl { url: String, source: sqlx::Error },
    #[error("cannot connect to Postgres at {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "the database schema is at version {found:?} but this binary needs {expected}; run `migrate` first"
    )]
    SchemaBehind { found: Option<i64>, expected: i64 },
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// Opens a pool, retrying for up to `wait` while Postgres is starting.
pub async fn connect(args: &DbArgs, wait: Duration) -> Result<PgPool, DbError> {
    let url = redact_url(&args.database_url);
    let mut options: PgConnectOptions =
        args.database_url
            .parse()
            .map_err(|source| DbError::BadUrl {
                url: url.clone(),
                source,
            })?;
    options = options.log_statements(tracing::log::LevelFilter::Trace);
    if args.statement_timeout_ms > 0 {
        options = options.options([("statement_timeout", args.statement_timeout_ms.to_string())]);
    }
    let deadline = tokio::time::Instant::now() + wait;
    let mut backoff = Duration::from_millis(200);
    loop {
        let attempt = PgPoolOptions::new()
            .max_connections(args.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await;
        match attempt {
            Ok(pool) => return Ok(pool),
            Err(source) if tokio::time::Instant::now() >= deadline => {
                return Err(DbError::Connect { url, source });
            }
            Err(e) => {
                tracing::warn!(error = %e, url = %url, "Postgres not reachable yet, retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Applies every pending migration (the `migrate` subcommand and tests).
pub async fn migrate(pool: &PgPool) -> Result<(), DbError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Fails unless the database carries every migration this binary knows, so a service never
/// writes into a schema it does not understand.
pub async fn check_schema(pool: &PgPool) -> Result<(), DbError> {
    let expected = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let found: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await
            .unwrap_or(None);
    if found.is_some_and(|v| v >= expected) {
        Ok(())
    } else {
        Err(DbError::SchemaBehind { found, expected })
    }
}

/// True when the error is worth retrying (connection trouble, serialisation or deadlock
/// aborts, timeouts) rather than a bug or bad data.
pub fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => {
            matches!(
                db.code().as_deref(),
                // serialization_failure, deadlock_detected, query_canceled (statement timeout),
                // admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections,
                // unique_violation (a racing replica won; re-reading resolves it)
                Some("40001" | "40P01" | "57014" | "57P01" | "57P02" | "57P03" | "53300" | "23505")
            ) || db.code().is_some_and(|c| c.starts_with("08"))
        }
        _ => false,
    }
}
