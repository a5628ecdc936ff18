//! GDELT 2.0-compatible export: tab-separated `*.export.CSV` (the 61 Events columns) and
//! `*.mentions.CSV` (the 16 Mentions columns) in the published column order, without header
//! rows, one pair of files per event day. Columns newsflow has are filled, the rest left empty.
//! Geography is written as GDELT writes it: FIPS 10-4 country codes (newsflow stores ISO-3;
//! the mapping is data/places/fips.tsv via [`FipsTable`]), type 1 for a country, 4 for a city.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use newsflow_core::coding::fips::{FipsCountry, FipsTable};
use serde::Serialize;
use sqlx::PgPool;

/// The GDELT 2.0 Events columns, in the published order.
pub const EVENT_COLUMNS: [&str; 61] = [
    "GLOBALEVENTID",
    "SQLDATE",
    "MonthYear",
    "Year",
    "FractionDate",
    "Actor1Code",
    "Actor1Name",
    "Actor1CountryCode",
    "Actor1KnownGroupCode",
    "Actor1EthnicCode",
    "Actor1Religion1Code",
    "Actor1Religion2Code",
    "Actor1Type1Code",
    "Actor1Type2Code",
    "Actor1Type3Code",
    "Actor2Code",
    "Actor2Name",
    "Actor2CountryCode",
    "Actor2KnownGroupCode",
    "Actor2EthnicCode",
    "Actor2Religion1Code",
    "Actor2Religion2Code",
    "Actor2Type1Code",
    "Actor2Type2Code",
    "Actor2Type3Code",
    "IsRootEvent",
    "EventCode",
    "EventBaseCode",
    "EventRootCode",
    "QuadClass",
    "GoldsteinScale",
    "NumMentions",
    "NumSources",
    "NumArticles",
    "AvgTone",
    "Actor1Geo_Type",
    "Actor1Geo_FullName",
    "Actor1Geo_CountryCode",
    "Actor1Geo_ADM1Code",
    "Actor1Geo_ADM2Code",
    "Actor1Geo_Lat",
    "Actor1Geo_Long",
    "Actor1Geo_FeatureID",
    "Actor2Geo_Type",
    "Actor2Geo_FullName",
    "Actor2Geo_CountryCode",
    "Actor2Geo_ADM1Code",
    "Actor2Geo_ADM2Code",
    "Actor2Geo_Lat",
    "Actor2Geo_Long",
    "Actor2Geo_FeatureID",
    "ActionGeo_Type",
    "ActionGeo_FullName",
    "ActionGeo_CountryCode",
    "ActionGeo_ADM1Code",
    "ActionGeo_ADM2Code",
    "ActionGeo_Lat",
    "ActionGeo_Long",
    "ActionGeo_FeatureID",
    "DATEADDED",
    "SOURCEURL",
];

/// The GDELT 2.0 Mentions columns, in the published order.
pub const MENTION_COLUMNS: [&str; 16] = [
    "GLOBALEVENTID",
    "EventTimeDate",
    "MentionTimeDate",
    "MentionType",
    "MentionSourceName",
    "MentionIdentifier",
    "SentenceID",
    "Actor1CharOffset",
    "Actor2CharOffset",
    "ActionCharOffset",
    "InRawText",
    "Confidence",
    "MentionDocLen",
    "MentionDocTone",
    "MentionDocTranslationInfo",
    "Extras",
];

/// Errors exporting.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("database query failed: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write CSV to {path}: {source}")]
    Csv { path: PathBuf, source: csv::Error },
    #[error("the FIPS 10-4 country table is broken: {0}")]
    Places(#[from] newsflow_core::coding::CodingError),
}

/// GDELT's numeric GLOBALEVENTID for a newsflow event id: the first 64 bits of the xxh3-128
/// hex id with the sign bit cleared, so the same event always gets the same positive number.
/// A non-hex id (never written by extract) is hashed instead.
pub fn gdelt_event_id(event_id: &str) -> i64 {
    let bits = event_id
        .get(..16)
        .filter(|h| h.len() == 16)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or_else(|| xxhash_rust::xxh3::xxh3_64(event_id.as_bytes()));
    let id = (bits & (i64::MAX as u64)) as i64;
    id.max(1)
}

