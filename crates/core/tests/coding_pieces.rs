//! Behaviour of each piece of the coder on small sentences: actors (including time-bounded
//! roles), verb patterns, direction and passive voice, negation/hedging, dates and places.

use std::sync::OnceLock;

use chrono::NaiveDate;
use newsflow_core::coding::{Coder, Document, Mention, Status};

fn coder() -> &'static Coder {
    static C: OnceLock<Coder> = OnceLock::new();
    C.get_or_init(|| Coder::embedded().expect("embedded dictionaries load"))
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn code(text: &str, published: &str) -> Vec<Mention> {
    coder().code(&Document {
        title: None,
        text,
        published: d(published),
    })
}

/// (source, target, cameo, date) of every mention.
fn events(text: &str, published: &str) -> Vec<(String, String, String, String)> {
    code(text, published)
        .into_iter()
        .map(|m| {
            (
                m.source.code,
                m.target.map_or("-".to_string(), |t| t.code),
                m.cameo,
                m.date.to_string(),
            )
        })
        .collect()
}

fn ev(s: &str, t: &str, c: &str, date: &str) -> (String, String, String, String) {
    (s.into(), t.into(), c.into(), date.into())
}

#[test]
fn time_bounded_roles_follow_the_event_date() {
    // Blinken was Secretary of State 2021-01-26..2025-01-20. (A meeting is symmetric:
    // source and target in canonical order, CHN before USA.)
    assert_eq!(
        events(
            "Antony Blinken met Chinese Foreign Minister Wang Yi.",
            "2023-06-19"
        ),
        vec![ev("CHNGOV", "USAGOV", "040", "2023-06-19")]
    );
    assert_eq!(
        events("Antony Blinken met Wang Yi.", "2025-06-19"),
        vec![ev("CHNGOV", "USAELI", "040", "2025-06-19")]
    );
    // Trump: out of office between his two terms, coded by the event date, not the publication.
    assert_eq!(
        events("Donald Trump visited Israel in May 2017.", "2023-01-10"),
        vec![ev("USAGOV", "ISR", "042", "2017-05-01")]
    );
    assert_eq!(
        events("Trump criticized NATO.", "2023-01-10")[0].0,
        "USAELI"
    );
    // Stoltenberg led NATO until October 2024.
    assert_eq!(
        events("Jens Stoltenberg praised Norway.", "2024-03-01")[0].0,
        "IGOWSTNAT"
    );
    assert_eq!(
        events("Shin Won-sik criticized North Korea.", "2024-06-19")[0].0,
        "KORGOV"
    );
}

#[test]
fn titles_demonyms_and_roles_combine() {
    assert_eq!(
        events(
            "South Korean Defense Minister Shin Won-sik condemned the launch.",
            "2024-01-05"
        )[0]
        .0,
        "KORGOV"
    );
    assert_eq!(
        events(
            "Secretary of State Anthony Blinken criticized Iran.",
            "2024-01-05"
        )[0]
        .0,
        "USAGOV"
    );
    assert_eq!(
        events(
            "In July, the President of Korea visited Kyiv.",
            "2024-01-05"
        )[0]
        .0,
        "KORGOV"
    );
    assert_eq!(
        events("Russian troops attacked Kharkiv.", "2024-01-05")[0].0,
        "RUSMIL"
    );
    assert_eq!(
        events(
            "North Korea's foreign minister criticized Japan.",
            "2024-01-05"
        )[0]
        .0,
        "PRKGOV"
    );
    assert_eq!(
        events("Police arrested North Korean citizens.", "2024-01-05")[0].1,
        "PRKCVL"
    );
    assert_eq!(
        events("Moscow condemned the decision of Kyiv.", "2024-01-05")[0].0,
        "RUS"
    );
    assert_eq!(
        events("The UN Security Council condemned Iran.", "2024-01-05")[0].0,
        "IGOUNO"
    );
}

