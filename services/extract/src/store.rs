//! SQL of the extract stage.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use newsflow_core::coding::Mention;
use newsflow_core::messages::{
    ArticleMessage, EventActor, EventEvidence, EventMessage, EventPlace,
};
use newsflow_core::shortlist::{
    POSTINGS_PER_TERM, Posting, SHORTLIST, lookup_terms, posting_changes, shortlist,
};
use newsflow_core::stories::{
    Signature, StoryParams, StoryRef, Terms, assign_batch, term_from_db, term_to_db,
    terms_from_bytes, terms_to_bytes,
};
use newsflow_core::tally::{Added, Delta, tally};
use newsflow_runtime::stage::Position;
use sqlx::{Postgres, Row, Transaction};

/// Advisory lock serialising story decisions and event rows across replicas ("newsflow
/// extract"); a batch takes it after storing its reports (see `crate::pipeline`).
const MERGE_LOCK: i64 = 0x6e65_7773_6578_7472;

type Tx = Transaction<'static, Postgres>;

/// event_id, url, outlet, sentence number, sentence, is_copy of one piece of evidence.
type EvidenceRow = (String, Option<String>, Option<String>, i32, String, bool);

pub async fn lock_merge(tx: &mut Tx) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MERGE_LOCK)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records the coder version. The first version a database sees becomes the reported one;
/// a later version (a re-extraction with new dictionaries) writes beside it until an operator
/// switches (docs/runbook.md). Called under the merge lock, so two first versions cannot race.
pub async fn register_version(tx: &mut Tx, version: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO coder_versions (version, reported)
         VALUES ($1, NOT EXISTS (SELECT 1 FROM coder_versions WHERE reported))
         ON CONFLICT (version) DO NOTHING",
    )
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What earlier batches did with the batch's articles: the articles this coder version
/// already coded (re-sent messages), and the stories of articles an earlier version placed (a
/// re-extraction keeps them rather than merging the articles into their stories a second time).
pub struct Earlier {
    pub extracted: HashSet<i64>,
    pub placed: HashMap<i64, i64>,
}

/// Locks the rows of the batch's articles and of the originals its copy notices name, in id
/// order, and reads what earlier batches did with the articles (in the same statement).
///
/// This is what lets batches of different replicas write their reports side by side, before
/// the merge lock: an original's mentions, and its copies' (whether they come with the
/// original, [`copies_of`], or with a copy notice, [`copy_mentions`]), are written only by a
/// transaction holding the original's row. A copy notice therefore either waits for the
/// original's extraction to commit and then finds its mentions, or goes first, and the
/// extraction, coming after it, finds the copy among [`copies_of`] (dedup stored the copy
/// before it sent the notice). Without the lock the two could pass each other, each seeing
/// nothing of the other, and the copy's reports were lost. One statement, in id order: two
/// batches never wait on each other's rows in opposite orders.
pub async fn lock_articles(
    tx: &mut Tx,
    article_ids: &[i64],
    copy_originals: &[i64],
    version: &str,
) -> Result<Earlier, sqlx::Error> {
    let rows: Vec<(i64, bool, bool, Option<i64>)> = sqlx::query_as(
        "SELECT id, extracted_at IS NOT NULL, coder_version IS NOT DISTINCT FROM $3, story_id
           FROM articles
          WHERE id = ANY($1) OR id = ANY($2)
          ORDER BY id
            FOR NO KEY UPDATE",
    )
    .bind(article_ids)
    .bind(copy_originals)
    .bind(version)
    .fetch_all(&mut **tx)
    .await?;
    let mut earlier = Earlier {
        extracted: HashSet::new(),
        placed: HashMap::new(),
    };
    let ours: HashSet<i64> = article_ids.iter().copied().collect();
    for (id, extracted, this_version, story) in rows {
        if !extracted || !ours.contains(&id) {
            continue;
        }
        if this_version {
            earlier.extracted.insert(id);
        }
        if let Some(story) = story {
            earlier.placed.insert(id, story);
        }
    }
    Ok(earlier)
}

/// Records that the articles were coded. Returns, per article whose produce time is known,
/// the seconds since its raw message was produced (the end-to-end latency).
/// The articles join their stories (`story_ids`, one per article) in the same update: an
/// article row is rewritten once per extraction, not twice (its indexes make each rewrite
/// cost about as much as inserting the article again).
///
/// `clock_timestamp()`, not `now()`: the transaction may have started long before this
/// point (a wait for the merge lock).
pub async fn mark_extracted(
    tx: &mut Tx,
    article_ids: &[i64],
    story_ids: &[i64],
    version: &str,
) -> Result<Vec<f64>, sqlx::Error> {
    let latencies: Vec<Option<f64>> = sqlx::query_scalar(
        "UPDATE articles a SET extracted_at = clock_timestamp(), coder_version = $3,
                               story_id = coalesce(nullif(x.story, 0), a.story_id)
           FROM unnest($1::bigint[], $2::bigint[]) AS x(article, story)
          WHERE a.id = x.article
         RETURNING extract(epoch FROM a.extracted_at - a.produced_at)::float8",
    )
    .bind(article_ids)
    .bind(story_ids)
    .bind(version)
    .fetch_all(&mut **tx)
    .await?;
    Ok(latencies.into_iter().flatten().collect())
}

fn as_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// One coded article of a batch: the message, its mentions and the story it joined.
pub struct Coded<'a> {
    pub article: &'a ArticleMessage,
    pub mentions: &'a [Mention],
    pub story_id: i64,
}

