//! Tests of the synthetic stream: determinism, proportions, shapes, text similarity
//! between independent and duplicated articles, and the scoring arithmetic.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use super::compose::{Story, Writer};
use super::*;

fn cfg(articles: usize) -> SynthConfig {
    SynthConfig {
        articles,
        ..SynthConfig::default()
    }
}

fn field<'v>(json: &'v Value, key: &str) -> Option<&'v str> {
    json.get(key).and_then(Value::as_str)
}

/// The article text as a pipeline would see it after reducing HTML: the `<article>`
/// element without tags and the headline, entities decoded.
fn text_of(json: &Value) -> String {
    if let Some(t) = field(json, "maintext") {
        return t.to_owned();
    }
    let body = field(json, "body").unwrap_or_default();
    if !body.starts_with("<!DOCTYPE") {
        return body.to_owned();
    }
    let inner = body
        .split_once("</h1>")
        .and_then(|(_, rest)| rest.split_once("</article>"))
        .map_or(body, |(a, _)| a);
    let mut out = String::new();
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    html_escape::decode_html_entities(&out).into_owned()
}

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

fn shingles(text: &str) -> HashSet<u64> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words
        .windows(5)
        .map(|w| xxhash_rust::xxh3::xxh3_64(w.join(" ").as_bytes()))
        .collect()
}

fn jaccard(a: &HashSet<u64>, b: &HashSet<u64>) -> f64 {
    let inter = a.intersection(b).count();
    let union = a.len() + b.len() - inter;
    if union == 0 {
        0.0
    } else {
        inter as f64 / union as f64
    }
}

#[test]
fn same_config_gives_byte_identical_stream() {
    let render = |seed| {
        Generator::new(SynthConfig { seed, ..cfg(400) })
            .map(|a| {
                let truth = serde_json::to_string(&a.truth).unwrap_or_default();
                serde_json::to_string(&a.json).unwrap_or_default() + &truth
            })
            .collect::<Vec<_>>()
    };
    let a = render(7);
    assert_eq!(a, render(7));
    assert_ne!(a, render(8));
    assert_eq!(a.len(), 400);
}

#[test]
fn kinds_appear_in_configured_proportions() {
    let n = 5_000;
    let mut counts: HashMap<TruthKind, usize> = HashMap::new();
    for a in Generator::new(cfg(n)) {
        *counts.entry(a.truth.kind).or_default() += 1;
    }
    let share = |k| *counts.get(&k).unwrap_or(&0) as f64 / n as f64;
    let dup: f64 = TruthKind::ALL
        .iter()
        .filter(|k| k.is_duplicate())
        .map(|&k| share(k))
        .sum();
    assert!((dup - 0.3).abs() < 0.03, "duplicate share {dup}");
    // Duplicate kinds split 25/30/25/20; same_topic is 15% of the non-duplicates.
    for (kind, expected) in [
        (TruthKind::ExactRepost, 0.075),
        (TruthKind::Syndicated, 0.09),
        (TruthKind::LightEdit, 0.075),
        (TruthKind::Truncated, 0.06),
        (TruthKind::SameTopic, 0.105),
        (TruthKind::Original, 0.595),
    ] {
        let got = share(kind);
        assert!(
            (got - expected).abs() < 0.025,
            "{kind:?}: {got} vs {expected}"
        );
    }

    let none = Generator::new(SynthConfig {
        duplicate_ratio: 0.0,
        ..cfg(500)
    });
    assert!(none.into_iter().all(|a| !a.truth.kind.is_duplicate()));
}

#[test]
fn ids_are_unique_and_duplicates_point_back_to_earlier_originals() {
    let mut kinds: HashMap<String, TruthKind> = HashMap::new();
    let mut last_time: Option<DateTime<Utc>> = None;
    for a in Generator::new(cfg(5_000)) {
        let t = &a.truth;
        assert_eq!(field(&a.json, "id"), Some(t.id.as_str()));
        assert!(field(&a.json, "url").is_some_and(|u| u.starts_with("https://")));
        match &t.original_id {
            Some(orig) => {
                assert!(t.kind.is_duplicate());
                let orig_kind = kinds.get(orig).copied();
                assert!(
                    matches!(orig_kind, Some(TruthKind::Original | TruthKind::SameTopic)),
                    "{} duplicates {orig} which is {orig_kind:?}",
                    t.id
                );
            }
            None => assert!(!t.kind.is_duplicate()),
        }
        let time = field(&a.json, "published_at")
            .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
            .map(|d| d.with_timezone(&Utc))
            .or_else(|| {
                field(&a.json, "date_publish")
                    .and_then(|p| {
                        chrono::NaiveDateTime::parse_from_str(p, "%Y-%m-%d %H:%M:%S").ok()
                    })
                    .map(|d| d.and_utc())
            })
            .expect("every article has a publication time");
        assert!(last_time.is_none_or(|l| time > l), "time goes forward");
        last_time = Some(time);
        assert!(
            kinds.insert(t.id.clone(), t.kind).is_none(),
            "{} twice",
            t.id
        );
    }
}

