//! SQL of the dedup stage. Bulk statements (`unnest` of arrays) keep a batch to a handful of
//! round trips.

use chrono::{DateTime, Utc};
use newsflow_core::article::Article;
use newsflow_runtime::stage::Position;
use sqlx::{Postgres, Transaction};

/// Advisory lock serialising duplicate decisions across replicas ("newsflow dedup").
const DECISION_LOCK: i64 = 0x6e65_7773_6465_6475;

/// An article row to insert.
pub struct ArticleRow<'a> {
    pub id: i64,
    pub article_key: &'a str,
    pub article: &'a Article,
    pub content_hash: i64,
    /// (original's id, match kind, similarity) for duplicates.
    pub duplicate: Option<(i64, &'static str, f64)>,
    pub position: Position,
    pub ingested_at: DateTime<Utc>,
    /// The raw message's Kafka timestamp.
    pub produced_at: Option<DateTime<Utc>>,
}

/// A message that could not become an article.
pub struct RejectedRow {
    pub error_class: &'static str,
    pub reason: String,
    pub payload_bytes: i32,
    pub position: Position,
}

/// A stored original that may match an incoming article.
#[derive(sqlx::FromRow)]
pub struct Candidate {
    pub id: i64,
    pub article_key: String,
    pub canonical_url: Option<String>,
    pub content_hash: i64,
    pub body: String,
}

/// Takes the decision lock until the transaction ends.
pub async fn lock_decisions(tx: &mut Transaction<'static, Postgres>) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(DECISION_LOCK)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Originals sharing a canonical URL, a content hash or an LSH band with the batch.
pub async fn candidates(
    tx: &mut Transaction<'static, Postgres>,
    urls: &[&str],
    hashes: &[i64],
    bands: &[i64],
) -> Result<Vec<Candidate>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.id, a.article_key, a.canonical_url, a.content_hash, a.body
           FROM articles a
          WHERE a.id IN (
                SELECT id FROM articles WHERE canonical_url = ANY($1) AND duplicate_of IS NULL
                UNION
                SELECT id FROM articles WHERE content_hash = ANY($2) AND duplicate_of IS NULL
                UNION
                SELECT article_id FROM article_bands WHERE band_key = ANY($3))
          ORDER BY a.id",
    )
    .bind(urls)
    .bind(hashes)
    .bind(bands)
    .fetch_all(&mut **tx)
    .await
}

/// Reserves `n` article ids, so duplicates inside one batch can point at their original.
pub async fn allocate_ids(
    tx: &mut Transaction<'static, Postgres>,
    n: usize,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT nextval('articles_id_seq') FROM generate_series(1, $1)")
        .bind(i32::try_from(n).unwrap_or(i32::MAX))
        .fetch_all(&mut **tx)
        .await
}