/// One article's reports of events: its own mentions, or (`is_copy`) a syndicated copy
/// carrying its original's mentions as reports by the copy's outlet.
pub struct Report<'a> {
    pub article_id: i64,
    pub source: Option<&'a str>,
    pub seen: DateTime<Utc>,
    pub mentions: &'a [Mention],
    pub is_copy: bool,
}

impl<'a> Report<'a> {
    /// An article's own reports.
    pub fn of(article: &'a ArticleMessage, mentions: &'a [Mention]) -> Self {
        Report {
            article_id: article.article_id,
            source: article.source.as_deref(),
            seen: seen_at(article),
            mentions,
            is_copy: false,
        }
    }
}

/// A copy dedup linked to an original: (copy id, original id, outlet, when it was seen).
pub type CopyOf = (i64, i64, Option<String>, DateTime<Utc>);

/// The copies dedup already linked to `originals` (those that reached extract before their
/// originals were coded).
pub async fn copies_of(tx: &mut Tx, originals: &[i64]) -> Result<Vec<CopyOf>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, duplicate_of, source, coalesce(published_at, ingested_at) FROM articles
          WHERE duplicate_of = ANY($1) ORDER BY id",
    )
    .bind(originals)
    .fetch_all(&mut **tx)
    .await
}

/// Records the batch's reports in one bulk statement and returns the mentions newly stored
/// (a re-sent report conflicts and is left out). Their events are written afterwards, with
/// the counts [`tally_reports`] works out, by [`write_events`] (the mention → event reference
/// is checked at commit).
/// Copies of the batch's own originals are written from the coded mentions in memory: an
/// `INSERT … SELECT` joining the mentions table got slower as it grew (a profile of the bench).
pub async fn insert_mentions(
    tx: &mut Tx,
    reports: &[Report<'_>],
    version: &str,
) -> Result<Vec<Stored>, sqlx::Error> {
    let owners: Vec<&Report<'_>> = reports
        .iter()
        .flat_map(|r| std::iter::repeat_n(r, r.mentions.len()))
        .collect();
    let mentions: Vec<&Mention> = reports.iter().flat_map(|r| r.mentions.iter()).collect();
    if mentions.is_empty() {
        return Ok(Vec::new());
    }
    let seen: Vec<DateTime<Utc>> = owners.iter().map(|r| r.seen).collect();
    let article_ids: Vec<i64> = owners.iter().map(|r| r.article_id).collect();
    let sources: Vec<Option<&str>> = owners.iter().map(|r| r.source).collect();
    let copy: Vec<bool> = owners.iter().map(|r| r.is_copy).collect();
    let ids: Vec<String> = mentions.iter().map(|m| m.event_id()).collect();
    let col = |f: &dyn Fn(&Mention) -> Option<String>| -> Vec<Option<String>> {
        mentions.iter().map(|m| f(m)).collect()
    };
    let int = |f: &dyn Fn(&Mention) -> usize| -> Vec<i32> {
        mentions.iter().map(|m| as_i32(f(m))).collect()
    };
    let sentence = col(&|m| Some(m.sentence.clone()));
    let in_title: Vec<bool> = mentions.iter().map(|m| m.in_title).collect();
    let target_start: Vec<Option<i32>> = mentions
        .iter()
        .map(|m| m.target.as_ref().map(|t| as_i32(t.start)))
        .collect();
    let target_end: Vec<Option<i32>> = mentions
        .iter()
        .map(|m| m.target.as_ref().map(|t| as_i32(t.end)))
        .collect();
    let action_text = col(&|m| Some(m.action_text.clone()));
    let date_source = col(&|m| Some(m.date_source.clone()));
    let confidence: Vec<f32> = mentions.iter().map(|m| m.confidence).collect();
    sqlx::query(
        "INSERT INTO event_mention_versions (event_id, article_id, sentence_no, sentence, in_title, sentence_start,
                                     sentence_end, source_start, source_end, target_start, target_end,
                                     action_start, action_end, action_text, date_source, confidence, is_copy,
                                     source, mentioned_at, coder_version)
         SELECT m.event_id, m.article_id, m.sentence_no, m.sentence, m.in_title, m.sentence_start, m.sentence_end,
                m.source_start, m.source_end, m.target_start, m.target_end, m.action_start, m.action_end,
                m.action_text, m.date_source, m.confidence, m.is_copy, m.source, m.seen, $19
           FROM unnest($1::text[], $2::int[], $3::text[], $4::bool[], $5::int[], $6::int[], $7::int[], $8::int[],
                       $9::int[], $10::int[], $11::int[], $12::int[], $13::text[], $14::text[], $15::real[],
                       $16::bigint[], $17::text[], $18::timestamptz[], $20::bool[])
                AS m(event_id, sentence_no, sentence, in_title, sentence_start, sentence_end, source_start,
                     source_end, target_start, target_end, action_start, action_end, action_text, date_source,
                     confidence, article_id, source, seen, is_copy)
         ON CONFLICT DO NOTHING
         RETURNING id, event_id, article_id, source, confidence, mentioned_at",
    )
    .bind(&ids)
    .bind(int(&|m| m.sentence_no))
    .bind(&sentence)
    .bind(&in_title)
    .bind(int(&|m| m.sentence_start))
    .bind(int(&|m| m.sentence_end))
    .bind(int(&|m| m.source.start))
    .bind(int(&|m| m.source.end))
    .bind(&target_start)
    .bind(&target_end)
    .bind(int(&|m| m.action_start))
    .bind(int(&|m| m.action_end))
    .bind(&action_text)
    .bind(&date_source)
    .bind(&confidence)
    .bind(&article_ids)
    .bind(&sources)
    .bind(&seen)
    .bind(version)
    .bind(&copy)
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|row| stored(&row))
    .collect()
}

