//! The report queries over Postgres, one function per question, each returning typed rows.
//! They read the `report_*` views where the view's columns carry every filter, and the
//! `events` table (grouped exactly like the views) where filters need event columns the
//! view aggregated away.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::filters::Filters;

/// Errors answering a report.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("no event with id {0:?}")]
    EventNotFound(String),
    #[error("database query failed: {0}")]
    Sql(#[from] sqlx::Error),
}

/// Events per day by root code, quad class and country (`report_events_daily`).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DailyRow {
    pub day: NaiveDate,
    pub root_code: i16,
    pub quad_class: i16,
    pub country: Option<String>,
    pub events: i64,
    pub mentions: i64,
    pub articles: i64,
    pub mean_goldstein: f64,
}

/// A dyad over the date range (`report_dyads_daily` summed).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DyadRow {
    pub source_code: String,
    pub source_name: String,
    pub target_code: String,
    pub target_name: Option<String>,
    pub events: i64,
    pub mentions: i64,
    pub mean_goldstein: f64,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

/// One dyad on one day (`report_dyads_daily`): the dyad over time.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DyadDayRow {
    pub day: NaiveDate,
    pub source_code: String,
    pub source_name: String,
    pub target_code: String,
    pub target_name: Option<String>,
    pub events: i64,
    pub mentions: i64,
    pub mean_goldstein: f64,
    /// Events of quad class 1 or 2.
    pub cooperative_events: i64,
    /// Events of quad class 3 or 4.
    pub conflictual_events: i64,
}

/// An actor's activity over the date range (`report_actor_activity` summed).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ActorRow {
    pub actor_code: String,
    pub actor_name: Option<String>,
    pub actor_country: Option<String>,
    pub events: i64,
    pub as_source: i64,
    pub as_target: i64,
    pub mentions: i64,
    pub mean_goldstein: f64,
}

/// A story with its articles, outlets and events (`report_stories`).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct StoryRow {
    pub story_id: i64,
    pub title: Option<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub article_count: i32,
    pub copy_count: i32,
    pub source_count: i32,
    pub articles: i64,
    pub outlets: Vec<String>,
    pub urls: Vec<String>,
    pub events: i64,
    pub event_ids: Vec<String>,
}

/// One event, as listed in the HTML page and `events`.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct EventRow {
    pub event_id: String,
    pub event_date: NaiveDate,
    pub source_code: String,
    pub source_name: String,
    pub target_code: Option<String>,
    pub target_name: Option<String>,
    pub cameo_code: String,
    pub quad_class: i16,
    pub goldstein: f32,
    pub place_country: Option<String>,
    pub num_mentions: i32,
    pub num_articles: i32,
    pub num_sources: i32,
}

/// The event part of `report_event_mentions`.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct EventDetail {
    pub event_id: String,
    pub event_date: NaiveDate,
    pub date_precision: String,
    pub source_code: String,
    pub source_name: String,
    pub source_country: Option<String>,
    pub target_code: Option<String>,
    pub target_name: Option<String>,
    pub target_country: Option<String>,
    pub cameo_code: String,
    pub root_code: i16,
    pub quad_class: i16,
    pub goldstein: f32,
    pub plover: String,
    pub place_name: Option<String>,
    pub place_country: Option<String>,
    pub num_mentions: i32,
    pub num_articles: i32,
    pub num_sources: i32,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub story_id: Option<i64>,
}

/// One mention of an event: the sentence that says it, where, and in which article.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct MentionRow {
    pub mention_id: i64,
    pub article_id: i64,
    pub outlet: Option<String>,
    pub url: Option<String>,
    pub sentence_no: i32,
    pub in_title: bool,
    pub is_copy: bool,
    pub confidence: f32,
    pub action_text: String,
    pub sentence: String,
    pub mentioned_at: DateTime<Utc>,
}

/// An event's full record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRecord {
    pub event: EventDetail,
    pub mentions: Vec<MentionRow>,
}

/// Articles per day by duplicate kind (`report_duplicates_daily`).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DuplicateRow {
    pub day: NaiveDate,
    pub duplicate_kind: String,
    pub articles: i64,
    pub mean_similarity: Option<f64>,
}

/// Rejected messages per day by error class (`report_dlq_daily`).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DlqRow {
    pub day: NaiveDate,
    pub error_class: String,
    pub messages: i64,
    pub payload_bytes: i64,
    pub sample_reason: String,
}

