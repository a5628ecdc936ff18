//! The seed sample's outlet reports (one paragraph or headline per line, several outlets'
//! reporting of the June 2024 Russia–North Korea summit interleaved) fed to the story
//! clusterer as separate articles of one day: reports of clearly different stories stay
//! apart, and the three reports of the treaty signing are measured against that bar.

use std::collections::HashMap;

use chrono::NaiveDate;
use newsflow_core::coding::{Coder, Document};
use newsflow_core::stories::{Signature, StoryIndex, StoryParams, signature, similarity};

/// "The comprehensive strategic partnership treaty was signed by Putin and Kim." /
/// "SEOUL, South Korea — Russia and North Korea signed a new treaty …" / "The full scope
/// of the treaty and other agreements signed on Wednesday are not publicized. …"
const TREATY: [usize; 3] = [9, 25, 27];

/// Reports of other stories: Russia–South Korea trade up to 2014, a think-tank director's
/// biography, China–South Korea talks and the trilateral summit, a book by a Kissinger
/// Center professor, the Soviet-era relationship, the 2022 invasion of Ukraine and Seoul's
/// support for Kyiv.
const DIFFERENT: [usize; 6] = [10, 11, 14, 18, 22, 23];

/// Each non-empty line of the seed sample (1-based line number) with its signature, in
/// file order.
fn reports() -> Vec<(usize, Signature)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/samples/seed-article.txt"
    );
    let text = std::fs::read_to_string(path).expect("seed sample readable");
    let coder = Coder::embedded().expect("embedded dictionaries load");
    let published = NaiveDate::from_ymd_opt(2024, 6, 19).expect("valid date");
    let params = StoryParams::default();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            let mentions = coder.code(&Document {
                title: None,
                text: line,
                published,
            });
            (i + 1, signature(None, line, &mentions, &params))
        })
        .collect()
}

/// The story each report lands in, by line number.
fn stories(reports: &[(usize, Signature)]) -> HashMap<usize, u64> {
    let day = NaiveDate::from_ymd_opt(2024, 6, 19).expect("valid date");
    let mut index = StoryIndex::new(StoryParams::default());
    reports
        .iter()
        .map(|(line, sig)| (*line, index.add(sig, day)))
        .collect()
}

#[test]
fn clearly_different_reports_stay_apart() {
    let reports = reports();
    assert_eq!(reports.len(), 34, "one report per line");
    let story = stories(&reports);
    for (k, d) in DIFFERENT.iter().enumerate() {
        for t in TREATY {
            assert_ne!(story[d], story[&t], "line {d} joined treaty report {t}");
        }
        for e in &DIFFERENT[k + 1..] {
            assert_ne!(story[d], story[e], "lines {d} and {e} joined");
        }
    }
}

#[test]
fn treaty_reports_are_closest_to_one_another() {
    // The passive and the reduced-relative reports name no common actor ("Putin and Kim"
    // against "North Korea"), so what ties them is the treaty and its signing: each is the
    // other's nearest report.
    let reports = reports();
    let sig = |line: usize| {
        &reports
            .iter()
            .find(|(l, _)| *l == line)
            .expect("line present")
            .1
    };
    for (a, b) in [(9, 27), (27, 9)] {
        let nearest = reports
            .iter()
            .filter(|(l, _)| *l != a)
            .max_by(|x, y| {
                similarity(sig(a), &x.1.terms).total_cmp(&similarity(sig(a), &y.1.terms))
            })
            .map(|(l, _)| *l);
        assert_eq!(nearest, Some(b), "nearest report to line {a}");
    }
}

#[test]
#[ignore = "known gap: paragraph-sized reports share two or three terms (cosine 0.15-0.25, \
            threshold 0.475); run with --ignored to measure"]
fn treaty_reports_join_one_story() {
    let reports = reports();
    let story = stories(&reports);
    for t in TREATY {
        assert_eq!(story[&t], story[&TREATY[0]], "treaty report {t}");
    }
}