/// Gives copies their originals' mentions, as reports by the copies' outlets, for copy
/// notices of originals coded in earlier batches. Pairs are (original, copy). Returns the
/// mentions newly stored. Each original's mentions are read through its own index lookup
/// (`LATERAL`), and each copy by its key.
pub async fn copy_mentions(
    tx: &mut Tx,
    pairs: &[(i64, i64)],
    version: &str,
) -> Result<Vec<Stored>, sqlx::Error> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let (originals, copies): (Vec<i64>, Vec<i64>) = pairs.iter().copied().unzip();
    sqlx::query(
        "INSERT INTO event_mention_versions (event_id, article_id, sentence_no, sentence, in_title, sentence_start,
                                     sentence_end, source_start, source_end, target_start, target_end,
                                     action_start, action_end, action_text, date_source, confidence, is_copy,
                                     source, mentioned_at, coder_version)
         SELECT m.event_id, d.id, m.sentence_no, m.sentence, m.in_title, m.sentence_start, m.sentence_end,
                m.source_start, m.source_end, m.target_start, m.target_end, m.action_start, m.action_end,
                m.action_text, m.date_source, m.confidence, true, d.source,
                coalesce(d.published_at, d.ingested_at), m.coder_version
           FROM unnest($1::bigint[], $2::bigint[]) AS x(original, copy)
           JOIN articles d ON d.id = x.copy AND d.duplicate_of = x.original
           CROSS JOIN LATERAL (
                SELECT * FROM event_mention_versions m
                 WHERE m.article_id = x.original AND NOT m.is_copy AND m.coder_version = $3) m
         ON CONFLICT DO NOTHING
         RETURNING id, event_id, article_id, source, confidence, mentioned_at",
    )
    .bind(&originals)
    .bind(&copies)
    .bind(version)
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|row| stored(&row))
    .collect()
}

/// A newly stored mention: its row id and what it adds to its event's counts.
pub struct Stored {
    pub id: i64,
    pub added: Added,
}

fn stored(row: &sqlx::postgres::PgRow) -> Result<Stored, sqlx::Error> {
    Ok(Stored {
        id: row.try_get("id")?,
        added: Added {
            event_id: row.try_get("event_id")?,
            article_id: row.try_get("article_id")?,
            source: row.try_get("source")?,
            confidence: row.try_get("confidence")?,
            seen: row.try_get("mentioned_at")?,
        },
    })
}