#[test]
fn unknown_people_and_ambiguous_surnames_stay_uncoded() {
    assert!(
        events(
            "Jenny Town said North Korea wants to be accepted.",
            "2024-06-19"
        )
        .is_empty()
    );
    // "Kim" alone is ambiguous unless a Kim is named in full in the same document.
    assert_eq!(
        events("Putin met Kim on Wednesday.", "2024-06-19"),
        vec![ev("RUSGOV", "-", "040", "2024-06-19")]
    );
    assert_eq!(
        events(
            "Kim Jong Un greeted the crowd. Putin met Kim on Wednesday.",
            "2024-06-19"
        ),
        vec![ev("PRKGOV", "RUSGOV", "040", "2024-06-19")]
    );
}

#[test]
fn inflections_and_phrasal_patterns() {
    for (text, cameo) in [
        ("Japan signs a trade deal with India.", "057"),
        ("Japan is signing a trade deal with India.", "057"),
        ("Japan held talks with India.", "040"),
        ("Japan imposed sanctions on Iran.", "163"),
        ("Japan cut diplomatic ties with Iran.", "161"),
        ("Japan shipped missiles to Ukraine.", "072"),
        ("Japan accused Iran of lying.", "112"),
        ("Japan hosted Iran's foreign minister.", "043"),
        ("Japan expelled Russian diplomats.", "174"),
        ("Japan arrested Chinese fishermen.", "173"),
        ("Japan threatened Iran with sanctions.", "131"),
    ] {
        let got = code(text, "2024-01-05");
        assert_eq!(got.first().map(|m| m.cameo.as_str()), Some(cameo), "{text}");
    }
}

#[test]
fn direction_passive_and_compounds() {
    assert_eq!(
        events("Iran was condemned by the European Union.", "2024-01-05"),
        vec![ev("IGOEEC", "IRN", "111", "2024-01-05")]
    );
    assert_eq!(
        events(
            "The treaty was signed by Putin and Kim Jong Un.",
            "2024-06-19"
        ),
        vec![ev("PRKGOV", "RUSGOV", "057", "2024-06-19")]
    );
    assert_eq!(
        events("France and Germany criticized Israel.", "2024-01-05"),
        vec![
            ev("FRA", "ISR", "111", "2024-01-05"),
            ev("DEU", "ISR", "111", "2024-01-05")
        ]
    );
    // Mutual acts: a compound subject with no other target acted on each other.
    assert_eq!(
        events("Russia and Ukraine exchanged prisoners.", "2024-01-05"),
        vec![
            ev("RUS", "UKR", "084", "2024-01-05"),
            ev("UKR", "RUS", "084", "2024-01-05")
        ]
    );
    // Reported speech: the statement, and the reported act when asserted.
    assert_eq!(
        events("Kyiv said Russia attacked Odesa.", "2024-01-05"),
        vec![
            ev("UKR", "-", "010", "2024-01-05"),
            ev("RUS", "UKR", "190", "2024-01-05")
        ]
    );
    // Coordinated predicates share the subject.
    assert_eq!(
        events(
            "Putin criticized the U.S. and defended North Korea.",
            "2024-06-19"
        ),
        vec![
            ev("RUSGOV", "USA", "111", "2024-06-19"),
            ev("RUSGOV", "PRK", "052", "2024-06-19")
        ]
    );
}

/// The actor's text in its sentence, from the mention's offsets.
fn actor_text(m: &Mention, a: &newsflow_core::coding::Actor) -> String {
    m.sentence
        .chars()
        .skip(a.start)
        .take(a.end - a.start)
        .collect()
}

