//! The seed sample (several outlets' reports of the June 2024 Russia–North Korea summit)
//! run through the coder: the treaty signing is one event (three reports, whichever way
//! round they name the two sides), historical events keep their own dates, hedged claims
//! and the garbled "Putin meets Putin" headline yield nothing.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use newsflow_core::coding::{Coder, Document, Mention, event_key_code};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn seed() -> Vec<Mention> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/samples/seed-article.txt"
    );
    let text = std::fs::read_to_string(path).expect("seed sample readable");
    let coder = Coder::embedded().expect("embedded dictionaries load");
    coder.code(&Document {
        title: None,
        text: &text,
        published: date(2024, 6, 19),
    })
}

fn key(m: &Mention) -> (String, Option<String>) {
    (
        event_key_code(&m.source),
        m.target.as_ref().map(event_key_code),
    )
}

#[test]
fn treaty_signing_reports_merge_into_one_event() {
    let mentions = seed();
    // Every 057 between Russia and North Korea, whichever way round a report tells it.
    let signing: Vec<&Mention> = mentions
        .iter()
        .filter(|m| {
            let (s, t) = key(m);
            m.cameo == "057"
                && matches!(
                    (s.as_str(), t.as_deref()),
                    ("RUS", Some("PRK")) | ("PRK", Some("RUS"))
                )
        })
        .collect();
    // Three reports: "signed a new treaty", "was signed by Putin and Kim", "agreements
    // signed on Wednesday" — one mention each, all of one event.
    assert_eq!(signing.len(), 3, "{signing:#?}");
    let ids: BTreeSet<String> = signing.iter().map(|m| m.event_id()).collect();
    assert_eq!(ids.len(), 1, "one event for the signing: {ids:?}");
    for m in &signing {
        assert_eq!(m.date, date(2024, 6, 19));
        assert_eq!(
            m.place.as_ref().map(|p| p.country.as_str()),
            Some("KOR"),
            "dateline SEOUL"
        );
        // Signing is symmetric: canonical order, North Korea (PRK) before Russia (RUS).
        assert_eq!(key(m), ("PRK".into(), Some("RUS".into())));
    }
    // "Russia and North Korea signed a new treaty" (country codes) and "The ... treaty was
    // signed by Putin and Kim" (PRKGOV/RUSGOV, passive) are the same event.
    let active = signing
        .iter()
        .find(|m| m.sentence.contains("signed a new treaty"))
        .expect("active report coded");
    let passive = signing
        .iter()
        .find(|m| m.sentence.contains("was signed by Putin and Kim"))
        .expect("passive report coded");
    assert_eq!(active.source.code, "PRK");
    assert_eq!(passive.source.code, "PRKGOV");
    assert_eq!(
        passive.target.as_ref().map(|t| t.code.as_str()),
        Some("RUSGOV")
    );
    assert_eq!(active.event_id(), passive.event_id());
    // The offsets follow the swapped actors: the source's text is North Korea's.
    let text = |m: &Mention, a: &newsflow_core::coding::Actor| -> String {
        m.sentence
            .chars()
            .skip(a.start)
            .take(a.end - a.start)
            .collect()
    };
    assert_eq!(text(active, &active.source), "North Korea");
    assert_eq!(
        active.target.as_ref().map(|t| text(active, t)).as_deref(),
        Some("Russia")
    );
    assert_eq!(text(passive, &passive.source), "Kim");
    // "The full scope of the treaty and other agreements signed on Wednesday ..." names no
    // participant: the reduced relative refers back to the signing (same code, same date).
    let third = signing
        .iter()
        .find(|m| m.sentence.contains("agreements signed on Wednesday"))
        .expect("third report attached to the signing");
    assert_eq!(third.event_id(), active.event_id());
    assert_eq!(third.date_source, "text");
    assert!(third.confidence < active.confidence);
}

#[test]
fn no_self_event_and_no_hedged_shipment() {
    let mentions = seed();
    assert!(
        !mentions.iter().any(|m| m
            .target
            .as_ref()
            .is_some_and(|t| t.code == m.source.code && t.name == m.source.name)),
        "no self-events"
    );
    assert!(
        !mentions
            .iter()
            .any(|m| m.sentence.contains("Vladimir Putin meets Vladimir Putin") && m.root == 4)
    );
    assert!(
        !mentions
            .iter()
            .any(|m| m.sentence.contains("may have shipped") && m.root == 7),
        "hedged shipment left out"
    );
    // The statement itself is coded: the South Korean defence minister (in office in June 2024).
    assert!(
        mentions
            .iter()
            .any(|m| m.sentence.contains("may have shipped")
                && m.cameo == "010"
                && m.source.code == "KORGOV")
    );
}

#[test]
fn criticism_invasion_and_visits_are_coded_and_dated() {
    let mentions = seed();
    assert!(mentions.iter().any(|m| m.cameo == "111"
        && m.source.code == "RUSGOV"
        && m.target.as_ref().is_some_and(|t| t.code == "USA")));
    let invasion = mentions
        .iter()
        .find(|m| m.root == 19 && key(m) == ("RUS".into(), Some("UKR".into())))
        .expect("2022 invasion coded");
    assert_eq!(invasion.date, date(2022, 2, 1));
    assert_eq!(invasion.date_source, "text");
    let visit = mentions
        .iter()
        .find(|m| m.cameo == "042")
        .expect("Kyiv visit coded");
    assert_eq!(visit.source.code, "KORGOV");
    assert_eq!(visit.date, date(2023, 7, 1));
    assert_eq!(visit.place.as_ref().map(|p| p.name.as_str()), Some("Kyiv"));
    let talks = mentions
        .iter()
        .find(|m| m.sentence.starts_with("On Tuesday, China held"))
        .expect("China–South Korea talks coded");
    assert_eq!(
        (talks.cameo.as_str(), talks.date),
        ("040", date(2024, 6, 18))
    );
    let nato = mentions
        .iter()
        .find(|m| m.cameo == "040" && m.source.code == "IGOWSTNAT")
        .expect("Stoltenberg meeting Blinken");
    assert_eq!(
        nato.target.as_ref().map(|t| t.code.as_str()),
        Some("USAGOV")
    );
    assert_eq!(nato.place.as_ref().map(|p| p.country.as_str()), Some("USA"));
}

#[test]
fn few_distinct_events() {
    let mentions = seed();
    let ids: BTreeSet<String> = mentions.iter().map(Mention::event_id).collect();
    // 17 with the current dictionaries: the treaty signing (one event, three reports),
    // statements (5 mentions, 5 events), the China–ROK talks, the trilateral summit (one event
    // per unordered pair of China, Japan and South Korea: 3), the 2022 invasion, the 2023 Kyiv
    // visit, criticism of the US, Russia defending North Korea, US concerns, Putin's pledge,
    // NATO–US talks.
    assert!(ids.len() <= 19, "{} distinct events", ids.len());
    assert!(ids.len() < mentions.len(), "several mentions merge");
    let summit: BTreeSet<(String, Option<String>)> = mentions
        .iter()
        .filter(|m| m.sentence.contains("trilateral summit"))
        .map(key)
        .collect();
    assert_eq!(
        summit,
        [("CHN", "JPN"), ("CHN", "KOR"), ("JPN", "KOR")]
            .into_iter()
            .map(|(s, t)| (s.to_string(), Some(t.to_string())))
            .collect()
    );
}