pub async fn insert_rejected(
    tx: &mut Tx,
    position: &Position,
    class: &str,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO rejected_messages (error_class, reason, payload_bytes, src_topic, src_partition, src_offset)
         VALUES ($1, $2, 0, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(class)
    .bind(reason.replace('\0', "\u{fffd}"))
    .bind(&position.topic)
    .bind(position.partition)
    .bind(position.offset)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The columns of an event row as published.
const EVENT_COLUMNS: &str = "e.event_id, e.event_date, e.date_precision, e.source_code, e.source_name, \
     e.source_country, e.source_role, e.target_code, e.target_name, e.target_country, e.target_role, \
     e.cameo_code, e.root_code, e.quad_class, e.goldstein, e.plover, e.place_name, e.place_country, \
     e.place_lat, e.place_lon, e.num_mentions, e.num_articles, e.num_sources, e.first_seen, e.last_seen, \
     e.story_id, e.coder_version";

/// The counts after adding a batch's to an event's (`e`), as SQL assignments; the arguments
/// name the batch's columns (mentions, articles, outlets, mean confidence, first and last seen).
fn add_counts(d: [&str; 6]) -> String {
    let [mentions, articles, sources, confidence, first, last] = d;
    format!(
        "num_mentions = e.num_mentions + {mentions},
         num_articles = e.num_articles + {articles},
         num_sources = e.num_sources + {sources},
         avg_confidence = coalesce(((e.avg_confidence::float8 * e.num_mentions
                                     + {confidence}::float8 * {mentions})
                                    / nullif(e.num_mentions + {mentions}, 0))::real, 0),
         first_seen = LEAST(e.first_seen, {first}),
         last_seen = GREATEST(e.last_seen, {last}),
         updated_at = now()"
    )
}

/// A batch's newly stored reports summed per event, with each event's evidence.
pub struct Tally {
    deltas: BTreeMap<String, Delta>,
    evidence: HashMap<String, Vec<EventEvidence>>,
}

/// Sums the batch's newly stored mentions per event and reads the events' evidence;
/// [`write_events`] adds the sums to the events under the merge lock.
///
/// Every article among the sums is new to its event: all of an article's mentions (for a coder
/// version) are stored by one transaction — an original's when it is coded, a copy's as the
/// whole set of its original's, when the original is coded or by a later copy notice, which
/// then stores none or all of them. So a newly stored mention's article never reported its event
/// in an earlier batch, and no lookup is needed (the bench measured one at ~5% of Postgres's
/// time). The tests recount every event from its mentions.
///
/// Runs before the merge lock, side by side with other replicas' batches. The evidence is each
/// event's first five reports (originals first) as committed when it is read: a report of a
/// batch committing meanwhile may be missing from this message, and is in the event's next one.
pub async fn tally_reports(
    tx: &mut Tx,
    stored: &[Stored],
    version: &str,
) -> Result<Tally, sqlx::Error> {
    let added: Vec<Added> = stored.iter().map(|s| s.added.clone()).collect();
    let deltas = tally(&added);
    if deltas.is_empty() {
        return Ok(Tally {
            deltas,
            evidence: HashMap::new(),
        });
    }
    let event_ids: Vec<&str> = deltas.keys().map(String::as_str).collect();
    let rows: Vec<EvidenceRow> = sqlx::query_as(
        "SELECT e.event_id, a.url, m.source, m.sentence_no, m.sentence, m.is_copy
           FROM unnest($1::text[]) AS e(event_id)
           CROSS JOIN LATERAL (
                SELECT m.article_id, m.source, m.sentence_no, m.sentence, m.is_copy, m.id
                  FROM event_mention_versions m
                 WHERE m.event_id = e.event_id AND m.coder_version = $2
                 ORDER BY m.is_copy, m.id
                 LIMIT 5) m
           JOIN articles a ON a.id = m.article_id
          ORDER BY e.event_id, m.is_copy, m.id",
    )
    .bind(&event_ids)
    .bind(version)
    .fetch_all(&mut **tx)
    .await?;
    let mut evidence: HashMap<String, Vec<EventEvidence>> = HashMap::new();
    for (event_id, url, source, sentence_no, sentence, is_copy) in rows {
        evidence.entry(event_id).or_default().push(EventEvidence {
            url,
            source,
            sentence_no,
            sentence,
            is_copy,
        });
    }
    Ok(Tally { deltas, evidence })
}

/// Writes the events the batch's new mentions report and adds the mentions to their counts
/// ([`tally_reports`]); returns each changed event's new state, with evidence, for publishing.
/// Runs under the merge lock: event rows are written by one batch at a time, in commit order.
///
/// `firsts` holds, per event coded in this batch, its first report in batch order (whose
/// fields a new event takes); events reached only through copies of earlier originals
/// already exist.
pub async fn write_events(
    tx: &mut Tx,
    firsts: &BTreeMap<String, (&Mention, &Coded<'_>)>,
    tally: Tally,
    version: &str,
) -> Result<Vec<EventMessage>, sqlx::Error> {
    let Tally {
        deltas,
        evidence: mut by_event,
    } = tally;
    if deltas.is_empty() {
        return Ok(Vec::new());
    }
    // Outlets new to an event are the rows `event_sources` did not have. Inserted under the
    // merge lock: before it, a batch waited for every other batch that inserted one of its
    // rows to commit (in the bench, that made the insert the dearest statement of the run).
    let (source_events, source_names): (Vec<&str>, Vec<&str>) = deltas
        .iter()
        .flat_map(|(e, d)| d.sources.iter().map(move |s| (e.as_str(), s.as_str())))
        .unzip();
    let new_sources: Vec<String> = sqlx::query_scalar(
        "INSERT INTO event_sources (event_id, coder_version, source)
         SELECT event_id, $3, source FROM unnest($1::text[], $2::text[]) AS x(event_id, source)
         ON CONFLICT DO NOTHING
         RETURNING event_id",
    )
    .bind(&source_events)
    .bind(&source_names)
    .bind(version)
    .fetch_all(&mut **tx)
    .await?;
    let mut sources_added: HashMap<String, i32> = HashMap::new();
    for event in new_sources {
        *sources_added.entry(event).or_default() += 1;
    }
    // No article of the batch reported its events before (see `tally_reports`).
    let counts = |event: &str, d: &Delta| {
        (
            d.mentions,
            d.articles_added(),
            sources_added.get(event).copied().unwrap_or_default(),
            d.mean_confidence(),
        )
    };
    let mut rows = Vec::new();

    // Events coded in this batch: inserted with their counts, or their counts added to.
    let coded: Vec<(&String, &Delta, &Mention, &Coded<'_>)> = deltas
        .iter()
        .filter_map(|(e, d)| firsts.get(e).map(|(m, c)| (e, d, *m, *c)))
        .collect();
    if !coded.is_empty() {
        let col = |f: &dyn Fn(&Mention) -> Option<String>| -> Vec<Option<String>> {
            coded.iter().map(|(_, _, m, _)| f(m)).collect()
        };
        let ids: Vec<&str> = coded.iter().map(|(e, ..)| e.as_str()).collect();
        let dates: Vec<NaiveDate> = coded.iter().map(|(_, _, m, _)| m.date).collect();
        let lat: Vec<Option<f64>> = coded
            .iter()
            .map(|(_, _, m, _)| m.place.as_ref().and_then(|p| p.lat))
            .collect();
        let lon: Vec<Option<f64>> = coded
            .iter()
            .map(|(_, _, m, _)| m.place.as_ref().and_then(|p| p.lon))
            .collect();
        let stories: Vec<i64> = coded.iter().map(|(.., c)| c.story_id).collect();
        let c: Vec<(i32, i32, i32, f32)> = coded
            .iter()
            .map(|(e, d, ..)| counts(e.as_str(), d))
            .collect();
        let firsts_seen: Vec<DateTime<Utc>> = coded.iter().map(|(_, d, ..)| d.first_seen).collect();
        let lasts_seen: Vec<DateTime<Utc>> = coded.iter().map(|(_, d, ..)| d.last_seen).collect();
        rows.extend(
            sqlx::query(&format!(
                "INSERT INTO event_versions AS e (event_id, event_date, date_precision, source_code, source_name,
                             source_country, source_role, target_code, target_name, target_country, target_role,
                             cameo_code, root_code, quad_class, goldstein, plover, place_name, place_country,
                             place_lat, place_lon, num_mentions, num_articles, num_sources, avg_confidence,
                             first_seen, last_seen, story_id, coder_version)
                 SELECT d.event_id, d.event_date, d.date_precision, d.source_code, d.source_name, d.source_country,
                        d.source_role, d.target_code, d.target_name, d.target_country, d.target_role, d.cameo_code,
                        d.root_code, d.quad_class, d.goldstein, d.plover, d.place_name, d.place_country,
                        d.place_lat, d.place_lon, d.mentions, d.articles, d.sources, d.confidence,
                        d.first_seen, d.last_seen, d.story_id, $28
                   FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                               $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::smallint[],
                               $14::smallint[], $15::real[], $16::text[], $17::text[], $18::text[],
                               $19::double precision[], $20::double precision[], $21::int[], $22::int[],
                               $23::int[], $24::real[], $25::timestamptz[], $26::timestamptz[], $27::bigint[])
                        AS d(event_id, event_date, date_precision, source_code, source_name, source_country,
                             source_role, target_code, target_name, target_country, target_role, cameo_code,
                             root_code, quad_class, goldstein, plover, place_name, place_country, place_lat,
                             place_lon, mentions, articles, sources, confidence, first_seen, last_seen, story_id)
                 ON CONFLICT (event_id, coder_version) DO UPDATE
                    SET {}
                 RETURNING {EVENT_COLUMNS}",
                add_counts([
                    "excluded.num_mentions",
                    "excluded.num_articles",
                    "excluded.num_sources",
                    "excluded.avg_confidence",
                    "excluded.first_seen",
                    "excluded.last_seen",
                ])
            ))
            .bind(&ids)
            .bind(&dates)
            .bind(col(&|m| Some(m.date_precision.clone())))
            .bind(col(&|m| Some(m.source.code.clone())))
            .bind(col(&|m| Some(m.source.name.clone())))
            .bind(col(&|m| m.source.country.clone()))
            .bind(col(&|m| m.source.role.clone()))
            .bind(col(&|m| m.target.as_ref().map(|t| t.code.clone())))
            .bind(col(&|m| m.target.as_ref().map(|t| t.name.clone())))
            .bind(col(&|m| m.target.as_ref().and_then(|t| t.country.clone())))
            .bind(col(&|m| m.target.as_ref().and_then(|t| t.role.clone())))
            .bind(col(&|m| Some(m.cameo.clone())))
            .bind(coded.iter().map(|(_, _, m, _)| i16::from(m.root)).collect::<Vec<_>>())
            .bind(coded.iter().map(|(_, _, m, _)| i16::from(m.quad_class)).collect::<Vec<_>>())
            .bind(coded.iter().map(|(_, _, m, _)| m.goldstein).collect::<Vec<_>>())
            .bind(col(&|m| Some(m.plover.clone())))
            .bind(col(&|m| m.place.as_ref().map(|p| p.name.clone())))
            .bind(col(&|m| m.place.as_ref().map(|p| p.country.clone())))
            .bind(&lat)
            .bind(&lon)
            .bind(c.iter().map(|c| c.0).collect::<Vec<_>>())
            .bind(c.iter().map(|c| c.1).collect::<Vec<_>>())
            .bind(c.iter().map(|c| c.2).collect::<Vec<_>>())
            .bind(c.iter().map(|c| c.3).collect::<Vec<_>>())
            .bind(&firsts_seen)
            .bind(&lasts_seen)
            .bind(&stories)
            .bind(version)
            .fetch_all(&mut **tx)
            .await?,
        );
    }

    // Events reached only through copies of originals coded earlier: counts added.
    let copied: Vec<(&String, &Delta)> = deltas
        .iter()
        .filter(|(e, _)| !firsts.contains_key(*e))
        .collect();
    if !copied.is_empty() {
        let c: Vec<(i32, i32, i32, f32)> =
            copied.iter().map(|(e, d)| counts(e.as_str(), d)).collect();
        rows.extend(
            sqlx::query(&format!(
                "UPDATE event_versions e SET {}
                   FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::real[], $6::timestamptz[],
                               $7::timestamptz[])
                        AS d(event_id, mentions, articles, sources, confidence, first_seen, last_seen)
                  WHERE e.event_id = d.event_id AND e.coder_version = $8
                 RETURNING {EVENT_COLUMNS}",
                add_counts([
                    "d.mentions",
                    "d.articles",
                    "d.sources",
                    "d.confidence",
                    "d.first_seen",
                    "d.last_seen",
                ])
            ))
            .bind(copied.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>())
            .bind(c.iter().map(|c| c.0).collect::<Vec<_>>())
            .bind(c.iter().map(|c| c.1).collect::<Vec<_>>())
            .bind(c.iter().map(|c| c.2).collect::<Vec<_>>())
            .bind(c.iter().map(|c| c.3).collect::<Vec<_>>())
            .bind(copied.iter().map(|(_, d)| d.first_seen).collect::<Vec<_>>())
            .bind(copied.iter().map(|(_, d)| d.last_seen).collect::<Vec<_>>())
            .bind(version)
            .fetch_all(&mut **tx)
            .await?,
        );
    }

    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        let event_id: String = row.try_get("event_id")?;
        let target_code: Option<String> = row.try_get("target_code")?;
        let place_name: Option<String> = row.try_get("place_name")?;
        let place_country: Option<String> = row.try_get("place_country")?;
        events.push(EventMessage {
            evidence: by_event.remove(&event_id).unwrap_or_default(),
            date: row.try_get::<NaiveDate, _>("event_date")?,
            date_precision: row.try_get("date_precision")?,
            source: EventActor {
                code: row.try_get("source_code")?,
                name: row.try_get("source_name")?,
                country: row.try_get("source_country")?,
                role: row.try_get("source_role")?,
            },
            target: match target_code {
                Some(code) => Some(EventActor {
                    code,
                    name: row
                        .try_get::<Option<String>, _>("target_name")?
                        .unwrap_or_default(),
                    country: row.try_get("target_country")?,
                    role: row.try_get("target_role")?,
                }),
                None => None,
            },
            cameo: row.try_get("cameo_code")?,
            root: row.try_get("root_code")?,
            quad_class: row.try_get("quad_class")?,
            goldstein: row.try_get("goldstein")?,
            plover: row.try_get("plover")?,
            place: (place_name.is_some() || place_country.is_some()).then(|| EventPlace {
                name: place_name,
                country: place_country,
                lat: row.try_get("place_lat").ok().flatten(),
                lon: row.try_get("place_lon").ok().flatten(),
            }),
            num_mentions: row.try_get("num_mentions")?,
            num_articles: row.try_get("num_articles")?,
            num_sources: row.try_get("num_sources")?,
            first_seen: row.try_get("first_seen")?,
            last_seen: row.try_get("last_seen")?,
            story_id: row.try_get("story_id")?,
            coder_version: row.try_get("coder_version")?,
            event_id,
        });
    }
    events.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    Ok(events)
}

