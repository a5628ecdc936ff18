//! FIPS 10-4 country codes for the ISO-3 codes newsflow codes places with: GDELT writes its
//! `*Geo_CountryCode` columns in FIPS 10-4, not ISO 3166 (data/places/fips.tsv, with the few
//! places whose territory has its own code in data/places/fips-places.tsv), plus each
//! country's name and centroid (data/actors/countries.tsv) for country-level place rows.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::CodingError;
use super::dict::{field, tsv_rows};
use super::text::normalize_phrase;

/// A country as GDELT's geography columns name it.
#[derive(Debug, Clone, PartialEq)]
pub struct FipsCountry {
    pub iso3: String,
    /// FIPS 10-4 code, two capital letters (`RS` for Russia).
    pub fips: String,
    /// The canonical name in countries.tsv (`North Korea`).
    pub name: String,
    /// Centroid from countries.tsv.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// A place inside a territory that FIPS 10-4 codes apart from the place's ISO-3 country
/// (Gaza City: ISO-3 PSE, FIPS GZ rather than Palestine's WE).
#[derive(Debug, Clone, PartialEq)]
pub struct FipsTerritory {
    pub fips: String,
    pub name: String,
}

/// ISO-3 → FIPS 10-4, loaded once from the dictionaries.
#[derive(Debug, Clone)]
pub struct FipsTable {
    by_iso3: HashMap<String, FipsCountry>,
    /// Keyed by (normalised place name, ISO-3).
    territories: HashMap<(String, String), FipsTerritory>,
}

fn is_code(s: &str, len: usize) -> bool {
    s.len() == len && s.chars().all(|c| c.is_ascii_uppercase())
}

impl FipsTable {
    /// The table compiled into the binary, parsed on first use.
    pub fn embedded() -> Result<&'static FipsTable, CodingError> {
        static TABLE: OnceLock<Result<FipsTable, String>> = OnceLock::new();
        TABLE
            .get_or_init(|| {
                FipsTable::from_contents(
                    include_str!("../../../../data/places/fips.tsv"),
                    include_str!("../../../../data/places/fips-places.tsv"),
                    include_str!("../../../../data/actors/countries.tsv"),
                )
                .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| CodingError::Dictionary(e.clone()))
    }

    /// `fips`: `ISO-3 <TAB> FIPS <TAB> name`; `places`: `place <TAB> ISO-3 <TAB> FIPS <TAB>
    /// territory name`; `countries`: countries.tsv (for the centroids).
    pub fn from_contents(fips: &str, places: &str, countries: &str) -> Result<Self, CodingError> {
        let centroids: HashMap<&str, (Option<f64>, Option<f64>)> = tsv_rows(countries)
            .map(|(_, row)| {
                (
                    field(&row, 0),
                    (field(&row, 6).parse().ok(), field(&row, 7).parse().ok()),
                )
            })
            .collect();
        let mut by_iso3 = HashMap::new();
        for (ln, row) in tsv_rows(fips) {
            let (iso3, code, name) = (field(&row, 0), field(&row, 1), field(&row, 2));
            if !is_code(iso3, 3) || !is_code(code, 2) || name.is_empty() {
                return Err(CodingError::Dictionary(format!(
                    "fips.tsv:{ln}: expected ISO-3 <TAB> FIPS <TAB> name"
                )));
            }
            let (lat, lon) = centroids.get(iso3).copied().unwrap_or((None, None));
            let country = FipsCountry {
                iso3: iso3.to_owned(),
                fips: code.to_owned(),
                name: name.to_owned(),
                lat,
                lon,
            };
            if by_iso3.insert(iso3.to_owned(), country).is_some() {
                return Err(CodingError::Dictionary(format!(
                    "fips.tsv:{ln}: {iso3} is listed twice"
                )));
            }
        }
        let mut territories = HashMap::new();
        for (ln, row) in tsv_rows(places) {
            let (place, iso3, code, name) = (
                field(&row, 0),
                field(&row, 1),
                field(&row, 2),
                field(&row, 3),
            );
            if place.is_empty() || !is_code(iso3, 3) || !is_code(code, 2) || name.is_empty() {
                return Err(CodingError::Dictionary(format!(
                    "fips-places.tsv:{ln}: expected place <TAB> ISO-3 <TAB> FIPS <TAB> territory"
                )));
            }
            territories.insert(
                (normalize_phrase(place), iso3.to_owned()),
                FipsTerritory {
                    fips: code.to_owned(),
                    name: name.to_owned(),
                },
            );
        }
        Ok(FipsTable {
            by_iso3,
            territories,
        })
    }

    /// The country with ISO-3 code `iso3` (capitals, as stored).
    pub fn country(&self, iso3: &str) -> Option<&FipsCountry> {
        self.by_iso3.get(iso3)
    }

