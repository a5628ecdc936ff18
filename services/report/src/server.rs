//! `serve`: the reports as a JSON API, SVG charts and one server-rendered HTML page, plus the
//! shared admin server (/healthz, /readyz, /metrics) on its own port.
//!
//! Every parameter is validated and bounded (limit ≤ 1000, date range ≤ 366 days); a bad one
//! is answered with 400 and `{"error": …, "parameter": …}`. Without dates, a query covers the
//! 30 days up to the newest event.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use newsflow_runtime::Shutdown;
use newsflow_runtime::admin::{self, Health};
use newsflow_runtime::db;
use serde::Serialize;
use serde_json::json;
use sqlx::PgPool;

use crate::chart::{self, ChartKind, QUAD_CLASS_NAMES};
use crate::config::ServeArgs;
use crate::filters::{API_MAX_RANGE_DAYS, Bounds, FilterError, Filters, RawFilters};
use crate::output::Tabular;
use crate::query::{self, QueryError};

/// Days covered when a request names no dates.
pub const DEFAULT_RANGE_DAYS: u64 = 30;

#[derive(Clone)]
struct AppState {
    pool: PgPool,
}

/// What a client is told when a query fails: the cause (SQL text, relation and column names)
/// goes to the log only.
pub const INTERNAL_ERROR_MESSAGE: &str =
    "the report could not be produced; the server log has the details";

/// An error response: 400 names the parameter, 404 the missing thing, 500 says what failed in
/// words meant for the client (the details are logged where the failure is converted).
#[derive(Debug)]
enum ApiError {
    BadParameter(FilterError),
    NotFound(String),
    Internal(&'static str),
}

impl From<FilterError> for ApiError {
    fn from(e: FilterError) -> Self {
        ApiError::BadParameter(e)
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::EventNotFound(_) => ApiError::NotFound(e.to_string()),
            QueryError::Sql(_) => {
                tracing::error!(error = %e, "report query failed");
                ApiError::Internal(INTERNAL_ERROR_MESSAGE)
            }
        }
    }
}

impl From<chart::ChartError> for ApiError {
    fn from(e: chart::ChartError) -> Self {
        match e {
            chart::ChartError::Query(e) => e.into(),
            // Says which font to install; names no database object.
            chart::ChartError::NoFont(_) => {
                tracing::error!(error = %e, "chart failed");
                ApiError::Internal(
                    "charts are unavailable: the server has no chart font (install fonts-dejavu-core or set NEWSFLOW_CHART_FONT)",
                )
            }
            chart::ChartError::Extension(_) | chart::ChartError::Draw(_) => {
                tracing::error!(error = %e, "chart failed");
                ApiError::Internal(INTERNAL_ERROR_MESSAGE)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::BadParameter(e) => (
                StatusCode::BAD_REQUEST,
                json!({"error": e.to_string(), "parameter": e.parameter}),
            ),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, json!({"error": m})),
            ApiError::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, json!({"error": m})),
        };
        (status, axum::Json(body)).into_response()
    }
}

type Params = Query<Vec<(String, String)>>;

