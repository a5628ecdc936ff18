//! The hostile corpus against the real parser: every message gets exactly the outcome it is
//! labelled with, and the corpus covers every kind and every reject class.

use std::collections::{BTreeMap, HashSet};

use super::*;
use crate::article::{Limits, parse_article};

fn default_corpus() -> Vec<HostileMessage> {
    Hostile::new(HostileConfig::default()).collect()
}

#[test]
fn every_message_gets_its_labelled_outcome() {
    let limits = Limits::default();
    let mut failures = Vec::new();
    for m in default_corpus() {
        let got = parse_article(&m.payload, &limits);
        let verdict = match (&m.expected, &got) {
            (Expected::Rejected(class), Err(r)) if r.class == *class && !r.reason.is_empty() => {
                Ok(())
            }
            (Expected::Rejected(class), Err(r)) => Err(format!("expected {class}, got {r}")),
            (Expected::Rejected(class), Ok(_)) => Err(format!("expected {class}, was accepted")),
            (Expected::Stored(e), Ok(article)) => e.check(&StoredView::from(article)),
            (Expected::Stored(_), Err(r)) => Err(format!("expected stored, got {r}")),
        };
        if let Err(why) = verdict {
            let head = &m.payload[..m.payload.len().min(300)];
            failures.push(format!(
                "#{} {}: {why}\n  {}",
                m.n,
                m.kind.as_str(),
                String::from_utf8_lossy(head)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}

#[test]
fn the_default_corpus_covers_every_kind_and_class() {
    let corpus = default_corpus();
    assert_eq!(corpus.len(), 10_000);
    let mut per_kind: BTreeMap<HostileKind, usize> = BTreeMap::new();
    let mut classes = HashSet::new();
    let mut stored = 0;
    for m in &corpus {
        *per_kind.entry(m.kind).or_default() += 1;
        match &m.expected {
            Expected::Rejected(c) => {
                classes.insert(*c);
            }
            Expected::Stored(_) => stored += 1,
        }
    }
    assert_eq!(per_kind.len(), HostileKind::ALL.len(), "{per_kind:?}");
    assert_eq!(per_kind[&HostileKind::Huge], 3);
    for kind in HostileKind::CYCLE {
        assert!(per_kind[&kind] >= 700, "{kind:?}: {per_kind:?}");
    }
    for class in [
        RejectClass::InvalidJson,
        RejectClass::NotAnObject,
        RejectClass::BadEncoding,
        RejectClass::TooLarge,
        RejectClass::NoText,
        RejectClass::NoIdentity,
        RejectClass::InvalidField,
    ] {
        assert!(classes.contains(&class), "no {class} in the corpus");
    }
    assert!(stored > 2_000 && stored < 8_000, "{stored} stored");
    let huge: Vec<&HostileMessage> = corpus
        .iter()
        .filter(|m| m.kind == HostileKind::Huge)
        .collect();
    assert!(huge.iter().all(|m| m.payload.len() == 20 * 1024 * 1024));
    // Everything else is small, so the drill stays fast.
    let rest: usize = corpus
        .iter()
        .filter(|m| m.kind != HostileKind::Huge)
        .map(|m| m.payload.len())
        .sum();
    assert!(rest < 50 * 1024 * 1024, "{rest} bytes");
    // Every message but the blank ones fits on one JSONL line.
    assert!(corpus.iter().all(|m| !m.payload.contains(&b'\n')));
    // Keys and markers are unique.
    assert_eq!(
        corpus.iter().map(|m| &m.key).collect::<HashSet<_>>().len(),
        corpus.len()
    );
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let config = HostileConfig {
        count: 500,
        huge: 1,
        huge_bytes: 6 * 1024 * 1024,
        ..HostileConfig::default()
    };
    let a: Vec<Vec<u8>> = Hostile::new(config.clone()).map(|m| m.payload).collect();
    let b: Vec<Vec<u8>> = Hostile::new(config.clone()).map(|m| m.payload).collect();
    assert_eq!(a, b);
    let other: Vec<Vec<u8>> = Hostile::new(HostileConfig { seed: 8, ..config })
        .map(|m| m.payload)
        .collect();
    assert_ne!(a, other);
    assert_eq!(Hostile::new(HostileConfig::default()).len(), 10_000);
}

#[test]
fn markers_are_found_again() {
    let m = marker(7, 123);
    assert_eq!(find_marker(&format!("a b\n{m}. c")), Some(m.as_str()));
    assert_eq!(find_marker("no marker here"), None);
}

#[test]
fn the_check_rejects_unsafe_or_wrong_rows() {
    let e = StoredExpectation {
        marker: marker(1, 2),
        external_id: Some("x".into()),
        title: Some("T".into()),
        text_contains: vec!["DROP TABLE".into()],
        text_excludes: vec!["<script".into()],
        canonical_url: UrlExpectation::Absent,
        published_at_absent: true,
    };
    let authors = vec!["A".to_owned()];
    let good = StoredView {
        external_id: Some("x"),
        url: Some("javascript:x"),
        canonical_url: None,
        title: Some("T"),
        description: None,
        text: "hostilemark2s1 '; DROP TABLE articles; --\nmore",
        source: None,
        language: None,
        authors: &authors,
        has_published_at: false,
    };
    assert_eq!(e.check(&good), Ok(()));
    let bad_authors = vec!["A\u{0}".to_owned()];
    for bad in [
        StoredView {
            text: "hostilemark2s1 DROP TABLE \u{0}",
            ..good
        },
        StoredView {
            authors: &bad_authors,
            ..good
        },
        StoredView {
            url: Some("a\u{0}"),
            ..good
        },
        StoredView {
            text: "hostilemark2s1 DROP TABLE <SCRIPT>",
            ..good
        },
        StoredView {
            text: "hostilemark2s10 DROP TABLE",
            ..good
        },
        StoredView {
            text: "hostilemark2s1 nothing",
            ..good
        },
        StoredView {
            external_id: Some("y"),
            ..good
        },
        StoredView {
            title: None,
            ..good
        },
        StoredView {
            canonical_url: Some("https://x.example/"),
            ..good
        },
        StoredView {
            has_published_at: true,
            ..good
        },
    ] {
        assert!(e.check(&bad).is_err(), "{bad:?}");
    }
}