#[derive(Debug, sqlx::FromRow)]
struct ExportEvent {
    event_id: String,
    event_date: NaiveDate,
    source_code: String,
    source_name: String,
    source_country: Option<String>,
    source_role: Option<String>,
    target_code: Option<String>,
    target_name: Option<String>,
    target_country: Option<String>,
    target_role: Option<String>,
    cameo_code: String,
    root_code: i16,
    quad_class: i16,
    goldstein: f32,
    num_mentions: i32,
    num_articles: i32,
    num_sources: i32,
    place_name: Option<String>,
    place_country: Option<String>,
    place_lat: Option<f64>,
    place_lon: Option<f64>,
    first_seen: DateTime<Utc>,
    is_root: bool,
    source_url: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
struct ExportMention {
    event_id: String,
    event_first_seen: DateTime<Utc>,
    mentioned_at: DateTime<Utc>,
    outlet: Option<String>,
    url: Option<String>,
    article_id: i64,
    sentence_no: i32,
    sentence_start: i32,
    source_start: i32,
    target_start: Option<i32>,
    action_start: i32,
    confidence: f32,
    doc_len: Option<i32>,
}

/// Tabs and line breaks would split a TSV record; GDELT files never quote.
fn clean(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

fn opt(s: Option<&String>) -> String {
    s.map(|v| clean(v)).unwrap_or_default()
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%d%H%M%S").to_string()
}

/// GDELT's geography columns for one place: `Type, FullName, CountryCode, ADM1Code, ADM2Code,
/// Lat, Long, FeatureID`, all empty without a place.
///
/// A country-level place (no name, or the country's own name, as extract stores a country
/// match) is type 1 with GDELT's country conventions: the country's name, its FIPS code also
/// as ADM1Code and FeatureID, the stored coordinates or else the country's centroid. A named
/// place inside a country is type 4 (world city): `City, Country`, the FIPS code of the
/// country (or of the territory it lies in, e.g. Gaza City → GZ), its coordinates; ADM1/ADM2
/// codes and GNS feature ids are unknown to newsflow and left empty.
fn geo_columns(
    fips: &FipsTable,
    name: Option<&str>,
    iso3: Option<&str>,
    lat: Option<f64>,
    lon: Option<f64>,
) -> [String; 8] {
    let coord = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    if name.is_none() && iso3.is_none() {
        return Default::default();
    }
    let country = iso3.and_then(|c| fips.country(c));
    let country_level = |c: &FipsCountry| {
        [
            "1".into(),
            clean(&c.name),
            c.fips.clone(),
            c.fips.clone(),
            String::new(),
            coord(lat.or(c.lat)),
            coord(lon.or(c.lon)),
            c.fips.clone(),
        ]
    };
    match (name, country) {
        (None, Some(c)) => country_level(c),
        (Some(n), Some(c))
            if n.eq_ignore_ascii_case(&c.name) || n.eq_ignore_ascii_case(&c.iso3) =>
        {
            country_level(c)
        }
        // A city (or other named place).
        (Some(n), _) => {
            let territory = iso3.and_then(|c| fips.territory(n, c));
            let (code, area) = match (territory, country) {
                (Some(t), _) => (t.fips.clone(), Some(t.name.as_str())),
                (None, Some(c)) => (c.fips.clone(), Some(c.name.as_str())),
                (None, None) => (String::new(), None),
            };
            let full = match area {
                Some(a) if !a.eq_ignore_ascii_case(n) => format!("{n}, {a}"),
                _ => n.to_owned(),
            };
            [
                "4".into(),
                clean(&full),
                code,
                String::new(),
                String::new(),
                coord(lat),
                coord(lon),
                String::new(),
            ]
        }
        // A country code the table does not know (never written by extract): say what is
        // known without passing the code off as FIPS.
        (None, None) => [
            "1".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            coord(lat),
            coord(lon),
            String::new(),
        ],
    }
}

fn event_record(fips: &FipsTable, e: &ExportEvent) -> Vec<String> {
    let d = e.event_date;
    let fraction = f64::from(d.year()) + f64::from(d.ordinal()) / 365.0;
    let actor = |code: Option<&String>,
                 name: Option<&String>,
                 country: Option<&String>,
                 role: Option<&String>| {
        vec![
            opt(code),
            opt(name),
            opt(country),
            String::new(), // KnownGroupCode
            String::new(), // EthnicCode
            String::new(), // Religion1Code
            String::new(), // Religion2Code
            opt(role),
            String::new(), // Type2Code
            String::new(), // Type3Code
        ]
    };
    let mut r = Vec::with_capacity(61);
    r.push(gdelt_event_id(&e.event_id).to_string());
    r.push(d.format("%Y%m%d").to_string());
    r.push(d.format("%Y%m").to_string());
    r.push(d.year().to_string());
    r.push(format!("{fraction:.4}"));
    r.extend(actor(
        Some(&e.source_code),
        Some(&e.source_name),
        e.source_country.as_ref(),
        e.source_role.as_ref(),
    ));
    r.extend(actor(
        e.target_code.as_ref(),
        e.target_name.as_ref(),
        e.target_country.as_ref(),
        e.target_role.as_ref(),
    ));
    r.push(if e.is_root { "1" } else { "0" }.into());
    r.push(clean(&e.cameo_code));
    r.push(clean(e.cameo_code.get(..3).unwrap_or(&e.cameo_code)));
    r.push(format!("{:02}", e.root_code));
    r.push(e.quad_class.to_string());
    r.push(format!("{:.1}", e.goldstein));
    r.push(e.num_mentions.to_string());
    r.push(e.num_sources.to_string());
    r.push(e.num_articles.to_string());
    r.push(String::new()); // AvgTone: newsflow does not score tone
    // Actor1Geo and Actor2Geo: newsflow locates the action only.
    r.extend(std::iter::repeat_n(String::new(), 16));
    r.extend(geo_columns(
        fips,
        e.place_name.as_deref(),
        e.place_country.as_deref(),
        e.place_lat,
        e.place_lon,
    ));
    r.push(stamp(e.first_seen));
    r.push(opt(e.source_url.as_ref()));
    debug_assert_eq!(r.len(), EVENT_COLUMNS.len());
    r
}

fn mention_record(m: &ExportMention) -> Vec<String> {
    // newsflow confidences are 0..1; GDELT's are percentages.
    let confidence = if m.confidence <= 1.0 {
        (f64::from(m.confidence) * 100.0).round()
    } else {
        f64::from(m.confidence).round()
    }
    .clamp(0.0, 100.0);
    let r = vec![
        gdelt_event_id(&m.event_id).to_string(),
        stamp(m.event_first_seen),
        stamp(m.mentioned_at),
        "1".into(), // MentionType: web
        opt(m.outlet.as_ref()),
        m.url
            .as_ref()
            .map(|u| clean(u))
            .unwrap_or_else(|| format!("newsflow:article:{}", m.article_id)),
        m.sentence_no.to_string(),
        (m.sentence_start + m.source_start).to_string(),
        m.target_start
            .map(|t| (m.sentence_start + t).to_string())
            .unwrap_or_else(|| "-1".into()),
        (m.sentence_start + m.action_start).to_string(),
        "1".into(), // InRawText: coded from the article text itself
        format!("{confidence:.0}"),
        m.doc_len.map(|l| l.to_string()).unwrap_or_default(),
        String::new(), // MentionDocTone
        String::new(), // MentionDocTranslationInfo
        String::new(), // Extras
    ];
    debug_assert_eq!(r.len(), MENTION_COLUMNS.len());
    r
}

/// The export rows (events, mentions) of one event day.
pub async fn day_records(
    pool: &PgPool,
    day: NaiveDate,
) -> Result<(Vec<Vec<String>>, Vec<Vec<String>>), ExportError> {
    let events: Vec<ExportEvent> = sqlx::query_as(
        "SELECT e.event_id, e.event_date, e.source_code, e.source_name, e.source_country, \
                e.source_role, e.target_code, e.target_name, e.target_country, e.target_role, \
                e.cameo_code, e.root_code, e.quad_class, e.goldstein, e.num_mentions, \
                e.num_articles, e.num_sources, e.place_name, e.place_country, e.place_lat, \
                e.place_lon, e.first_seen, COALESCE(x.is_root, false) AS is_root, x.source_url \
         FROM events e \
         LEFT JOIN LATERAL ( \
             SELECT bool_or(m.in_title OR m.sentence_no <= 1) AS is_root, \
                    (array_agg(COALESCE(a.url, a.canonical_url) ORDER BY m.is_copy, m.mentioned_at, m.id) \
                        FILTER (WHERE COALESCE(a.url, a.canonical_url) IS NOT NULL))[1] AS source_url \
             FROM event_mentions m \
             LEFT JOIN articles a ON a.id = m.article_id \
             WHERE m.event_id = e.event_id) x ON true \
         WHERE e.event_date = $1 \
         ORDER BY e.event_id",
    )
    .bind(day)
    .fetch_all(pool)
    .await?;
    let mentions: Vec<ExportMention> = sqlx::query_as(
        "SELECT m.event_id, e.first_seen AS event_first_seen, m.mentioned_at, \
                COALESCE(m.source, a.source) AS outlet, COALESCE(a.url, a.canonical_url) AS url, \
                m.article_id, m.sentence_no, m.sentence_start, m.source_start, m.target_start, \
                m.action_start, m.confidence, char_length(a.body) AS doc_len \
         FROM events e \
         JOIN event_mentions m ON m.event_id = e.event_id \
         LEFT JOIN articles a ON a.id = m.article_id \
         WHERE e.event_date = $1 \
         ORDER BY m.event_id, m.mentioned_at, m.id",
    )
    .bind(day)
    .fetch_all(pool)
    .await?;
    let fips = FipsTable::embedded()?;
    Ok((
        events.iter().map(|e| event_record(fips, e)).collect(),
        mentions.iter().map(mention_record).collect(),
    ))
}

/// What an export wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportSummary {
    pub files: Vec<PathBuf>,
    pub events: usize,
    pub mentions: usize,
}

fn write_tsv(path: &Path, records: &[Vec<String>]) -> Result<(), ExportError> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b'\t')
        .has_headers(false)
        .quote_style(csv::QuoteStyle::Never)
        .from_path(path)
        .map_err(|source| ExportError::Csv {
            path: path.to_owned(),
            source,
        })?;
    for r in records {
        w.write_record(r).map_err(|source| ExportError::Csv {
            path: path.to_owned(),
            source,
        })?;
    }
    w.flush().map_err(|source| ExportError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Writes `YYYYMMDD000000.export.CSV` and `YYYYMMDD000000.mentions.CSV` for every day from
/// `from` to `to` that has events.
pub async fn export(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    out_dir: &Path,
) -> Result<ExportSummary, ExportError> {
    std::fs::create_dir_all(out_dir).map_err(|source| ExportError::Write {
        path: out_dir.to_owned(),
        source,
    })?;
    let days: Vec<NaiveDate> = sqlx::query_scalar(
        "SELECT DISTINCT event_date FROM events WHERE event_date BETWEEN $1 AND $2 ORDER BY 1",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    let mut summary = ExportSummary::default();
    for day in days {
        let (events, mentions) = day_records(pool, day).await?;
        let stem = day.format("%Y%m%d000000").to_string();
        let events_path = out_dir.join(format!("{stem}.export.CSV"));
        let mentions_path = out_dir.join(format!("{stem}.mentions.CSV"));
        write_tsv(&events_path, &events)?;
        write_tsv(&mentions_path, &mentions)?;
        summary.events += events.len();
        summary.mentions += mentions.len();
        summary.files.push(events_path);
        summary.files.push(mentions_path);
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_stable_and_positive() {
        let id = "ffffffffffffffff0123456789abcdef";
        assert_eq!(gdelt_event_id(id), i64::MAX);
        assert_eq!(gdelt_event_id("0000000000000001aaaa"), 1);
        assert_eq!(
            gdelt_event_id("not hex at all"),
            gdelt_event_id("not hex at all")
        );
        assert!(gdelt_event_id("not hex at all") > 0);
        assert_eq!(gdelt_event_id("00000000000000000000"), 1);
    }

    #[test]
    fn action_geo_is_written_in_gdelt_conventions() -> Result<(), ExportError> {
        let fips = FipsTable::embedded()?;
        let geo = |name: Option<&str>, iso3: Option<&str>, lat: Option<f64>, lon: Option<f64>| {
            geo_columns(fips, name, iso3, lat, lon)
        };
        // A city: type 4, "City, Country", the country's FIPS code, its coordinates.
        assert_eq!(
            geo(
                Some("Pyongyang"),
                Some("PRK"),
                Some(39.0392),
                Some(125.7625)
            ),
            [
                "4",
                "Pyongyang, North Korea",
                "KN",
                "",
                "",
                "39.0392",
                "125.7625",
                ""
            ]
        );
        assert_eq!(
            geo(Some("Moscow"), Some("RUS"), Some(55.75), Some(37.62))[2],
            "RS"
        );
        // A city in a territory FIPS codes apart.
        assert_eq!(
            geo(Some("Gaza City"), Some("PSE"), Some(31.5), Some(34.47))[..3],
            ["4", "Gaza City, Gaza Strip", "GZ"]
        );
        assert_eq!(geo(Some("Ramallah"), Some("PSE"), None, None)[2], "WE");
        // A country, as extract stores a country match (its name and centroid), or with the
        // country only: type 1, FIPS code as ADM1 and FeatureID, the centroid.
        let korea = [
            "1",
            "North Korea",
            "KN",
            "KN",
            "",
            "40.3000",
            "127.5000",
            "KN",
        ];
        assert_eq!(
            geo(Some("North Korea"), Some("PRK"), Some(40.3), Some(127.5)),
            korea
        );
        assert_eq!(geo(None, Some("PRK"), None, None), korea);
        assert_eq!(
            geo(Some("Germany"), Some("DEU"), Some(51.2), Some(10.4))[..4],
            ["1", "Germany", "GM", "GM"]
        );
        // No place; an unknown country code is never passed through as if it were FIPS.
        assert_eq!(geo(None, None, None, None), <[String; 8]>::default());
        assert_eq!(geo(None, Some("XYZ"), None, None)[..3], ["1", "", ""]);
        assert_eq!(
            geo(Some("Atlantis"), Some("XYZ"), None, None)[..3],
            ["4", "Atlantis", ""]
        );
        Ok(())
    }

    #[test]
    fn column_counts() {
        assert_eq!(EVENT_COLUMNS.len(), 61);
        assert_eq!(MENTION_COLUMNS.len(), 16);
        assert_eq!(EVENT_COLUMNS[60], "SOURCEURL");
        assert_eq!(MENTION_COLUMNS[15], "Extras");
    }
}
