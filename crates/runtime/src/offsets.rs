//! Consumed offsets stored in Postgres, in the same transaction as the rows they produced.
//!
//! This is what makes each stage's effect in Postgres exactly-once: a batch's rows and the
//! `next_offset` after it commit together or not at all. Inside the transaction the stored
//! offsets are read `FOR UPDATE`, so a zombie consumer that still holds a revoked partition
//! waits for the new owner and then skips what it already committed.

use std::collections::HashMap;

use sqlx::{PgPool, Postgres, Transaction};

/// Stored `next_offset`s for the given partitions (missing ones are absent from the map).
pub async fn load(
    pool: &PgPool,
    group: &str,
    partitions: &[(String, i32)],
) -> Result<HashMap<(String, i32), i64>, sqlx::Error> {
    let (topics, parts): (Vec<String>, Vec<i32>) = partitions.iter().cloned().unzip();
    let rows: Vec<(String, i32, i64)> = sqlx::query_as(
        "SELECT o.topic, o.partition, o.next_offset
           FROM consumer_offsets o
           JOIN unnest($2::text[], $3::int[]) AS w(topic, partition)
             ON w.topic = o.topic AND w.partition = o.partition
          WHERE o.consumer_group = $1",
    )
    .bind(group)
    .bind(&topics)
    .bind(&parts)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(t, p, o)| ((t, p), o)).collect())
}

/// Locks the offset rows of the given partitions for this transaction and returns their
/// `next_offset` (0 for a partition never seen before). Rows are created first so two
/// consumers of one partition serialise on the row lock; locking in a sorted order avoids
/// deadlocks between transactions that touch several partitions.
pub async fn lock(
    tx: &mut Transaction<'_, Postgres>,
    group: &str,
    partitions: &[(String, i32)],
) -> Result<HashMap<(String, i32), i64>, sqlx::Error> {
    let mut sorted = partitions.to_vec();
    sorted.sort();
    sorted.dedup();
    let (topics, parts): (Vec<String>, Vec<i32>) = sorted.into_iter().unzip();
    sqlx::query(
        "INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset)
         SELECT $1, t, p, 0 FROM unnest($2::text[], $3::int[]) AS w(t, p)
         ORDER BY t, p
         ON CONFLICT DO NOTHING",
    )
    .bind(group)
    .bind(&topics)
    .bind(&parts)
    .execute(&mut **tx)
    .await?;
    let rows: Vec<(String, i32, i64)> = sqlx::query_as(
        "SELECT o.topic, o.partition, o.next_offset
           FROM consumer_offsets o
           JOIN unnest($2::text[], $3::int[]) AS w(topic, partition)
             ON w.topic = o.topic AND w.partition = o.partition
          WHERE o.consumer_group = $1
          ORDER BY o.topic, o.partition
            FOR UPDATE OF o",
    )
    .bind(group)
    .bind(&topics)
    .bind(&parts)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(t, p, o)| ((t, p), o)).collect())
}

/// Records `next_offset` for each partition; never moves an offset backwards.
pub async fn store(
    tx: &mut Transaction<'_, Postgres>,
    group: &str,
    next: &HashMap<(String, i32), i64>,
) -> Result<(), sqlx::Error> {
    if next.is_empty() {
        return Ok(());
    }
    let mut topics = Vec::with_capacity(next.len());
    let mut parts = Vec::with_capacity(next.len());
    let mut offsets = Vec::with_capacity(next.len());
    for ((t, p), o) in next {
        topics.push(t.clone());
        parts.push(*p);
        offsets.push(*o);
    }
    sqlx::query(
        "INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset, updated_at)
         SELECT $1, t, p, o, now() FROM unnest($2::text[], $3::int[], $4::bigint[]) AS w(t, p, o)
         ON CONFLICT (consumer_group, topic, partition) DO UPDATE
            SET next_offset = GREATEST(consumer_offsets.next_offset, EXCLUDED.next_offset),
                updated_at = now()",
    )
    .bind(group)
    .bind(&topics)
    .bind(&parts)
    .bind(&offsets)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
