//! Unit tests of story clustering: determinism, bounds, window and threshold.

use chrono::NaiveDate;

use super::*;
use crate::coding::{Actor, Mention, Place};

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 6, d).unwrap_or_default()
}

fn actor(code: &str, country: &str) -> Actor {
    Actor {
        code: code.into(),
        name: code.into(),
        country: Some(country.into()),
        role: None,
        start: 0,
        end: 0,
    }
}

fn mention(src: (&str, &str), tgt: (&str, &str), place: Option<(&str, &str)>) -> Mention {
    Mention {
        sentence_no: 1,
        sentence: String::new(),
        sentence_start: 0,
        sentence_end: 0,
        in_title: false,
        source: actor(src.0, src.1),
        target: Some(actor(tgt.0, tgt.1)),
        cameo: "057".into(),
        root: 5,
        quad_class: 1,
        goldstein: 8.0,
        plover: "AGREE".into(),
        action_start: 0,
        action_end: 0,
        action_text: String::new(),
        date: day(19),
        date_source: "published".into(),
        date_precision: "day".into(),
        place: place.map(|(n, c)| Place {
            name: n.into(),
            country: c.into(),
            lat: None,
            lon: None,
        }),
        confidence: 0.8,
    }
}

const TREATY_TITLE: &str = "Putin and Kim sign mutual defence treaty in Pyongyang";
const TREATY: &str = "SEOUL, South Korea — Russia and North Korea signed a new treaty that \
    provides mutual defense assistance, formalizing the two countries' heightened level of \
    military and diplomatic cooperation. Vladimir Putin arrived at the Kumsusan State \
    Guesthouse after a welcoming ceremony.";
const FLOODS_TITLE: &str = "Monsoon floods displace thousands in Bangladesh";
const FLOODS: &str = "DHAKA — Torrential monsoon rains flooded villages across northern \
    Bangladesh, displacing thousands of families, the Disaster Management Ministry said. \
    Rescue boats reached stranded residents in Sylhet.";

fn treaty(p: &StoryParams) -> Signature {
    let m = [mention(
        ("RUSGOV", "RUS"),
        ("PRKGOV", "PRK"),
        Some(("Pyongyang", "PRK")),
    )];
    signature(Some(TREATY_TITLE), TREATY, &m, p)
}

fn floods(p: &StoryParams) -> Signature {
    signature(Some(FLOODS_TITLE), FLOODS, &[], p)
}

#[test]
fn default_params_are_valid_and_bad_ones_are_not() {
    assert_eq!(StoryParams::default().validate(), Ok(()));
    let bad = [
        StoryParams {
            match_threshold: 0.0,
            ..StoryParams::default()
        },
        StoryParams {
            match_threshold: f64::NAN,
            ..StoryParams::default()
        },
        StoryParams {
            window_days: -1,
            ..StoryParams::default()
        },
        StoryParams {
            max_terms: 0,
            ..StoryParams::default()
        },
    ];
    for p in bad {
        assert!(p.validate().is_err(), "{p:?}");
    }
}

#[test]
fn term_hashes_are_stable() {
    // Stored in Postgres: must never change (xxh3_64 of "w:treaty").
    assert_eq!(
        term_hash("w", "treaty"),
        xxhash_rust::xxh3::xxh3_64(b"w:treaty")
    );
    assert_eq!(term_hash("w", "treaty"), TREATY_HASH);
    assert_ne!(term_hash("w", "treaty"), term_hash("e", "treaty"));
}

#[test]
fn term_hashes_round_trip_through_bigint() {
    for h in [0, 1, u64::MAX, TREATY_HASH, 1 << 63] {
        assert_eq!(term_from_db(term_to_db(h)), h);
    }
    assert!(term_to_db(TREATY_HASH) < 0);
}

const TREATY_HASH: u64 = 16_650_213_785_824_121_719;