#[test]
fn symmetric_acts_are_one_event_however_told() {
    // Compound subject either way round, "with" either way round, passive: one event id,
    // source and target in canonical order (PRK before RUS), offsets on each actor's text.
    let mut ids = Vec::new();
    for text in [
        "Putin and Kim Jong Un signed a treaty.",
        "Kim Jong Un and Putin signed a treaty.",
        "Putin signed a treaty with Kim Jong Un.",
        "Kim Jong Un signed a treaty with Putin.",
        "The treaty was signed by Putin and Kim Jong Un.",
    ] {
        let m = code(text, "2024-06-19");
        assert_eq!(m.len(), 1, "{text}: {m:#?}");
        let m = &m[0];
        assert_eq!(m.source.code, "PRKGOV", "{text}");
        assert_eq!(actor_text(m, &m.source), "Kim Jong Un", "{text}");
        let target = m.target.as_ref().expect("target");
        assert_eq!(target.code, "RUSGOV", "{text}");
        assert_eq!(actor_text(m, target), "Putin", "{text}");
        ids.push(m.event_id());
    }
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    // Three or more: one event per unordered pair.
    let mut pairs: Vec<(String, String)> = code(
        "The leaders of the United States, Japan and South Korea met at Camp David.",
        "2023-08-18",
    )
    .into_iter()
    .map(|m| (m.source.code, m.target.map(|t| t.code).unwrap_or_default()))
    .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        [
            ("JPNGOV", "KORGOV"),
            ("JPNGOV", "USAGOV"),
            ("KORGOV", "USAGOV")
        ]
        .map(|(s, t)| (s.to_string(), t.to_string()))
    );
    // Directed acts keep their direction: two visits are two events.
    let a = code("Japan visited India.", "2024-01-05");
    let b = code("India visited Japan.", "2024-01-05");
    assert_eq!(
        (a[0].source.code.as_str(), b[0].source.code.as_str()),
        ("JPN", "IND")
    );
    assert_ne!(a[0].event_id(), b[0].event_id());
    // A pattern flagged `directed` keeps a symmetric code as told (SWE would sort first).
    assert_eq!(
        events("Turkey ratified Sweden's NATO membership.", "2024-01-05"),
        vec![ev("TUR", "SWE", "057", "2024-01-05")]
    );
}

#[test]
fn negated_hedged_future_and_self_events_are_left_out() {
    for text in [
        "Japan did not sign the treaty with India.",
        "Japan never attacked China.",
        "Japan may send tanks to Ukraine.",
        "Japan will sign a deal with India.",
        "Japan plans to sign a deal with India.",
        "Japan reportedly shipped missiles to Ukraine.",
        "Kyiv said Russia might attack Odesa.",
        "Analysts question whether Japan would sign a deal with India.",
        "Vladimir Putin meets Vladimir Putin.",
    ] {
        let all = coder().code_with_dropped(&Document {
            title: None,
            text,
            published: d("2024-01-05"),
        });
        assert!(
            all.iter()
                .all(|m| m.status != Status::Asserted || m.mention.root == 1),
            "{text}: {:?}",
            all.iter()
                .map(|m| (&m.mention.cameo, m.status))
                .collect::<Vec<_>>()
        );
    }
    // Refusing is itself an event (REJECT).
    assert_eq!(
        events("Germany refused to send tanks to Ukraine.", "2023-01-19")[0].2,
        "120"
    );
}

#[test]
fn dates_resolve_against_publication() {
    let m = code(
        "On Tuesday, China held talks with South Korea.",
        "2024-06-19",
    );
    assert_eq!(
        (m[0].date, m[0].date_source.as_str()),
        (d("2024-06-18"), "text")
    );
    let m = code("China held talks with South Korea.", "2024-06-19");
    assert_eq!(
        (m[0].date, m[0].date_source.as_str()),
        (d("2024-06-19"), "published")
    );
    assert_eq!(
        code("China attacked Taiwan in 1958.", "2024-06-19")[0].date,
        d("1958-01-01")
    );
    // A date belongs to its clause: the statement is dated to publication.
    let m = code(
        "Russia attacked Kyiv on Tuesday, Ukrainian officials said.",
        "2024-06-20",
    );
    assert_eq!((m[0].cameo.as_str(), m[0].date), ("190", d("2024-06-18")));
    assert_eq!((m[1].cameo.as_str(), m[1].date), ("010", d("2024-06-20")));
    // A fronted date covers the sentence.
    assert_eq!(
        code("In July of 2023, Japan visited Kyiv.", "2024-06-19")[0].date,
        d("2023-07-01")
    );
    assert_eq!(
        code("China attacked Taiwan last month.", "2024-06-19")[0].date_precision,
        "month"
    );
}

