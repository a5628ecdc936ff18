//! SQL of the extract stage.

use chrono::{DateTime, NaiveDate, Utc};
use newsflow_core::coding::Mention;
use newsflow_core::messages::{
    ArticleMessage, EventActor, EventEvidence, EventMessage, EventPlace,
};
use newsflow_core::stories::{Candidate, Signature, StoryParams, assign, merge_terms};
use newsflow_runtime::stage::Position;
use sqlx::{Postgres, Row, Transaction};

/// Advisory lock serialising event merges and story decisions across replicas ("newsflow extract").
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

/// True when this article was already coded by this coder version (a re-sent message).
pub async fn already_extracted(
    tx: &mut Tx,
    article_id: i64,
    version: &str,
) -> Result<bool, sqlx::Error> {
    let found: Option<Option<String>> = sqlx::query_scalar(
        "SELECT coder_version FROM articles WHERE id = $1 AND extracted_at IS NOT NULL",
    )
    .bind(article_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(found.flatten().as_deref() == Some(version))
}

pub async fn mark_extracted(
    tx: &mut Tx,
    article_id: i64,
    version: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE articles SET extracted_at = now(), coder_version = $2 WHERE id = $1")
        .bind(article_id)
        .bind(version)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn as_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Creates the events the mentions report (first report's fields win) and records the
/// mentions, in two bulk statements. Returns the event ids touched.
pub async fn insert_mentions(
    tx: &mut Tx,
    article: &ArticleMessage,
    mentions: &[Mention],
    version: &str,
) -> Result<Vec<String>, sqlx::Error> {
    if mentions.is_empty() {
        return Ok(Vec::new());
    }
    let seen: DateTime<Utc> = article.published_at.unwrap_or(article.ingested_at);
    let ids: Vec<String> = mentions.iter().map(Mention::event_id).collect();
    let col = |f: &dyn Fn(&Mention) -> Option<String>| -> Vec<Option<String>> {
        mentions.iter().map(f).collect()
    };
    let dates: Vec<NaiveDate> = mentions.iter().map(|m| m.date).collect();
    let precision = col(&|m| Some(m.date_precision.clone()));
    let source_code = col(&|m| Some(m.source.code.clone()));
    let source_name = col(&|m| Some(m.source.name.clone()));
    let source_country = col(&|m| m.source.country.clone());
    let source_role = col(&|m| m.source.role.clone());
    let target_code = col(&|m| m.target.as_ref().map(|t| t.code.clone()));
    let target_name = col(&|m| m.target.as_ref().map(|t| t.name.clone()));
    let target_country = col(&|m| m.target.as_ref().and_then(|t| t.country.clone()));
    let target_role = col(&|m| m.target.as_ref().and_then(|t| t.role.clone()));
    let cameo = col(&|m| Some(m.cameo.clone()));
    let roots: Vec<i16> = mentions.iter().map(|m| i16::from(m.root)).collect();
    let quads: Vec<i16> = mentions.iter().map(|m| i16::from(m.quad_class)).collect();
    let goldstein: Vec<f32> = mentions.iter().map(|m| m.goldstein).collect();
    let plover = col(&|m| Some(m.plover.clone()));
    let place_name = col(&|m| m.place.as_ref().map(|p| p.name.clone()));
    let place_country = col(&|m| m.place.as_ref().map(|p| p.country.clone()));
    let lat: Vec<Option<f64>> = mentions
        .iter()
        .map(|m| m.place.as_ref().and_then(|p| p.lat))
        .collect();
    let lon: Vec<Option<f64>> = mentions
        .iter()
        .map(|m| m.place.as_ref().and_then(|p| p.lon))
        .collect();
    sqlx::query(
        "INSERT INTO events (event_id, event_date, date_precision, source_code, source_name, source_country,
                             source_role, target_code, target_name, target_country, target_role, cameo_code,
                             root_code, quad_class, goldstein, plover, place_name, place_country, place_lat,
                             place_lon, first_seen, last_seen, story_id, coder_version)
         SELECT e.*, $21, $21, (SELECT story_id FROM articles WHERE id = $22), $23
           FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                       $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::smallint[],
                       $14::smallint[], $15::real[], $16::text[], $17::text[], $18::text[],
                       $19::double precision[], $20::double precision[]) AS e
         ORDER BY 1
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(&ids)
    .bind(&dates)
    .bind(&precision)
    .bind(&source_code)
    .bind(&source_name)
    .bind(&source_country)
    .bind(&source_role)
    .bind(&target_code)
    .bind(&target_name)
    .bind(&target_country)
    .bind(&target_role)
    .bind(&cameo)
    .bind(&roots)
    .bind(&quads)
    .bind(&goldstein)
    .bind(&plover)
    .bind(&place_name)
    .bind(&place_country)
    .bind(&lat)
    .bind(&lon)
    .bind(seen)
    .bind(article.article_id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
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
        "INSERT INTO event_mentions (event_id, article_id, sentence_no, sentence, in_title, sentence_start,
                                     sentence_end, source_start, source_end, target_start, target_end,
                                     action_start, action_end, action_text, date_source, confidence, is_copy,
                                     source, mentioned_at, coder_version)
         SELECT m.event_id, $16, m.sentence_no, m.sentence, m.in_title, m.sentence_start, m.sentence_end,
                m.source_start, m.source_end, m.target_start, m.target_end, m.action_start, m.action_end,
                m.action_text, m.date_source, m.confidence, false, $17, $18, $19
           FROM unnest($1::text[], $2::int[], $3::text[], $4::bool[], $5::int[], $6::int[], $7::int[], $8::int[],
                       $9::int[], $10::int[], $11::int[], $12::int[], $13::text[], $14::text[], $15::real[])
                AS m(event_id, sentence_no, sentence, in_title, sentence_start, sentence_end, source_start,
                     source_end, target_start, target_end, action_start, action_end, action_text, date_source,
                     confidence)
         ON CONFLICT DO NOTHING",
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
    .bind(article.article_id)
    .bind(&article.source)
    .bind(seen)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(ids)
}

/// Gives copies of `original_id` (all of them, or just `copy_id`) the original's mentions,
/// as reports by the copies' outlets. Returns the event ids touched.
pub async fn copy_mentions(
    tx: &mut Tx,
    original_id: i64,
    copy_id: Option<i64>,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO event_mentions (event_id, article_id, sentence_no, sentence, in_title, sentence_start,
                                     sentence_end, source_start, source_end, target_start, target_end,
                                     action_start, action_end, action_text, date_source, confidence, is_copy,
                                     source, mentioned_at, coder_version)
         SELECT m.event_id, d.id, m.sentence_no, m.sentence, m.in_title, m.sentence_start, m.sentence_end,
                m.source_start, m.source_end, m.target_start, m.target_end, m.action_start, m.action_end,
                m.action_text, m.date_source, m.confidence, true, d.source,
                coalesce(d.published_at, d.ingested_at), m.coder_version
           FROM event_mentions m
           JOIN articles d ON d.duplicate_of = m.article_id
          WHERE m.article_id = $1 AND NOT m.is_copy AND ($2::bigint IS NULL OR d.id = $2)
         ON CONFLICT DO NOTHING
         RETURNING event_id",
    )
    .bind(original_id)
    .bind(copy_id)
    .fetch_all(&mut **tx)
    .await
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

/// Recomputes the counts of `event_ids` from their mentions and returns their new state,
/// with evidence, for publishing.
pub async fn refresh_events(
    tx: &mut Tx,
    event_ids: &[String],
) -> Result<Vec<EventMessage>, sqlx::Error> {
    if event_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "UPDATE events e
            SET num_mentions = c.mentions, num_articles = c.articles, num_sources = c.sources,
                avg_confidence = c.confidence, first_seen = LEAST(e.first_seen, c.first_seen),
                last_seen = GREATEST(e.last_seen, c.last_seen), updated_at = now()
           FROM (SELECT event_id, count(*)::int AS mentions, count(DISTINCT article_id)::int AS articles,
                        count(DISTINCT source)::int AS sources, avg(confidence)::real AS confidence,
                        min(mentioned_at) AS first_seen, max(mentioned_at) AS last_seen
                   FROM event_mentions WHERE event_id = ANY($1) GROUP BY event_id) c
          WHERE e.event_id = c.event_id
         RETURNING e.event_id, e.event_date, e.date_precision, e.source_code, e.source_name, e.source_country,
                   e.source_role, e.target_code, e.target_name, e.target_country, e.target_role, e.cameo_code,
                   e.root_code, e.quad_class, e.goldstein, e.plover, e.place_name, e.place_country, e.place_lat,
                   e.place_lon, e.num_mentions, e.num_articles, e.num_sources, e.first_seen, e.last_seen,
                   e.story_id, e.coder_version",
    )
    .bind(event_ids)
    .fetch_all(&mut **tx)
    .await?;
    let evidence: Vec<EvidenceRow> = sqlx::query_as(
        "SELECT event_id, url, source, sentence_no, sentence, is_copy FROM (
             SELECT m.event_id, a.url, m.source, m.sentence_no, m.sentence, m.is_copy,
                    row_number() OVER (PARTITION BY m.event_id ORDER BY m.is_copy, m.id) AS n
               FROM event_mentions m JOIN articles a ON a.id = m.article_id
              WHERE m.event_id = ANY($1)) x
          WHERE n <= 5 ORDER BY event_id, n",
    )
    .bind(event_ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut by_event: std::collections::HashMap<String, Vec<EventEvidence>> =
        std::collections::HashMap::new();
    for (event_id, url, source, sentence_no, sentence, is_copy) in evidence {
        by_event.entry(event_id).or_default().push(EventEvidence {
            url,
            source,
            sentence_no,
            sentence,
            is_copy,
        });
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

/// Candidate stories compared in full per article: those sharing the most term weight with
/// it. Without the cut, every story in the window that shares one common term (a country)
/// was fetched and compared, thousands per article on a busy day.
const STORY_SHORTLIST: i64 = 32;

/// Puts the article (and the copies dedup already linked to it) into a story: the most
/// similar story active within the window, or a new one. Returns the story id.
pub async fn assign_story(
    tx: &mut Tx,
    article: &ArticleMessage,
    signature: &Signature,
    params: &StoryParams,
) -> Result<i64, sqlx::Error> {
    let seen = article.published_at.unwrap_or(article.ingested_at);
    let day = seen.date_naive();
    // Term hashes are u64; Postgres bigint is signed, so they are stored bit-for-bit as i64.
    let terms: Vec<i64> = signature.terms.iter().map(|(t, _)| *t as i64).collect();
    let rows: Vec<(i64, i64, f32, DateTime<Utc>)> = sqlx::query_as(
        "WITH shortlist AS (
             SELECT c.story_id
               FROM story_terms c JOIN stories cs ON cs.id = c.story_id
              WHERE c.term = ANY($1)
                AND cs.last_seen BETWEEN $2 - make_interval(days => $3) AND $2 + make_interval(days => $3 + 1)
              GROUP BY c.story_id
              ORDER BY sum(c.weight) DESC, c.story_id
              LIMIT $4)
         SELECT st.story_id, st.term, st.weight, s.last_seen
           FROM story_terms st JOIN stories s ON s.id = st.story_id
          WHERE st.story_id IN (SELECT story_id FROM shortlist)
          ORDER BY st.story_id",
    )
    .bind(&terms)
    .bind(seen)
    .bind(i32::try_from(params.window_days).unwrap_or(i32::MAX))
    .bind(STORY_SHORTLIST)
    .fetch_all(&mut **tx)
    .await?;
    let mut candidates: Vec<Candidate<i64>> = Vec::new();
    for (story, term, weight, last_seen) in rows {
        match candidates.last_mut() {
            Some((id, terms, _)) if *id == story => terms.push((term as u64, weight)),
            _ => candidates.push((story, vec![(term as u64, weight)], last_seen.date_naive())),
        }
    }
    for (_, terms, _) in &mut candidates {
        terms.sort_unstable_by_key(|(t, _)| *t);
    }
    let (story_id, old_terms) = match assign(signature, day, &candidates, params) {
        Some((id, _)) => {
            let terms = candidates
                .iter()
                .find(|c| c.0 == id)
                .map(|c| c.1.clone())
                .unwrap_or_default();
            (id, terms)
        }
        None => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO stories (title, first_seen, last_seen) VALUES ($1, $2, $2) RETURNING id",
            )
            .bind(&article.title)
            .bind(seen)
            .fetch_one(&mut **tx)
            .await?;
            (id, Vec::new())
        }
    };
    let merged = merge_terms(&old_terms, signature, params);
    let (hashes, weights): (Vec<i64>, Vec<f32>) =
        merged.iter().map(|(t, w)| (*t as i64, *w)).unzip();
    sqlx::query("DELETE FROM story_terms WHERE story_id = $1")
        .bind(story_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO story_terms (term, story_id, weight, seen)
         SELECT t, $1, w, $4::date FROM unnest($2::bigint[], $3::real[]) AS x(t, w)",
    )
    .bind(story_id)
    .bind(&hashes)
    .bind(&weights)
    .bind(day)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE articles SET story_id = $1 WHERE id = $2 OR duplicate_of = $2")
        .bind(story_id)
        .bind(article.article_id)
        .execute(&mut **tx)
        .await?;
    refresh_story(tx, story_id, seen).await?;
    Ok(story_id)
}