pub async fn insert_articles(
    tx: &mut Transaction<'static, Postgres>,
    rows: &[ArticleRow<'_>],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let n = rows.len();
    let mut ids = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    let mut external_ids = Vec::with_capacity(n);
    let mut urls = Vec::with_capacity(n);
    let mut canonical = Vec::with_capacity(n);
    let mut hashes = Vec::with_capacity(n);
    let mut titles = Vec::with_capacity(n);
    let mut descriptions = Vec::with_capacity(n);
    let mut bodies = Vec::with_capacity(n);
    let mut sources = Vec::with_capacity(n);
    let mut languages = Vec::with_capacity(n);
    let mut authors = Vec::with_capacity(n);
    let mut published = Vec::with_capacity(n);
    let mut modified = Vec::with_capacity(n);
    let mut ingested = Vec::with_capacity(n);
    let mut produced = Vec::with_capacity(n);
    let mut word_counts = Vec::with_capacity(n);
    let mut duplicate_of = Vec::with_capacity(n);
    let mut kinds = Vec::with_capacity(n);
    let mut similarities = Vec::with_capacity(n);
    let mut topics = Vec::with_capacity(n);
    let mut partitions = Vec::with_capacity(n);
    let mut offsets = Vec::with_capacity(n);
    for r in rows {
        let a = r.article;
        ids.push(r.id);
        keys.push(r.article_key);
        external_ids.push(a.external_id.as_deref());
        urls.push(a.url.as_deref());
        canonical.push(a.canonical_url.as_deref());
        hashes.push(r.content_hash);
        titles.push(a.title.as_deref());
        descriptions.push(a.description.as_deref());
        bodies.push(a.text.as_str());
        sources.push(a.source.as_deref());
        languages.push(a.language.as_deref());
        authors.push(serde_json::json!(a.authors));
        published.push(a.published_at);
        modified.push(a.modified_at);
        ingested.push(r.ingested_at);
        produced.push(r.produced_at);
        word_counts.push(i32::try_from(a.text.split_whitespace().count()).unwrap_or(i32::MAX));
        duplicate_of.push(r.duplicate.map(|d| d.0));
        kinds.push(r.duplicate.map(|d| d.1));
        similarities.push(r.duplicate.map(|d| d.2 as f32));
        topics.push(r.position.topic.as_str());
        partitions.push(r.position.partition);
        offsets.push(r.position.offset);
    }
    sqlx::query(
        "INSERT INTO articles (id, article_key, external_id, url, canonical_url, content_hash, title,
                               description, body, source, language, authors, published_at, modified_at,
                               ingested_at, word_count, duplicate_of, duplicate_kind, similarity,
                               src_topic, src_partition, src_offset, produced_at)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
                              $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::jsonb[],
                              $13::timestamptz[], $14::timestamptz[], $15::timestamptz[], $16::int[],
                              $17::bigint[], $18::text[], $19::real[], $20::text[], $21::int[], $22::bigint[],
                              $23::timestamptz[])
         ON CONFLICT (src_topic, src_partition, src_offset) DO NOTHING",
    )
    .bind(&ids)
    .bind(&keys)
    .bind(&external_ids)
    .bind(&urls)
    .bind(&canonical)
    .bind(&hashes)
    .bind(&titles)
    .bind(&descriptions)
    .bind(&bodies)
    .bind(&sources)
    .bind(&languages)
    .bind(&authors)
    .bind(&published)
    .bind(&modified)
    .bind(&ingested)
    .bind(&word_counts)
    .bind(&duplicate_of)
    .bind(&kinds)
    .bind(&similarities)
    .bind(&topics)
    .bind(&partitions)
    .bind(&offsets)
    .bind(&produced)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Indexes originals' LSH bands.
pub async fn insert_bands(
    tx: &mut Transaction<'static, Postgres>,
    bands: &[(i64, i64)],
) -> Result<(), sqlx::Error> {
    if bands.is_empty() {
        return Ok(());
    }
    let (keys, ids): (Vec<i64>, Vec<i64>) = bands.iter().copied().unzip();
    sqlx::query(
        "INSERT INTO article_bands (band_key, article_id)
         SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING",
    )
    .bind(&keys)
    .bind(&ids)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn insert_rejected(
    tx: &mut Transaction<'static, Postgres>,
    rows: &[RejectedRow],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let classes: Vec<&str> = rows.iter().map(|r| r.error_class).collect();
    // Postgres text cannot hold NUL; a reason may quote the input.
    let reasons: Vec<String> = rows
        .iter()
        .map(|r| r.reason.replace('\0', "\u{fffd}"))
        .collect();
    let sizes: Vec<i32> = rows.iter().map(|r| r.payload_bytes).collect();
    let topics: Vec<&str> = rows.iter().map(|r| r.position.topic.as_str()).collect();
    let partitions: Vec<i32> = rows.iter().map(|r| r.position.partition).collect();
    let offsets: Vec<i64> = rows.iter().map(|r| r.position.offset).collect();
    sqlx::query(
        "INSERT INTO rejected_messages (error_class, reason, payload_bytes, src_topic, src_partition, src_offset)
         SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::int[], $6::bigint[])
         ON CONFLICT (src_topic, src_partition, src_offset) DO NOTHING",
    )
    .bind(&classes)
    .bind(&reasons)
    .bind(&sizes)
    .bind(&topics)
    .bind(&partitions)
    .bind(&offsets)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