/// Appends `AND …` conditions on the `events` columns for every set filter.
fn push_event_filters(qb: &mut QueryBuilder<'_, Postgres>, f: &Filters) {
    if let Some(from) = f.from {
        qb.push(" AND event_date >= ").push_bind(from);
    }
    if let Some(to) = f.to {
        qb.push(" AND event_date <= ").push_bind(to);
    }
    if let Some(actor) = &f.actor {
        // Validated to letters and digits, so no LIKE metacharacters need escaping.
        let pattern = format!("{actor}%");
        qb.push(" AND (source_code LIKE ")
            .push_bind(pattern.clone())
            .push(" OR target_code LIKE ")
            .push_bind(pattern)
            .push(")");
    }
    if let Some(country) = &f.country {
        qb.push(" AND (source_country = ")
            .push_bind(country.clone())
            .push(" OR target_country = ")
            .push_bind(country.clone())
            .push(" OR place_country = ")
            .push_bind(country.clone())
            .push(")");
    }
    if let Some(code) = &f.code {
        // The root code lets the planner use events_root_date; the prefix does the rest.
        if let Some(root) = code.get(..2).and_then(|r| r.parse::<i16>().ok()) {
            qb.push(" AND root_code = ").push_bind(root);
        }
        qb.push(" AND cameo_code LIKE ")
            .push_bind(format!("{code}%"));
    }
    if let Some(q) = f.quad_class {
        qb.push(" AND quad_class = ").push_bind(q);
    }
    if let Some(story) = f.story {
        // The story's events as `report_stories` counts them: first reported in the story, or
        // mentioned by any of its articles (syndicated copies carry their original's story).
        // Both arms are index look-ups (events_story; articles_story → event_mentions_article)
        // and yield a few ids, which the outer scan semi-joins on event_id (in the covering
        // index), so the date-range scans stay index-only.
        qb.push(" AND event_id IN (SELECT se.event_id FROM events se WHERE se.story_id = ")
            .push_bind(story)
            .push(
                " UNION SELECT sm.event_id FROM articles sa \
                 JOIN event_mentions sm ON sm.article_id = sa.id WHERE sa.story_id = ",
            )
            .push_bind(story)
            .push(")");
    }
}

/// Events per day by root code, quad class and country.
pub async fn events_daily(pool: &PgPool, f: &Filters) -> Result<Vec<DailyRow>, QueryError> {
    let mut qb = QueryBuilder::new(
        "SELECT event_date AS day, root_code, quad_class, \
                COALESCE(place_country, source_country) AS country, \
                count(*) AS events, COALESCE(sum(num_mentions), 0)::bigint AS mentions, \
                COALESCE(sum(num_articles), 0)::bigint AS articles, \
                round(avg(goldstein)::numeric, 3)::double precision AS mean_goldstein \
         FROM events WHERE true",
    );
    push_event_filters(&mut qb, f);
    qb.push(" GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4 NULLS LAST LIMIT ")
        .push_bind(i64::from(f.limit));
    Ok(qb.build_query_as().fetch_all(pool).await?)
}

/// Events per day and quad class (the timeline chart), every day of the range.
pub async fn timeline(
    pool: &PgPool,
    f: &Filters,
) -> Result<Vec<(NaiveDate, i16, i64)>, QueryError> {
    let mut qb =
        QueryBuilder::new("SELECT event_date, quad_class, count(*) FROM events WHERE true");
    push_event_filters(&mut qb, f);
    qb.push(" GROUP BY 1, 2 ORDER BY 1, 2");
    Ok(qb.build_query_as().fetch_all(pool).await?)
}

/// The busiest dyads (source → target) over the range. Counting reads only the covering
/// index `events_date_report`; each code's name (the one it was most recently reported under)
/// is looked up for the rows shown.
pub async fn dyads(pool: &PgPool, f: &Filters) -> Result<Vec<DyadRow>, QueryError> {
    let mut qb = QueryBuilder::new(
        "SELECT d.source_code, \
                (SELECT e.source_name FROM events e WHERE e.source_code = d.source_code \
                 ORDER BY e.event_date DESC LIMIT 1) AS source_name, \
                d.target_code, \
                (SELECT e.target_name FROM events e WHERE e.target_code = d.target_code \
                 ORDER BY e.event_date DESC LIMIT 1) AS target_name, \
                d.events, d.mentions, d.mean_goldstein, d.first_day, d.last_day \
         FROM (SELECT source_code, target_code, count(*) AS events, \
                      COALESCE(sum(num_mentions), 0)::bigint AS mentions, \
                      round(avg(goldstein)::numeric, 3)::double precision AS mean_goldstein, \
                      min(event_date) AS first_day, max(event_date) AS last_day \
               FROM events WHERE target_code IS NOT NULL",
    );
    push_event_filters(&mut qb, f);
    qb.push(
        " GROUP BY source_code, target_code \
          ORDER BY events DESC, mentions DESC, source_code, target_code LIMIT ",
    )
    .push_bind(i64::from(f.limit));
    qb.push(") d ORDER BY d.events DESC, d.mentions DESC, d.source_code, d.target_code");
    Ok(qb.build_query_as().fetch_all(pool).await?)
}