#[test]
fn signature_is_deterministic_sorted_and_bounded() {
    let p = StoryParams::default();
    let a = treaty(&p);
    assert_eq!(a, treaty(&p));
    assert!(!a.terms.is_empty());
    assert!(a.terms.len() <= p.max_terms);
    assert!(a.terms.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(a.terms.iter().all(|&(_, w)| w.is_finite() && w > 0.0));
    let small = StoryParams {
        max_terms: 5,
        ..StoryParams::default()
    };
    assert_eq!(treaty(&small).terms.len(), 5);
}

#[test]
fn signature_holds_actors_places_entities_and_words() {
    let a = treaty(&StoryParams {
        max_terms: 4096,
        ..StoryParams::default()
    });
    let has = |k: &str, t: &str| a.terms.iter().any(|&(h, _)| h == term_hash(k, t));
    assert!(has("a", "RUSGOV"));
    assert!(has("c", "PRK"));
    assert!(has("p", "pyongyang"));
    assert!(has("e", "north korea"));
    assert!(has("e", "kumsusan state guesthouse"));
    assert!(has("e", "vladimir putin"));
    assert!(has("w", "treaty"));
    assert!(has("w", "defence"));
    // Stopwords and numbers are not terms; "Russia and North Korea" is two names.
    assert!(!has("w", "the"));
    assert!(!has("w", "and"));
    assert!(!has("e", "russia and north korea"));
    // A capitalised word inside a sentence is a name, not a word.
    assert!(has("n", "kim"));
    assert!(has("n", "pyongyang"));
    assert!(!has("w", "kim"));
    // Bigrams of adjacent content words; the event of the coded mention.
    assert!(has("b", "mutual defence"));
    assert!(has("b", "defence treaty"));
    assert!(!has("b", "treaty pyongyang"));
    assert!(has("k", "PRK|RUS|05"));
}

#[test]
fn body_terms_count_when_repeated_and_title_case_keeps_words() {
    let p = StoryParams {
        max_terms: 4096,
        ..StoryParams::default()
    };
    let lead = "Officials from both sides met again on Monday. ".repeat(6);
    let text = format!("{lead}The grain deal covers grain exports. A banquet followed.");
    let sig = signature(None, &text, &[], &p);
    let has = |s: &Signature, k: &str, t: &str| s.terms.iter().any(|&(h, _)| h == term_hash(k, t));
    assert!(has(&sig, "w", "official"), "lead words count once");
    assert!(has(&sig, "w", "grain"), "a repeated body word counts");
    assert!(!has(&sig, "w", "banquet"), "a body word seen once does not");
    // In a Title Case headline capitals say nothing about names.
    let titled = signature(
        Some("Putin And Kim Sign Mutual Defence Treaty"),
        "",
        &[],
        &p,
    );
    assert!(has(&titled, "w", "treaty"));
    assert!(has(&titled, "w", "defence"));
    let sentence = signature(Some("Putin and Kim sign a Treaty"), "", &[], &p);
    assert!(!has(&sentence, "w", "treaty"));
}

#[test]
fn similarity_is_a_cosine_in_unit_range() {
    let p = StoryParams::default();
    let (a, b) = (treaty(&p), floods(&p));
    assert!((similarity(&a, &a.terms) - 1.0).abs() < 1e-6);
    let scaled: Vec<(u64, f32)> = a.terms.iter().map(|&(h, w)| (h, w * 7.0)).collect();
    assert!((similarity(&a, &scaled) - 1.0).abs() < 1e-6);
    assert!(similarity(&a, &b.terms) < 0.1);
    assert_eq!(similarity(&a, &[]), 0.0);
    let mut unsorted = a.terms.clone();
    unsorted.reverse();
    assert!((similarity(&a, &unsorted) - 1.0).abs() < 1e-6);
    let junk = vec![(a.terms[0].0, f32::NAN), (a.terms[1].0, -3.0)];
    assert_eq!(similarity(&a, &junk), 0.0);
}

#[test]
fn merged_story_terms_stay_bounded() {
    let p = StoryParams {
        max_terms: 16,
        ..StoryParams::default()
    };
    let mut story = merge_terms(&[], &treaty(&p), &p);
    for i in 0..200u32 {
        let text = format!("Report number{i} about harvest{i} and Ministry of Things{i} matters");
        let sig = signature(Some(&format!("Headline{i}")), &text, &[], &p);
        story = merge_terms(&story, &sig, &p);
        assert!(story.len() <= p.max_terms);
        assert!(story.windows(2).all(|w| w[0].0 < w[1].0));
    }
}

#[test]
fn assign_respects_window_and_threshold() {
    let p = StoryParams::default();
    let a = treaty(&p);
    let story = merge_terms(&[], &a, &p);
    let near = vec![("s1", story.clone(), day(18))];
    assert_eq!(assign(&a, day(19), &near, &p).map(|(id, _)| id), Some("s1"));
    // Out of order by less than the window also matches.
    assert!(assign(&a, day(17), &near, &p).is_some());
    let far = vec![("old", story, day(18 - p.window_days as u32 - 1))];
    assert_eq!(assign(&a, day(18), &far, &p), None);
    let unrelated = vec![("floods", merge_terms(&[], &floods(&p), &p), day(19))];
    assert_eq!(assign(&a, day(19), &unrelated, &p), None);
    // Exactly at the threshold matches; just above it does not.
    let s = similarity(&a, &unrelated[0].1);
    let at = StoryParams {
        match_threshold: s.max(1e-9),
        ..StoryParams::default()
    };
    if s > 0.0 {
        assert!(assign(&a, day(19), &unrelated, &at).is_some());
    }
    let above = StoryParams {
        match_threshold: (s + 1e-6).min(1.0),
        ..StoryParams::default()
    };
    assert_eq!(assign(&a, day(19), &unrelated, &above), None);
    // The best of several candidates wins.
    let both = vec![unrelated[0].clone(), near[0].clone()];
    assert_eq!(assign(&a, day(19), &both, &p).map(|(id, _)| id), Some("s1"));
}

#[test]
fn index_clusters_expires_and_is_deterministic() {
    let p = StoryParams::default();
    let run = || {
        let mut idx = StoryIndex::new(p.clone());
        let ids = [
            idx.add(&treaty(&p), day(18)),
            idx.add(&floods(&p), day(18)),
            idx.add(&treaty(&p), day(19)),
            idx.add(&floods(&p), day(19)),
        ];
        assert_eq!(idx.live_stories(), 2);
        // Beyond the window the treaty story is forgotten: a new story starts.
        let late = idx.add(&treaty(&p), day(19 + p.window_days as u32 + 1));
        (ids, late, idx.live_stories())
    };
    let (ids, late, live) = run();
    assert_eq!(ids, [0, 1, 0, 1]);
    assert_eq!(late, 2);
    assert_eq!(live, 1);
    assert_eq!(run(), (ids, late, live));
}

#[test]
fn batch_assignment_sees_stories_started_earlier_in_the_batch() {
    let p = StoryParams::default();
    let (t, f) = (treaty(&p), floods(&p));
    let articles = [(&t, day(19)), (&f, day(19)), (&t, day(20))];
    let plan = assign_batch::<i64>(&articles, &[vec![], vec![], vec![]], &HashMap::new(), &p);
    assert_eq!(
        plan.assignments,
        vec![StoryRef::New(0), StoryRef::New(1), StoryRef::New(0)]
    );
    assert_eq!(plan.new_stories, 2);
    assert_eq!(plan.touched.len(), 2);
    // The treaty story holds both reports: its terms are those of two merges, seen up to the 20th.
    let (r, terms, last) = &plan.touched[0];
    assert_eq!(r, &StoryRef::New(0));
    assert_eq!(*last, day(20));
    assert_eq!(terms, &merge_terms(&merge_terms(&[], &t, &p), &t, &p));
}

#[test]
fn batch_assignment_joins_stored_stories_and_matches_one_by_one() {
    let p = StoryParams::default();
    let (t, f) = (treaty(&p), floods(&p));
    let stored: HashMap<i64, (Terms, NaiveDate)> =
        HashMap::from([(7, (merge_terms(&[], &t, &p), day(18)))]);
    let articles = [(&f, day(19)), (&t, day(19))];
    // The stored story is shortlisted for the treaty article only.
    let plan = assign_batch(&articles, &[vec![], vec![7]], &stored, &p);
    assert_eq!(
        plan.assignments,
        vec![StoryRef::New(0), StoryRef::Existing(7)]
    );
    let (_, terms, last) = &plan.touched[1];
    assert_eq!(*last, day(19));
    assert_eq!(terms, &merge_terms(&stored[&7].0, &t, &p));
    // Out of the window, the stored story is not joined.
    let late = [(&t, day(19) + chrono::Duration::days(p.window_days + 5))];
    let plan = assign_batch(&late, &[vec![7]], &stored, &p);
    assert_eq!(plan.assignments, vec![StoryRef::New(0)]);
}

#[test]
fn term_vectors_round_trip_through_bytes() {
    let terms = vec![(3u64, 0.5f32), (u64::MAX, 1.25), (1 << 63, 0.125)];
    let bytes = terms_to_bytes(&terms);
    assert_eq!(bytes.len(), 36);
    // Postgres's int8send(term) || float4send(weight) for the first term.
    assert_eq!(&bytes[..12], &[0, 0, 0, 0, 0, 0, 0, 3, 0x3f, 0, 0, 0]);
    let mut sorted = terms;
    sorted.sort_unstable_by_key(|(h, _)| *h);
    assert_eq!(terms_from_bytes(&bytes), Some(sorted));
    assert_eq!(terms_from_bytes(&[]), Some(Vec::new()));
    assert_eq!(terms_from_bytes(&bytes[..13]), None);
}