    /// The FIPS 10-4 code of ISO-3 `iso3`.
    pub fn fips(&self, iso3: &str) -> Option<&str> {
        self.country(iso3).map(|c| c.fips.as_str())
    }

    /// The territory with its own FIPS code that place `name` in country `iso3` lies in, if
    /// any (`Gaza City`, `PSE` → GZ Gaza Strip).
    pub fn territory(&self, name: &str, iso3: &str) -> Option<&FipsTerritory> {
        self.territories
            .get(&(normalize_phrase(name), iso3.to_owned()))
    }

    /// Every country in the table.
    pub fn countries(&self) -> impl Iterator<Item = &FipsCountry> {
        self.by_iso3.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Result<&'static FipsTable, CodingError> {
        FipsTable::embedded()
    }

    #[test]
    fn known_pairs() -> Result<(), CodingError> {
        let t = table()?;
        for (iso3, fips) in [
            ("RUS", "RS"),
            ("DEU", "GM"),
            ("CHN", "CH"),
            ("PRK", "KN"),
            ("KOR", "KS"),
            ("UKR", "UP"),
            ("GBR", "UK"),
            ("JPN", "JA"),
            ("ISR", "IS"),
            ("PSE", "WE"),
            ("IRN", "IR"),
            ("IRQ", "IZ"),
            ("ESP", "SP"),
            ("SWE", "SW"),
            ("CHE", "SZ"),
            ("AUT", "AU"),
            ("AUS", "AS"),
            ("ZAF", "SF"),
            ("NGA", "NI"),
            ("NER", "NG"),
            ("TCD", "CD"),
            ("MMR", "BM"),
            ("VNM", "VM"),
            ("PHL", "RP"),
            ("TUR", "TU"),
            ("SAU", "SA"),
            ("LBN", "LE"),
            ("SYR", "SY"),
            ("YEM", "YM"),
            ("SDN", "SU"),
            ("SSD", "OD"),
            ("USA", "US"),
        ] {
            assert_eq!(t.fips(iso3), Some(fips), "{iso3}");
        }
        assert_eq!(t.fips("XYZ"), None);
        let prk = t.country("PRK");
        assert_eq!(prk.map(|c| c.name.as_str()), Some("North Korea"));
        assert_eq!(prk.and_then(|c| c.lat), Some(40.3));
        Ok(())
    }

    #[test]
    fn every_country_of_the_dictionary_has_one_fips_code_and_its_name() -> Result<(), CodingError> {
        let t = table()?;
        let countries = include_str!("../../../../data/actors/countries.tsv");
        let mut n = 0;
        for (ln, row) in tsv_rows(countries) {
            let iso3 = field(&row, 0);
            let c = t
                .country(iso3)
                .unwrap_or_else(|| panic!("countries.tsv:{ln}: {iso3} has no FIPS code"));
            assert_eq!(c.name, field(&row, 1), "fips.tsv name of {iso3}");
            n += 1;
        }
        assert!(n > 190, "read {n} countries");
        assert_eq!(
            t.countries().count(),
            n,
            "fips.tsv lists only countries.tsv's"
        );
        // No two countries share a code.
        let mut codes: Vec<&str> = t.countries().map(|c| c.fips.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n);
        Ok(())
    }

    #[test]
    fn territories_override_their_country() -> Result<(), CodingError> {
        let t = table()?;
        assert_eq!(
            t.territory("Gaza City", "PSE").map(|p| p.fips.as_str()),
            Some("GZ")
        );
        assert_eq!(
            t.territory("gaza city", "PSE").map(|p| p.fips.as_str()),
            Some("GZ")
        );
        assert_eq!(t.territory("Ramallah", "PSE"), None);
        assert_eq!(
            t.territory("Hong Kong", "CHN").map(|p| p.fips.as_str()),
            Some("HK")
        );
        // Every territory place is a city of the gazetteer.
        let cities = include_str!("../../../../data/places/cities.tsv");
        for (_, row) in tsv_rows(include_str!("../../../../data/places/fips-places.tsv")) {
            assert!(
                tsv_rows(cities)
                    .any(|(_, c)| field(&c, 0) == field(&row, 0) && field(&c, 2) == field(&row, 1)),
                "{row:?} is not in cities.tsv"
            );
        }
        Ok(())
    }

    #[test]
    fn malformed_rows_are_refused() {
        assert!(FipsTable::from_contents("RUS\tRSS\tRussia\n", "", "").is_err());
        assert!(FipsTable::from_contents("RUS\tRS\tRussia\nRUS\tRS\tRussia\n", "", "").is_err());
        assert!(FipsTable::from_contents("", "Gaza\tPSE\tGZ\n", "").is_err());
    }
}