/// Takes the query string apart; parameters the endpoint does not know are refused.
fn raw_filters(
    params: &[(String, String)],
    allowed: &[&'static str],
) -> Result<RawFilters, FilterError> {
    let mut raw = RawFilters::default();
    for (key, value) in params {
        let Some(name) = allowed.iter().find(|a| **a == key.as_str()) else {
            return Err(FilterError::new(
                "query",
                format!(
                    "unknown parameter {key:?}; this endpoint takes {}",
                    allowed.join(", ")
                ),
            ));
        };
        let slot = match *name {
            "from" => &mut raw.from,
            "to" => &mut raw.to,
            "actor" => &mut raw.actor,
            "country" => &mut raw.country,
            "code" => &mut raw.code,
            "quad_class" => &mut raw.quad_class,
            "story" => &mut raw.story,
            "limit" => &mut raw.limit,
            _ => continue,
        };
        *slot = Some(value.clone());
    }
    Ok(raw)
}

const EVENT_PARAMS: &[&str] = &[
    "from",
    "to",
    "actor",
    "country",
    "code",
    "quad_class",
    "story",
    "limit",
];
const STORY_PARAMS: &[&str] = &["from", "to", "story", "limit"];
const DAY_PARAMS: &[&str] = &["from", "to", "limit"];

/// Validated filters with the default date range filled in.
async fn filters(
    pool: &PgPool,
    params: &[(String, String)],
    allowed: &[&'static str],
) -> Result<Filters, ApiError> {
    let mut f = raw_filters(params, allowed)?.validate(Bounds::API)?;
    if f.from.is_none() || f.to.is_none() {
        let latest = if f.from.is_none() && f.to.is_none() {
            query::latest_event_date(pool).await?
        } else {
            None
        };
        f.default_range(
            latest.unwrap_or_else(|| Utc::now().date_naive()),
            DEFAULT_RANGE_DAYS,
        )?;
    }
    Ok(f)
}

fn observe(route: &'static str, started: Instant) {
    metrics::counter!("report_http_requests_total", "route" => route).increment(1);
    metrics::histogram!("report_http_request_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
}

#[derive(Serialize)]
struct Answer<T: Serialize> {
    filters: Filters,
    rows: Vec<T>,
}

macro_rules! list_endpoint {
    ($name:ident, $route:literal, $params:expr, $query:path) => {
        async fn $name(
            State(s): State<AppState>,
            Query(params): Params,
        ) -> Result<Response, ApiError> {
            let started = Instant::now();
            let f = filters(&s.pool, &params, $params).await?;
            let rows = $query(&s.pool, &f).await?;
            observe($route, started);
            Ok(axum::Json(Answer { filters: f, rows }).into_response())
        }
    };
}

list_endpoint!(
    api_events_daily,
    "/api/events/daily",
    EVENT_PARAMS,
    query::events_daily
);
list_endpoint!(api_dyads, "/api/dyads", EVENT_PARAMS, query::dyads);
list_endpoint!(
    api_dyads_daily,
    "/api/dyads/daily",
    EVENT_PARAMS,
    query::dyads_daily
);
list_endpoint!(api_actors, "/api/actors", EVENT_PARAMS, query::actors);
list_endpoint!(api_events, "/api/events", EVENT_PARAMS, query::events);
list_endpoint!(api_stories, "/api/stories", STORY_PARAMS, query::stories);
list_endpoint!(
    api_duplicates,
    "/api/duplicates",
    DAY_PARAMS,
    query::duplicates
);
list_endpoint!(api_dlq, "/api/dlq", DAY_PARAMS, query::dlq);

async fn api_event(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(FilterError::new(
            "id",
            format!("expected an event id of letters and digits, got {id:?}"),
        )
        .into());
    }
    let record = query::event(&s.pool, &id).await?;
    observe("/api/events/{id}", started);
    Ok(axum::Json(record).into_response())
}

async fn chart_svg(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let kind = name
        .strip_suffix(".svg")
        .and_then(ChartKind::parse)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no chart {name:?}; try timeline.svg, dyads.svg or actors.svg"
            ))
        })?;
    let f = filters(&s.pool, &params, EVENT_PARAMS).await?;
    let data = chart::load(&s.pool, kind, &f).await?;
    let svg = tokio::task::spawn_blocking(move || chart::render_svg(&data, &f))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "chart task failed");
            ApiError::Internal(INTERNAL_ERROR_MESSAGE)
        })??;
    observe("/charts/{name}", started);
    Ok((
        [
            ("content-type", "image/svg+xml"),
            ("cache-control", "no-store"),
        ],
        svg,
    )
        .into_response())
}

fn esc(s: &str) -> String {
    html_escape::encode_text(s).into_owned()
}

fn attr(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(s).into_owned()
}