/// When an article was published (or, failing that, ingested): its time in stories and events.
pub fn seen_at(article: &ArticleMessage) -> DateTime<Utc> {
    article.published_at.unwrap_or(article.ingested_at)
}

/// Where a batch's articles go: each article's story, and how each touched story changes
/// once its articles are in it.
#[derive(Default)]
pub struct Placement {
    pub story_ids: Vec<i64>,
    pub changes: Vec<StoryChange>,
}

/// A story's new state, for [`refresh_stories`]: the span its articles widen it to and, when
/// articles joined it, its new term vector ([`terms_to_bytes`]) and postings day.
pub struct StoryChange {
    pub id: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub terms: Option<(Vec<u8>, NaiveDate)>,
}

/// Puts each article of the batch (and the copies dedup already linked to it) into a story:
/// the most similar story active within the window, or a new one, deciding in batch order
/// (see [`assign_batch`]). A handful of statements for the whole batch, whatever its size.
/// The copies join their stories here; the articles themselves join when they are marked
/// extracted ([`mark_extracted`]), after which the caller refreshes the stories' counts
/// ([`refresh_stories`] with the returned changes, which also store the stories' vectors).
pub async fn assign_stories(
    tx: &mut Tx,
    articles: &[(&ArticleMessage, &Signature)],
    params: &StoryParams,
) -> Result<Placement, sqlx::Error> {
    if articles.is_empty() {
        return Ok(Placement::default());
    }
    let seen: Vec<DateTime<Utc>> = articles.iter().map(|(a, _)| seen_at(a)).collect();
    // Every distinct lookup term of the batch, looked up once. Term hashes are u64; Postgres bigint
    // is signed, so they are stored bit-for-bit as i64.
    let lookups: Vec<Vec<u64>> = articles
        .iter()
        .map(|(_, sig)| lookup_terms(&sig.terms))
        .collect();
    let mut terms: Vec<i64> = lookups.iter().flatten().map(|t| term_to_db(*t)).collect();
    terms.sort_unstable();
    terms.dedup();
    let days = |d: i64| chrono::Days::new(u64::try_from(d).unwrap_or_default());
    let first = seen
        .iter()
        .min()
        .map(DateTime::date_naive)
        .unwrap_or_default();
    let last = seen
        .iter()
        .max()
        .map(DateTime::date_naive)
        .unwrap_or_default();
    let from = first
        .checked_sub_days(days(params.window_days))
        .unwrap_or(first);
    let to = last
        .checked_add_days(days(params.window_days))
        .unwrap_or(last);
    // Posting lists capped per term (see `newsflow_core::shortlist`), in one statement. Rows
    // are folded in as they arrive rather than collected first: once stories accumulate, a
    // batch reads hundreds of thousands of them (a `Vec` of all of them was the largest
    // allocation of a batch, and extract's peak memory rose with it).
    let mut postings: HashMap<u64, Vec<Posting>> = HashMap::new();
    let mut rows = sqlx::query_as::<_, (i64, i64, f32, NaiveDate)>(
        "SELECT t.term, c.story_id, c.weight, c.seen
           FROM unnest($1::bigint[]) AS t(term)
           CROSS JOIN LATERAL (
                SELECT story_id, weight, seen FROM story_terms
                 WHERE term = t.term AND seen BETWEEN $2 AND $3
                 ORDER BY seen DESC, story_id DESC
                 LIMIT $4) c",
    )
    .bind(&terms)
    .bind(from)
    .bind(to)
    .bind(i64::try_from(POSTINGS_PER_TERM).unwrap_or(i64::MAX))
    .fetch(&mut **tx);
    while let Some((term, story, weight, seen)) = rows.try_next().await? {
        postings
            .entry(term_from_db(term))
            .or_default()
            .push(Posting {
                story,
                weight,
                seen,
            });
    }
    drop(rows);
    // Each article's shortlist: the stories in its window sharing the most term weight with it.
    let shortlists: Vec<Vec<i64>> = lookups
        .iter()
        .zip(&seen)
        .map(|(lookup, seen)| {
            shortlist(
                lookup,
                seen.date_naive(),
                &postings,
                params.window_days,
                SHORTLIST,
            )
        })
        .collect();
    let mut wanted: Vec<i64> = shortlists.iter().flatten().copied().collect();
    wanted.sort_unstable();
    wanted.dedup();
    // Up to SHORTLIST stories per article, each with its whole term vector (one row per
    // story), and the day its postings were written on.
    let mut stored: HashMap<i64, (Terms, NaiveDate)> = HashMap::new();
    let mut posted: HashMap<i64, NaiveDate> = HashMap::new();
    let mut rows = sqlx::query_as::<_, (i64, Option<Vec<u8>>, Option<NaiveDate>, DateTime<Utc>)>(
        "SELECT id, terms, terms_day, last_seen FROM stories WHERE id = ANY($1)",
    )
    .bind(&wanted)
    .fetch(&mut **tx);
    while let Some((story, terms, day, last_seen)) = rows.try_next().await? {
        let terms = terms
            .as_deref()
            .and_then(terms_from_bytes)
            .unwrap_or_default();
        if let Some(day) = day {
            posted.insert(story, day);
        }
        stored.insert(story, (terms, last_seen.date_naive()));
    }
    drop(rows);

    let input: Vec<(&Signature, NaiveDate)> = articles
        .iter()
        .zip(&seen)
        .map(|((_, sig), seen)| (*sig, seen.date_naive()))
        .collect();
    let plan = assign_batch(&input, &shortlists, &stored, params);

    // New stories get their ids from the table's own sequence, one round trip for all.
    let new_ids: Vec<i64> = sqlx::query_scalar(
        "SELECT nextval(pg_get_serial_sequence('stories', 'id')) FROM generate_series(1, $1)",
    )
    .bind(i64::try_from(plan.new_stories).unwrap_or(i64::MAX))
    .fetch_all(&mut **tx)
    .await?;
    let id_of = |r: &StoryRef<i64>| match r {
        StoryRef::Existing(id) => *id,
        StoryRef::New(n) => new_ids.get(*n).copied().unwrap_or_default(),
    };
    let story_ids: Vec<i64> = plan.assignments.iter().map(id_of).collect();

    // A new story is titled by its first article's headline.
    let mut titles: Vec<Option<&str>> = vec![None; plan.new_stories];
    let mut first_seen: HashMap<i64, DateTime<Utc>> = HashMap::new();
    let mut last_seen: HashMap<i64, DateTime<Utc>> = HashMap::new();
    for (((article, _), r), seen) in articles.iter().zip(&plan.assignments).zip(&seen) {
        let id = id_of(r);
        if let StoryRef::New(n) = r
            && let Some(t) = titles.get_mut(*n)
            && t.is_none()
        {
            *t = Some(article.title.as_deref().unwrap_or_default());
        }
        first_seen
            .entry(id)
            .and_modify(|f| *f = (*f).min(*seen))
            .or_insert(*seen);
        last_seen
            .entry(id)
            .and_modify(|l| *l = (*l).max(*seen))
            .or_insert(*seen);
    }
    if plan.new_stories > 0 {
        let new_first: Vec<DateTime<Utc>> = new_ids
            .iter()
            .map(|id| first_seen.get(id).copied().unwrap_or_else(Utc::now))
            .collect();
        sqlx::query(
            "INSERT INTO stories (id, title, first_seen, last_seen)
             SELECT id, nullif(title, ''), seen, seen FROM unnest($1::bigint[], $2::text[], $3::timestamptz[])
                    AS x(id, title, seen)",
        )
        .bind(&new_ids)
        .bind(&titles)
        .bind(&new_first)
        .execute(&mut **tx)
        .await?;
    }

    // Postings change only where a story's rounded weights or its day moved
    // (`posting_changes`); the story's exact vector is rewritten whole, in its one row, by
    // `refresh_stories`. A posting's day is the story's last-seen day.
    let touched: Vec<i64> = plan.touched.iter().map(|(r, _, _)| id_of(r)).collect();
    let mut vectors: HashMap<i64, (Vec<u8>, NaiveDate)> = HashMap::new();
    let (mut rewrite, mut gone_story, mut gone_term, mut gone_seen) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut term_story, mut term_hash, mut term_weight, mut term_seen) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (r, terms, day) in &plan.touched {
        let id = id_of(r);
        let old = match r {
            StoryRef::New(_) => None,
            StoryRef::Existing(_) => match (stored.get(&id), posted.get(&id)) {
                (Some((old, _)), Some(old_day)) => Some((old.as_slice(), *old_day)),
                // No record of what its postings hold: all of them are rewritten.
                _ => {
                    rewrite.push(id);
                    None
                }
            },
        };
        let changes = posting_changes(old, terms, *day);
        for t in changes.remove {
            gone_story.push(id);
            gone_term.push(term_to_db(t));
            gone_seen.push(old.map(|(_, d)| d).unwrap_or(*day));
        }
        for (t, w) in changes.write {
            term_story.push(id);
            term_hash.push(term_to_db(t));
            term_weight.push(w);
            term_seen.push(*day);
        }
        vectors.insert(id, (terms_to_bytes(terms), *day));
    }
    if !rewrite.is_empty() {
        sqlx::query("DELETE FROM story_terms WHERE story_id = ANY($1)")
            .bind(&rewrite)
            .execute(&mut **tx)
            .await?;
    }
    if !gone_story.is_empty() {
        // By the postings index's whole key (term, seen, story): a term and story alone make
        // it walk every posting of the term, thousands for a common one.
        sqlx::query(
            "DELETE FROM story_terms st
              USING unnest($1::bigint[], $2::bigint[], $3::date[]) AS x(story, term, seen)
              WHERE st.term = x.term AND st.seen = x.seen AND st.story_id = x.story",
        )
        .bind(&gone_story)
        .bind(&gone_term)
        .bind(&gone_seen)
        .execute(&mut **tx)
        .await?;
    }
    if !term_story.is_empty() {
        sqlx::query(
            "INSERT INTO story_terms (story_id, term, weight, seen)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::real[], $4::date[])",
        )
        .bind(&term_story)
        .bind(&term_hash)
        .bind(&term_weight)
        .bind(&term_seen)
        .execute(&mut **tx)
        .await?;
    }
    let article_ids: Vec<i64> = articles.iter().map(|(a, _)| a.article_id).collect();
    // Copies dedup linked before their originals were placed join the stories here, and
    // widen the stories' spans to their own times (the articles' own times are counted above).
    let joined: Vec<(i64, DateTime<Utc>)> = sqlx::query_as(
        "UPDATE articles a SET story_id = x.story
           FROM unnest($1::bigint[], $2::bigint[]) AS x(article, story) WHERE a.duplicate_of = x.article
         RETURNING a.story_id, coalesce(a.published_at, a.ingested_at)",
    )
    .bind(&article_ids)
    .bind(&story_ids)
    .fetch_all(&mut **tx)
    .await?;
    for (id, seen) in joined {
        first_seen
            .entry(id)
            .and_modify(|f| *f = (*f).min(seen))
            .or_insert(seen);
        last_seen
            .entry(id)
            .and_modify(|l| *l = (*l).max(seen))
            .or_insert(seen);
    }
    let changes = touched
        .iter()
        .filter_map(|id| {
            Some(StoryChange {
                id: *id,
                first_seen: *first_seen.get(id)?,
                last_seen: *last_seen.get(id)?,
                terms: vectors.remove(id),
            })
        })
        .collect();
    Ok(Placement { story_ids, changes })
}