/// Dyads per day: the rows of `report_dyads_daily` with every event filter applied, by day,
/// then busiest first. Computed from `events` grouped exactly like the view, since the
/// filters need event columns the view aggregated away; counting reads only the covering
/// index `events_date_report`, and the names (the view's `max(name)` for the dyad that day)
/// are looked up through `events_dyad` for the rows shown.
pub async fn dyads_daily(pool: &PgPool, f: &Filters) -> Result<Vec<DyadDayRow>, QueryError> {
    let mut qb = QueryBuilder::new(
        "SELECT d.day, d.source_code, \
                (SELECT max(e.source_name) FROM events e WHERE e.source_code = d.source_code \
                 AND e.target_code = d.target_code AND e.event_date = d.day) AS source_name, \
                d.target_code, \
                (SELECT max(e.target_name) FROM events e WHERE e.source_code = d.source_code \
                 AND e.target_code = d.target_code AND e.event_date = d.day) AS target_name, \
                d.events, d.mentions, d.mean_goldstein, d.cooperative_events, d.conflictual_events \
         FROM (SELECT event_date AS day, source_code, target_code, count(*) AS events, \
                      COALESCE(sum(num_mentions), 0)::bigint AS mentions, \
                      round(avg(goldstein)::numeric, 3)::double precision AS mean_goldstein, \
                      count(*) FILTER (WHERE quad_class IN (1, 2)) AS cooperative_events, \
                      count(*) FILTER (WHERE quad_class IN (3, 4)) AS conflictual_events \
               FROM events WHERE target_code IS NOT NULL",
    );
    push_event_filters(&mut qb, f);
    qb.push(
        " GROUP BY event_date, source_code, target_code \
          ORDER BY day, events DESC, mentions DESC, source_code, target_code LIMIT ",
    )
    .push_bind(i64::from(f.limit));
    qb.push(") d ORDER BY d.day, d.events DESC, d.mentions DESC, d.source_code, d.target_code");
    Ok(qb.build_query_as().fetch_all(pool).await?)
}

/// The most active actors over the range, as source or target. Like [`dyads`], counting reads
/// the covering index and names are looked up for the rows shown.
pub async fn actors(pool: &PgPool, f: &Filters) -> Result<Vec<ActorRow>, QueryError> {
    let mut qb = QueryBuilder::new(
        "SELECT a.actor_code, \
                COALESCE((SELECT e.source_name FROM events e WHERE e.source_code = a.actor_code \
                          ORDER BY e.event_date DESC LIMIT 1), \
                         (SELECT e.target_name FROM events e WHERE e.target_code = a.actor_code \
                          ORDER BY e.event_date DESC LIMIT 1)) AS actor_name, \
                a.actor_country, a.events, a.as_source, a.as_target, a.mentions, a.mean_goldstein \
         FROM (SELECT actor_code, max(actor_country) AS actor_country, count(*) AS events, \
                      count(*) FILTER (WHERE side = 's') AS as_source, \
                      count(*) FILTER (WHERE side = 't') AS as_target, \
                      COALESCE(sum(num_mentions), 0)::bigint AS mentions, \
                      round(avg(goldstein)::numeric, 3)::double precision AS mean_goldstein \
               FROM (SELECT source_code AS actor_code, source_country AS actor_country, 's' AS side, \
                            num_mentions, goldstein \
                     FROM events WHERE true",
    );
    push_event_filters(&mut qb, f);
    qb.push(
        " UNION ALL SELECT target_code, target_country, 't', num_mentions, goldstein \
          FROM events WHERE target_code IS NOT NULL",
    );
    push_event_filters(&mut qb, f);
    qb.push(") sides");
    if let Some(actor) = &f.actor {
        // The event filter keeps both sides of an event involving the actor; the list is of
        // the matching actors only.
        qb.push(" WHERE actor_code LIKE ")
            .push_bind(format!("{actor}%"));
    }
    qb.push(" GROUP BY actor_code ORDER BY events DESC, mentions DESC, actor_code LIMIT ")
        .push_bind(i64::from(f.limit));
    qb.push(") a ORDER BY a.events DESC, a.mentions DESC, a.actor_code");
    Ok(qb.build_query_as().fetch_all(pool).await?)
}