/// A copy joins its original's story (when the original already has one).
pub async fn join_original_story(
    tx: &mut Tx,
    original_id: i64,
    copy_id: i64,
) -> Result<(), sqlx::Error> {
    let story: Option<(Option<i64>, DateTime<Utc>)> = sqlx::query_as(
        "UPDATE articles c SET story_id = o.story_id FROM articles o
          WHERE c.id = $2 AND o.id = $1 AND o.story_id IS NOT NULL
         RETURNING c.story_id, coalesce(c.published_at, c.ingested_at)",
    )
    .bind(original_id)
    .bind(copy_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((Some(story_id), seen)) = story {
        refresh_story(tx, story_id, seen).await?;
    }
    Ok(())
}

/// Recomputes a story's counts from its articles.
async fn refresh_story(tx: &mut Tx, story_id: i64, seen: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE stories s SET last_seen = GREATEST(s.last_seen, $2), first_seen = LEAST(s.first_seen, $2),
                article_count = c.originals, copy_count = c.copies, source_count = c.sources
           FROM (SELECT count(*) FILTER (WHERE duplicate_of IS NULL)::int AS originals,
                        count(*) FILTER (WHERE duplicate_of IS NOT NULL)::int AS copies,
                        count(DISTINCT source)::int AS sources
                   FROM articles WHERE story_id = $1) c
          WHERE s.id = $1",
    )
    .bind(story_id)
    .bind(seen)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