/// Copies join their originals' stories (where the original already has one). Pairs are
/// (original, copy).
pub async fn join_original_stories(tx: &mut Tx, pairs: &[(i64, i64)]) -> Result<(), sqlx::Error> {
    if pairs.is_empty() {
        return Ok(());
    }
    let (originals, copies): (Vec<i64>, Vec<i64>) = pairs.iter().copied().unzip();
    let joined: Vec<(i64, DateTime<Utc>)> = sqlx::query_as(
        "UPDATE articles c SET story_id = o.story_id
           FROM unnest($1::bigint[], $2::bigint[]) AS x(original, copy)
           JOIN articles o ON o.id = x.original
          WHERE c.id = x.copy AND o.story_id IS NOT NULL
         RETURNING c.story_id, coalesce(c.published_at, c.ingested_at)",
    )
    .bind(&originals)
    .bind(&copies)
    .fetch_all(&mut **tx)
    .await?;
    let mut spans: HashMap<i64, (DateTime<Utc>, DateTime<Utc>)> = HashMap::new();
    for (story, seen) in joined {
        spans
            .entry(story)
            .and_modify(|(f, l)| {
                *f = (*f).min(seen);
                *l = (*l).max(seen);
            })
            .or_insert((seen, seen));
    }
    let changes: Vec<StoryChange> = spans
        .into_iter()
        .map(|(id, (first_seen, last_seen))| StoryChange {
            id,
            first_seen,
            last_seen,
            terms: None,
        })
        .collect();
    refresh_stories(tx, &changes).await
}