/// Stories active in the range (seen between `from` and `to`), newest first.
pub async fn stories(pool: &PgPool, f: &Filters) -> Result<Vec<StoryRow>, QueryError> {
    let mut qb = QueryBuilder::new(
        "SELECT story_id, title, first_seen, last_seen, article_count, copy_count, source_count, \
                articles, outlets, urls, events, event_ids \
         FROM report_stories WHERE true",
    );
    if let Some(from) = f.from {
        qb.push(" AND last_seen >= ").push_bind(from).push("::date");
    }
    if let Some(to) = f.to {
        qb.push(" AND first_seen < (")
            .push_bind(to)
            .push("::date + 1)");
    }
    if let Some(story) = f.story {
        qb.push(" AND story_id = ").push_bind(story);
    }
    qb.push(" ORDER BY last_seen DESC, story_id DESC LIMIT ")
        .push_bind(i64::from(f.limit));
    Ok(qb.build_query_as().fetch_all(pool).await?)
}

/// Individual events, busiest first. The top rows are picked from the covering index
/// `events_date_report` when the filters allow it, then read by primary key.
pub async fn events(pool: &PgPool, f: &Filters) -> Result<Vec<EventRow>, QueryError> {
    let mut qb = QueryBuilder::new(
        "SELECT e.event_id, e.event_date, e.source_code, e.source_name, e.target_code, \
                e.target_name, e.cameo_code, e.quad_class, e.goldstein, e.place_country, \
                e.num_mentions, e.num_articles, e.num_sources \
         FROM (SELECT event_id, num_mentions, event_date FROM events WHERE true",
    );
    push_event_filters(&mut qb, f);
    qb.push(" ORDER BY num_mentions DESC, event_date DESC, event_id LIMIT ")
        .push_bind(i64::from(f.limit));
    qb.push(
        ") top JOIN events e ON e.event_id = top.event_id \
         ORDER BY top.num_mentions DESC, top.event_date DESC, top.event_id",
    );
    Ok(qb.build_query_as().fetch_all(pool).await?)
}

/// One event with every mention, in the order outlets reported it.
pub async fn event(pool: &PgPool, event_id: &str) -> Result<EventRecord, QueryError> {
    let event: Option<EventDetail> = sqlx::query_as(
        "SELECT DISTINCT ON (event_id) event_id, event_date, date_precision, source_code, \
                source_name, source_country, target_code, target_name, target_country, cameo_code, \
                root_code, quad_class, goldstein, plover, place_name, place_country, num_mentions, \
                num_articles, num_sources, first_seen, last_seen, story_id \
         FROM report_event_mentions WHERE event_id = $1",
    )
    .bind(event_id)
    .fetch_optional(pool)
    .await?;
    let event = event.ok_or_else(|| QueryError::EventNotFound(event_id.to_owned()))?;
    let mentions = sqlx::query_as(
        "SELECT mention_id, article_id, outlet, url, sentence_no, in_title, is_copy, confidence, \
                action_text, sentence, mentioned_at \
         FROM report_event_mentions WHERE event_id = $1 AND mention_id IS NOT NULL \
         ORDER BY mentioned_at, article_id, sentence_no, mention_id",
    )
    .bind(event_id)
    .fetch_all(pool)
    .await?;
    Ok(EventRecord { event, mentions })
}

/// Articles per day by duplicate kind.
pub async fn duplicates(pool: &PgPool, f: &Filters) -> Result<Vec<DuplicateRow>, QueryError> {
    let mut qb = QueryBuilder::new(
        "SELECT day, duplicate_kind, articles, mean_similarity FROM report_duplicates_daily WHERE true",
    );
    push_day_filters(&mut qb, f);
    qb.push(" ORDER BY day, duplicate_kind LIMIT ")
        .push_bind(i64::from(f.limit));
    Ok(qb.build_query_as().fetch_all(pool).await?)
}

/// Rejected messages per day by error class.
pub async fn dlq(pool: &PgPool, f: &Filters) -> Result<Vec<DlqRow>, QueryError> {
    let mut qb = QueryBuilder::new(
        "SELECT day, error_class, messages, payload_bytes, sample_reason FROM report_dlq_daily WHERE true",
    );
    push_day_filters(&mut qb, f);
    qb.push(" ORDER BY day, error_class LIMIT ")
        .push_bind(i64::from(f.limit));
    Ok(qb.build_query_as().fetch_all(pool).await?)
}

fn push_day_filters(qb: &mut QueryBuilder<'_, Postgres>, f: &Filters) {
    if let Some(from) = f.from {
        qb.push(" AND day >= ").push_bind(from);
    }
    if let Some(to) = f.to {
        qb.push(" AND day <= ").push_bind(to);
    }
}

/// The newest event date, which the HTTP API's default range ends at.
pub async fn latest_event_date(pool: &PgPool) -> Result<Option<NaiveDate>, QueryError> {
    Ok(sqlx::query_scalar("SELECT max(event_date) FROM events")
        .fetch_one(pool)
        .await?)
}