#[test]
fn places_from_datelines_phrases_and_cities() {
    let m = code(
        "SEOUL, South Korea — Japan criticized China.\nIn Paris, Japan met India.",
        "2024-06-19",
    );
    assert_eq!(m[0].place.as_ref().map(|p| p.name.as_str()), Some("Seoul"));
    let paris = m[1].place.as_ref().expect("Paris");
    assert_eq!(
        (paris.name.as_str(), paris.country.as_str()),
        ("Paris", "FRA")
    );
    assert!(paris.lat.is_some() && paris.lon.is_some());
    let m = code("Japan met India in Brazil.", "2024-06-19");
    assert_eq!(m[0].place.as_ref().map(|p| p.country.as_str()), Some("BRA"));
}

#[test]
fn offsets_point_into_the_text() {
    let text = "Intro line\nRussia and North Korea signed a treaty.";
    let m = code(text, "2024-06-19");
    let first = &m[0];
    let sentence: String = text
        .chars()
        .skip(first.sentence_start)
        .take(first.sentence_end - first.sentence_start)
        .collect();
    assert_eq!(sentence, first.sentence);
    // A signing is symmetric: canonical order puts North Korea (PRK) first, and each actor's
    // offsets still point at its own words.
    assert_eq!(actor_text(first, &first.source), "North Korea");
    let target = first.target.as_ref().expect("target");
    assert_eq!(actor_text(first, target), "Russia");
    assert_eq!(first.action_text, "signed a treaty");
    assert!(first.confidence > 0.0 && first.confidence <= 1.0);
}

#[test]
fn embedded_and_directory_dictionaries_agree() {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data"));
    let from_dir = Coder::from_dir(dir).expect("data dir loads");
    assert_eq!(from_dir.dictionary_version(), coder().dictionary_version());
    assert!(Coder::from_dir(std::path::Path::new("/nonexistent")).is_err());
}

#[test]
fn never_panics_on_odd_input() {
    for text in [
        "",
        "\n\n",
        "“”",
        "—",
        "A. B. C.",
        "said",
        "Putin",
        "ÉÉÉ — é",
        "1.2.3",
        "'s 's",
        "by by by signed",
    ] {
        let _ = code(text, "2024-01-01");
    }
    let long = "Russia attacked Ukraine. ".repeat(500);
    assert_eq!(code(&long, "2024-01-01").len(), 500);
}

#[test]
fn never_panics_on_random_text() {
    use rand::{Rng, SeedableRng};
    let pieces = [
        "Russia",
        "and",
        "North Korea",
        "signed",
        "a",
        "treaty",
        " ",
        ".",
        ",",
        "—",
        "-",
        "’s",
        "“",
        "”",
        "U.S.",
        "Mr.",
        "in",
        "on Tuesday",
        "by",
        "was",
        "not",
        "may",
        "Kim",
        "Putin",
        "\n",
        "é",
        "日本",
        "🙂",
        "'",
        "(",
        ")",
        "2024",
        "June 19",
        "the",
        "of",
        "to",
        "that",
        "said",
        "Seoul",
        "SEOUL,",
        "attacked",
        "3.5",
        "A.",
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for _ in 0..2000 {
        let n = rng.random_range(0..40);
        let mut text = String::new();
        for _ in 0..n {
            text.push_str(pieces[rng.random_range(0..pieces.len())]);
            if rng.random_bool(0.7) {
                text.push(' ');
            }
        }
        let _ = coder().code_with_dropped(&Document {
            title: Some(&text),
            text: &text,
            published: d("2024-06-19"),
        });
    }
}