#[test]
fn lengths_vary_around_mean_words() {
    for mean in [600, 150] {
        let lens: Vec<usize> = Generator::new(SynthConfig {
            mean_words: mean,
            ..cfg(1_500)
        })
        .filter(|a| a.truth.kind == TruthKind::Original)
        .map(|a| words(&text_of(&a.json)))
        .collect();
        let avg = lens.iter().sum::<usize>() as f64 / lens.len() as f64;
        assert!(
            (avg / mean as f64 - 1.0).abs() < 0.08,
            "mean {avg} for {mean}"
        );
        let (min, max) = (lens.iter().min(), lens.iter().max());
        assert!(
            min.is_some_and(|&m| m as f64 >= 0.5 * mean as f64),
            "{min:?}"
        );
        assert!(
            max.is_some_and(|&m| m as f64 <= 1.6 * mean as f64),
            "{max:?}"
        );
    }
}

#[test]
fn mixes_news_please_generic_and_html_records() {
    let (mut news_please, mut html, mut generic) = (0, 0, 0);
    for a in Generator::new(cfg(2_000)) {
        let j = &a.json;
        if j.get("maintext").is_some() {
            news_please += 1;
            let date = field(j, "date_publish").unwrap_or_default();
            assert_eq!(date.len(), 19, "{date}");
            assert!(field(j, "source_domain").is_some_and(|d| d.contains('.')));
            assert!(j.get("authors").is_some_and(Value::is_array));
            assert!(field(j, "description").is_some_and(|d| !d.is_empty()));
        } else {
            let body = field(j, "body").unwrap_or_default();
            assert!(field(j, "published_at").is_some_and(|p| p.ends_with('Z')));
            assert!(field(j, "source").is_some());
            if body.contains("<p>") {
                html += 1;
                assert!(body.contains("<script"));
                assert!(body.contains("</article>"));
            } else {
                generic += 1;
            }
        }
        assert_eq!(field(j, "language"), Some("en"));
        assert!(field(j, "title").is_some_and(|t| !t.is_empty()));
    }
    assert!((900..1_100).contains(&news_please), "{news_please}");
    assert!(
        html > 200 && generic > 500,
        "{html} html, {generic} plain generic"
    );
}

#[test]
fn independent_articles_share_few_shingles() {
    let originals: Vec<HashSet<u64>> = Generator::new(cfg(600))
        .filter(|a| a.truth.kind == TruthKind::Original)
        .take(200)
        .map(|a| shingles(&text_of(&a.json)))
        .collect();
    let mut worst = 0.0f64;
    for (i, a) in originals.iter().enumerate() {
        for b in &originals[i + 1..] {
            worst = worst.max(jaccard(a, b));
        }
    }
    assert!(
        worst < 0.2,
        "max Jaccard between unrelated originals {worst}"
    );

    // Two articles written on the very same story (same_topic's situation).
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let date = SynthConfig::default().start.date_naive();
    let mut worst = 0.0f64;
    for _ in 0..100 {
        let story = Story::random(&mut rng);
        let one = Writer::new(&mut rng, story, date, 0).article(600);
        let two = Writer::new(&mut rng, story, date, 1).article(600);
        let (mut x, mut y) = (String::new(), String::new());
        one.write_plain(&mut x);
        two.write_plain(&mut y);
        worst = worst.max(jaccard(&shingles(&x), &shingles(&y)));
    }
    assert!(
        worst < 0.2,
        "max Jaccard between same-story articles {worst}"
    );
}