/// An HTML table of rows.
fn html_table<T: Tabular>(out: &mut String, id: &str, title: &str, rows: &[T]) {
    let _ = write!(
        out,
        "<section id=\"{id}\"><h2>{} <small>({} rows)</small></h2>",
        esc(title),
        rows.len()
    );
    if rows.is_empty() {
        out.push_str("<p class=\"empty\">No rows for these filters.</p></section>");
        return;
    }
    out.push_str("<table><thead><tr>");
    for h in T::headers() {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row.cells() {
            let class = if !cell.is_empty() && cell.parse::<f64>().is_ok() {
                " class=\"n\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{}</td>", esc(&cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></section>");
}

/// The query string that reproduces `f` (values are validated, so they need no escaping
/// beyond what `attr` does in HTML).
fn query_string(f: &Filters) -> String {
    let mut parts = Vec::new();
    if let Some(v) = f.from {
        parts.push(format!("from={v}"));
    }
    if let Some(v) = f.to {
        parts.push(format!("to={v}"));
    }
    if let Some(v) = &f.actor {
        parts.push(format!("actor={v}"));
    }
    if let Some(v) = &f.country {
        parts.push(format!("country={v}"));
    }
    if let Some(v) = &f.code {
        parts.push(format!("code={v}"));
    }
    if let Some(v) = f.quad_class {
        parts.push(format!("quad_class={v}"));
    }
    if let Some(v) = f.story {
        parts.push(format!("story={v}"));
    }
    parts.join("&")
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:24px;color:#222;background:#fff}\
h1{margin:0 0 12px}h2{font-size:18px;margin:24px 0 8px}h2 small{color:#777;font-weight:normal}\
form{display:flex;flex-wrap:wrap;gap:10px;align-items:end;padding:12px;background:#f3f5f8;border:1px solid #d5dbe3}\
label{display:flex;flex-direction:column;font-size:13px}input,select{padding:4px;font-size:14px}\
.charts{display:grid;grid-template-columns:1fr 1fr;gap:12px;margin:12px 0}\
.charts img{display:block;width:100%;height:auto;border:1px solid #ddd}\
.charts img#chart-timeline{grid-column:1 / span 2;max-width:900px}\
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}\
th{background:#e8ecf2}td.n{text-align:right}.error{color:#b00;font-weight:bold}.empty{color:#777}";

fn form(out: &mut String, p: &[(String, String)]) {
    let get = |k: &str| {
        p.iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    out.push_str("<form method=\"get\" action=\"/\">");
    for (name, label, kind, hint) in [
        ("from", "From", "date", ""),
        ("to", "To", "date", ""),
        ("actor", "Actor code", "text", "e.g. RUS, RUSGOV"),
        ("country", "Country", "text", "e.g. PRK"),
        ("code", "CAMEO code", "text", "e.g. 05, 057"),
        ("story", "Story", "number", "story id"),
        ("limit", "Rows", "number", "max 1000"),
    ] {
        let _ = write!(
            out,
            "<label>{label}<input type=\"{kind}\" name=\"{name}\" value=\"{}\" placeholder=\"{hint}\"></label>",
            attr(get(name))
        );
    }
    out.push_str("<label>Quad class<select name=\"quad_class\"><option value=\"\">all</option>");
    for (i, q) in QUAD_CLASS_NAMES.iter().enumerate() {
        let v = (i + 1).to_string();
        let selected = if get("quad_class") == v {
            " selected"
        } else {
            ""
        };
        let _ = write!(out, "<option value=\"{v}\"{selected}>{}</option>", esc(q));
    }
    out.push_str("</select></label><button type=\"submit\">Show</button></form>");
}

async fn page(State(s): State<AppState>, Query(params): Params) -> Response {
    let started = Instant::now();
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>newsflow reports</title><style>");
    out.push_str(STYLE);
    out.push_str("</style></head><body><h1>newsflow reports</h1>");
    form(&mut out, &params);
    let result = async {
        let f = filters(&s.pool, &params, EVENT_PARAMS).await?;
        // The duplicate and DLQ tables take the date range only; the stories table also the
        // story, as /api/stories does.
        let day_filters = Filters {
            from: f.from,
            to: f.to,
            limit: f.limit,
            ..Filters::default()
        };
        let story_filters = Filters {
            story: f.story,
            ..day_filters.clone()
        };
        // Independent reads: run them side by side on the pool, so the page takes as long as
        // its slowest table rather than their sum.
        let (events, dyads, actors, daily, stories, duplicates, dlq) = tokio::try_join!(
            query::events(&s.pool, &f),
            query::dyads(&s.pool, &f),
            query::actors(&s.pool, &f),
            query::events_daily(&s.pool, &f),
            query::stories(&s.pool, &story_filters),
            query::duplicates(&s.pool, &day_filters),
            query::dlq(&s.pool, &day_filters),
        )?;
        Ok::<_, ApiError>((f, events, dyads, actors, daily, stories, duplicates, dlq))
    }
    .await;
    let status = match result {
        Ok((f, events, dyads, actors, daily, stories, duplicates, dlq)) => {
            let qs = query_string(&f);
            let _ = write!(
                out,
                "<p id=\"range\">Events from <b>{}</b> to <b>{}</b> (at most {API_MAX_RANGE_DAYS} days per view).</p>",
                f.from.map(|d| d.to_string()).unwrap_or_default(),
                f.to.map(|d| d.to_string()).unwrap_or_default()
            );
            out.push_str("<div class=\"charts\" id=\"charts\">");
            for (name, alt) in [
                ("timeline", "Events per day by quad class"),
                ("dyads", "Top dyads"),
                ("actors", "Most active actors"),
            ] {
                let _ = write!(
                    out,
                    "<img id=\"chart-{name}\" src=\"/charts/{name}.svg?{}\" alt=\"{alt}\" width=\"{}\" height=\"{}\">",
                    attr(&qs),
                    chart::SIZE.0,
                    chart::SIZE.1
                );
            }
            out.push_str("</div>");
            html_table(&mut out, "events", "Events (most mentioned first)", &events);
            html_table(&mut out, "dyads", "Top dyads", &dyads);
            html_table(&mut out, "actors", "Most active actors", &actors);
            html_table(
                &mut out,
                "daily",
                "Events per day by root code, quad class and country",
                &daily,
            );
            html_table(&mut out, "stories", "Stories", &stories);
            html_table(&mut out, "duplicates", "Duplicates per day", &duplicates);
            html_table(&mut out, "dlq", "Dead-lettered messages per day", &dlq);
            StatusCode::OK
        }
        Err(ApiError::BadParameter(e)) => {
            let _ = write!(
                out,
                "<p class=\"error\" id=\"error\">Invalid {}: {}</p>",
                esc(e.parameter),
                esc(&e.message)
            );
            StatusCode::BAD_REQUEST
        }
        Err(ApiError::NotFound(m)) => {
            let _ = write!(out, "<p class=\"error\" id=\"error\">{}</p>", esc(&m));
            StatusCode::NOT_FOUND
        }
        Err(ApiError::Internal(m)) => {
            let _ = write!(out, "<p class=\"error\" id=\"error\">{}</p>", esc(m));
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    let _ = write!(
        out,
        "<footer><small>rendered in {:.1} ms at {} UTC</small></footer></body></html>",
        started.elapsed().as_secs_f64() * 1000.0,
        Utc::now().format("%Y-%m-%d %H:%M:%S")
    );
    observe("/", started);
    (status, Html(out)).into_response()
}

/// The router (public for tests that drive it in-process).
pub fn router(pool: PgPool) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/events/daily", get(api_events_daily))
        .route("/api/events", get(api_events))
        .route("/api/events/{id}", get(api_event))
        .route("/api/dyads", get(api_dyads))
        .route("/api/dyads/daily", get(api_dyads_daily))
        .route("/api/actors", get(api_actors))
        .route("/api/stories", get(api_stories))
        .route("/api/duplicates", get(api_duplicates))
        .route("/api/dlq", get(api_dlq))
        .route("/charts/{name}", get(chart_svg))
        .with_state(AppState { pool })
}

/// Keeps /readyz honest: the database answers, or the replica is taken out of rotation.
async fn probe_database(pool: PgPool, health: Arc<Health>, shutdown: Shutdown) {
    loop {
        let state = sqlx::query("SELECT 1")
            .execute(&pool)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string());
        health.set("database", state);
        tokio::select! {
            () = shutdown.wait() => return,
            () = tokio::time::sleep(Duration::from_secs(10)) => {}
        }
    }
}

/// Runs the HTTP server until `shutdown`.
pub async fn run(args: ServeArgs, shutdown: Shutdown) -> anyhow::Result<()> {
    args.db.validate().map_err(anyhow::Error::msg)?;
    // Without a font the JSON API still serves; chart requests answer 500 saying why.
    if let Err(e) = chart::ensure_font() {
        tracing::warn!(error = %e, "charts are unavailable");
    }
    let health = Health::new();
    let (_, admin_task) = admin::serve(args.ops.admin_addr, Arc::clone(&health), shutdown.clone())
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (--admin-addr / NEWSFLOW_ADMIN_ADDR)",
                args.ops.admin_addr
            )
        })?;
    let pool = db::connect(&args.db, Duration::from_secs(60)).await?;
    db::check_schema(&pool).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (--listen / NEWSFLOW_REPORT_LISTEN)",
                args.listen
            )
        })?;
    let bound = listener.local_addr()?;
    let probe = tokio::spawn(probe_database(
        pool.clone(),
        Arc::clone(&health),
        shutdown.clone(),
    ));
    tracing::info!(addr = %bound, "report server listening");
    let wait = shutdown.clone();
    let result = axum::serve(listener, router(pool.clone()))
        .with_graceful_shutdown(async move { wait.wait().await })
        .await
        .context("report server failed");
    shutdown.trigger();
    let _ = probe.await;
    let _ = admin_task.await;
    pool.close().await;
    result
}
