//! Incremental event counts: what a batch of newly stored mentions adds to each event's
//! mention, article and outlet counts, mean confidence and first/last seen.
//!
//! The extract stage used to recount every touched event from all of its mentions; a busy
//! event has thousands, so each batch got dearer as the stream went on. Instead it folds the
//! batch's new mentions into per-event deltas here and adds them to the stored counts. Every
//! article among a batch's new mentions is new to its event (the store writes all of an
//! article's mentions in one transaction); which outlets are new is the caller's knowledge
//! (the store's `event_sources` rows). This module only groups and sums.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

/// One newly stored mention, as the counts see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Added {
    pub event_id: String,
    pub article_id: i64,
    /// The reporting outlet, when known (unknown outlets are not counted as outlets).
    pub source: Option<String>,
    pub confidence: f32,
    pub seen: DateTime<Utc>,
}

/// What one batch adds to one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    pub mentions: i32,
    /// Articles among the batch's mentions.
    pub articles: BTreeSet<i64>,
    pub sources: BTreeSet<String>,
    pub confidence_sum: f64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

impl Delta {
    /// How many articles the batch adds to the event.
    pub fn articles_added(&self) -> i32 {
        i32::try_from(self.articles.len()).unwrap_or(i32::MAX)
    }

    /// The batch's mean confidence (what the event's mean moves toward, weighted by count).
    pub fn mean_confidence(&self) -> f32 {
        if self.mentions == 0 {
            0.0
        } else {
            (self.confidence_sum / f64::from(self.mentions)) as f32
        }
    }
}

/// Groups a batch's new mentions by event, in event id order.
pub fn tally(added: &[Added]) -> BTreeMap<String, Delta> {
    let mut out: BTreeMap<String, Delta> = BTreeMap::new();
    for a in added {
        let d = out.entry(a.event_id.clone()).or_insert_with(|| Delta {
            mentions: 0,
            articles: BTreeSet::new(),
            sources: BTreeSet::new(),
            confidence_sum: 0.0,
            first_seen: a.seen,
            last_seen: a.seen,
        });
        d.mentions = d.mentions.saturating_add(1);
        d.articles.insert(a.article_id);
        if let Some(s) = &a.source {
            d.sources.insert(s.clone());
        }
        d.confidence_sum += f64::from(a.confidence);
        d.first_seen = d.first_seen.min(a.seen);
        d.last_seen = d.last_seen.max(a.seen);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 6, 19, h, 0, 0).unwrap()
    }

    fn added(event: &str, article: i64, source: Option<&str>, confidence: f32, h: u32) -> Added {
        Added {
            event_id: event.into(),
            article_id: article,
            source: source.map(Into::into),
            confidence,
            seen: at(h),
        }
    }

    #[test]
    fn groups_counts_and_spans_per_event() {
        let batch = [
            added("b", 1, Some("bbc.co.uk"), 0.5, 9),
            added("a", 1, Some("bbc.co.uk"), 0.9, 9),
            added("a", 1, Some("bbc.co.uk"), 0.7, 9),
            added("a", 2, Some("apnews.com"), 0.8, 7),
            added("a", 3, None, 0.6, 12),
        ];
        let t = tally(&batch);
        assert_eq!(t.keys().collect::<Vec<_>>(), ["a", "b"]);
        let a = &t["a"];
        assert_eq!(a.mentions, 4);
        assert_eq!(a.articles, BTreeSet::from([1, 2, 3]));
        assert_eq!(
            a.sources,
            BTreeSet::from(["apnews.com".to_string(), "bbc.co.uk".to_string()])
        );
        assert!((a.mean_confidence() - 0.75).abs() < 1e-6);
        assert_eq!((a.first_seen, a.last_seen), (at(7), at(12)));
        assert_eq!(a.articles_added(), 3);
        assert_eq!(t["b"].mentions, 1);
    }
}