#[test]
fn duplicates_stay_close_to_their_original() {
    let mut texts: HashMap<String, (String, String)> = HashMap::new();
    let mut seen: HashMap<TruthKind, usize> = HashMap::new();
    for a in Generator::new(cfg(3_000)) {
        let text = text_of(&a.json);
        let title = field(&a.json, "title").unwrap_or_default().to_owned();
        let Some(orig) = &a.truth.original_id else {
            texts.insert(a.truth.id.clone(), (title, text));
            continue;
        };
        let (o_title, o_text) = &texts[orig];
        *seen.entry(a.truth.kind).or_default() += 1;
        let (s, o) = (shingles(&text), shingles(o_text));
        let j = jaccard(&s, &o);
        match a.truth.kind {
            TruthKind::ExactRepost => {
                assert_eq!(&title, o_title);
                assert_eq!(
                    text.split_whitespace().collect::<Vec<_>>(),
                    o_text.split_whitespace().collect::<Vec<_>>()
                );
            }
            TruthKind::Syndicated => {
                assert_ne!(&title, o_title);
                assert!(j > 0.75, "syndicated {} Jaccard {j}", a.truth.id);
            }
            TruthKind::LightEdit => {
                assert_ne!(&title, o_title);
                assert!(j > 0.55 && j < 1.0, "light edit {} Jaccard {j}", a.truth.id);
            }
            TruthKind::Truncated => {
                let contained = s.intersection(&o).count() as f64 / s.len().max(1) as f64;
                assert!(
                    contained > 0.85,
                    "truncated {} containment {contained}",
                    a.truth.id
                );
                assert!(words(&text) < words(o_text));
            }
            TruthKind::Original | TruthKind::SameTopic => unreachable!(),
        }
    }
    assert!(
        seen.len() == 4 && seen.values().all(|&n| n > 50),
        "{seen:?}"
    );
}

#[test]
fn memory_stays_bounded() {
    let mut g = Generator::new(SynthConfig {
        mean_words: 40,
        ..cfg(RING_CAPACITY * 3)
    });
    let mut late_duplicates = 0;
    for a in g.by_ref() {
        if a.truth.original_id.is_some() {
            late_duplicates += 1;
        }
    }
    assert_eq!(g.ring.len(), RING_CAPACITY);
    assert!(late_duplicates > 0);
}

#[test]
fn score_counts_hand_made_case() {
    let t = |id: &str, kind, orig: Option<&str>| Truth {
        id: id.to_owned(),
        kind,
        original_id: orig.map(str::to_owned),
        topic_of: None,
    };
    let truth = vec![
        t("o1", TruthKind::Original, None),
        t("o2", TruthKind::Original, None),
        t("s1", TruthKind::SameTopic, None),
        t("e1", TruthKind::ExactRepost, Some("o1")),
        t("y1", TruthKind::Syndicated, Some("o1")),
        t("l1", TruthKind::LightEdit, Some("o2")),
        t("r1", TruthKind::Truncated, Some("o2")),
        t("o3", TruthKind::Original, None),
        t("c3", TruthKind::Syndicated, Some("o3")),
    ];
    let d = |id, dup, of| Decision {
        id,
        is_duplicate: dup,
        duplicate_of: of,
    };
    let decisions = vec![
        d("o1", false, None),
        d("o2", false, None),
        d("s1", true, Some("o1")), // false positive
        d("e1", true, Some("o1")), // right
        d("y1", true, Some("e1")), // right: e1 is a copy of the same original
        d("l1", true, Some("o1")), // wrong original, and l1 is not with o2: false negative
        d("unknown", true, None),  // ignored
        d("c3", false, None),      // the copy was seen first ...
        d("o3", true, Some("c3")), // ... so the original links to it: one story, right
    ];
    let s = score(&truth, decisions); // r1 has no decision: false negative
    assert_eq!(
        (
            s.true_positives,
            s.false_positives,
            s.false_negatives,
            s.wrong_original
        ),
        (3, 2, 2, 1)
    );
    assert!((s.precision - 0.6).abs() < 1e-12);
    assert!((s.recall - 0.6).abs() < 1e-12);
    assert_eq!(s.per_kind["same_topic"].flagged_duplicate, 1);
    assert_eq!(s.per_kind["truncated"].total, 1);
    assert_eq!(s.per_kind["truncated"].flagged_duplicate, 0);
    assert_eq!(s.per_kind["original"].total, 3);

    let empty = score(&[], std::iter::empty());
    assert_eq!((empty.precision, empty.recall), (1.0, 1.0));
}

#[test]
fn perfect_decisions_from_the_truth_score_one() {
    let truth: Vec<Truth> = Generator::new(cfg(1_000)).map(|a| a.truth).collect();
    let decisions = truth.iter().map(|t| Decision {
        id: &t.id,
        is_duplicate: t.kind.is_duplicate(),
        duplicate_of: t.original_id.as_deref(),
    });
    let s = score(&truth, decisions);
    assert_eq!((s.precision, s.recall, s.wrong_original), (1.0, 1.0, 0));
    assert_eq!(s.true_positives + s.false_negatives, s.true_positives);
}