/// Recomputes stories' counts from their articles, widens their first/last seen to the
/// changes' spans, and stores the term vectors of those that have new ones.
pub async fn refresh_stories(tx: &mut Tx, changes: &[StoryChange]) -> Result<(), sqlx::Error> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut sorted: Vec<&StoryChange> = changes.iter().collect();
    // In id order: concurrent writers (there are none under the merge lock, but the report
    // tools may update stories) always lock rows in the same order.
    sorted.sort_unstable_by_key(|c| c.id);
    let ids: Vec<i64> = sorted.iter().map(|c| c.id).collect();
    let firsts: Vec<DateTime<Utc>> = sorted.iter().map(|c| c.first_seen).collect();
    let lasts: Vec<DateTime<Utc>> = sorted.iter().map(|c| c.last_seen).collect();
    let terms: Vec<Option<&[u8]>> = sorted
        .iter()
        .map(|c| c.terms.as_ref().map(|(t, _)| t.as_slice()))
        .collect();
    let days: Vec<Option<NaiveDate>> = sorted
        .iter()
        .map(|c| c.terms.as_ref().map(|(_, d)| *d))
        .collect();
    sqlx::query(
        "UPDATE stories s SET last_seen = GREATEST(s.last_seen, x.last_seen),
                first_seen = LEAST(s.first_seen, x.first_seen),
                article_count = c.originals, copy_count = c.copies, source_count = c.sources,
                terms = coalesce(x.terms, s.terms), terms_day = coalesce(x.terms_day, s.terms_day)
           FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::bytea[], $5::date[])
                AS x(id, first_seen, last_seen, terms, terms_day)
           CROSS JOIN LATERAL (
                SELECT count(*) FILTER (WHERE duplicate_of IS NULL)::int AS originals,
                       count(*) FILTER (WHERE duplicate_of IS NOT NULL)::int AS copies,
                       count(DISTINCT source)::int AS sources
                  FROM articles WHERE story_id = x.id) c
          WHERE s.id = x.id",
    )
    .bind(&ids)
    .bind(&firsts)
    .bind(&lasts)
    .bind(&terms)
    .bind(&days)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