#[test]
fn plain_text_article_reads_the_seed_sample() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/samples/seed-article.txt"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let published = SynthConfig::default().start;
    let j = plain_text_article(
        &text,
        "seed-1",
        "https://example.org/seed",
        "example.org",
        published,
    );
    assert_eq!(
        field(&j, "title"),
        Some("Putin and Kim forged closer ties as a result of the old Stalinist alliance")
    );
    let body = field(&j, "body").unwrap_or_default();
    assert!(
        body.contains(
            "The comprehensive strategic partnership treaty was signed by Putin and Kim."
        )
    );
    assert!(
        !body.contains("Stalinist alliance"),
        "headline not repeated in body"
    );
    let paragraphs = text.lines().filter(|l| !l.trim().is_empty()).count() - 1;
    assert_eq!(body.split("\n\n").count(), paragraphs);
    assert_eq!(field(&j, "published_at"), Some("2024-06-17T06:00:00Z"));
    assert_eq!(field(&j, "id"), Some("seed-1"));
    assert_eq!(field(&j, "url"), Some("https://example.org/seed"));
    assert_eq!(field(&j, "source"), Some("example.org"));
    assert_eq!(field(&j, "language"), Some("en"));

    let crlf = plain_text_article(
        "\u{feff}Title\r\n\r\nOne.\r\nTwo.\r\n",
        "x",
        "u",
        "s",
        published,
    );
    assert_eq!(field(&crlf, "title"), Some("Title"));
    assert_eq!(field(&crlf, "body"), Some("One.\n\nTwo."));
}

#[test]
fn tiny_and_extreme_configs_still_work() {
    let mut words_of: HashMap<String, usize> = HashMap::new();
    let mut truncated = 0;
    for a in Generator::new(SynthConfig {
        mean_words: 25,
        duplicate_ratio: 0.9,
        ..cfg(2_000)
    }) {
        // Words of the story, without a trailing "Continue reading..." line.
        let text = text_of(&a.json);
        let mut paragraphs: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if paragraphs
            .last()
            .is_some_and(|p| p.contains("ontinue reading") || p.contains("ubscribe"))
        {
            paragraphs.pop();
        }
        let n: usize = paragraphs.iter().map(|p| words(p)).sum();
        match (&a.truth.original_id, a.truth.kind) {
            (Some(orig), TruthKind::Truncated) => {
                truncated += 1;
                // A one-sentence original cannot be cut; everything else must shrink.
                let o = words_of[orig];
                assert!(n < o || o < 50, "{}: {n} words vs original {o}", a.truth.id);
            }
            (None, _) => {
                words_of.insert(a.truth.id.clone(), n);
            }
            _ => {}
        }
    }
    assert!(truncated > 100);
    for (mean_words, duplicate_ratio) in [(0, 1.0), (1, f64::NAN), (5, -3.0)] {
        let n = Generator::new(SynthConfig {
            mean_words,
            duplicate_ratio,
            ..cfg(300)
        })
        .count();
        assert_eq!(n, 300);
    }
    assert_eq!(Generator::new(cfg(0)).count(), 0);
}

#[test]
fn truth_serialises_with_snake_case_kinds() {
    for kind in TruthKind::ALL {
        let json = serde_json::to_string(&kind).unwrap_or_default();
        assert_eq!(json, format!("\"{}\"", kind.as_str()));
    }
    let t = Truth {
        id: "syn-1-5".into(),
        kind: TruthKind::LightEdit,
        original_id: Some("syn-1-2".into()),
        topic_of: None,
    };
    let json = serde_json::to_string(&t).unwrap_or_default();
    assert_eq!(
        json,
        r#"{"id":"syn-1-5","kind":"light_edit","original_id":"syn-1-2"}"#
    );
    assert_eq!(serde_json::from_str::<Truth>(&json).ok(), Some(t));
    let same = Truth {
        id: "syn-1-6".into(),
        kind: TruthKind::SameTopic,
        original_id: None,
        topic_of: Some("syn-1-3".into()),
    };
    let json = serde_json::to_string(&same).unwrap_or_default();
    assert_eq!(
        json,
        r#"{"id":"syn-1-6","kind":"same_topic","original_id":null,"topic_of":"syn-1-3"}"#
    );
    assert_eq!(serde_json::from_str::<Truth>(&json).ok(), Some(same));
}
