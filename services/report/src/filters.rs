//! Report filters: raw values from the command line or a query string, validated into
//! [`Filters`] with bounds, and errors that name the offending parameter.

use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;

/// Hard upper bound of `--limit` on the command line.
pub const CLI_MAX_LIMIT: u32 = 10_000;
/// Hard upper bound of `limit` in the HTTP API.
pub const API_MAX_LIMIT: u32 = 1_000;
/// Widest date range the HTTP API serves, in days (inclusive of both ends).
pub const API_MAX_RANGE_DAYS: i64 = 366;
/// Rows returned when no limit is given.
pub const DEFAULT_LIMIT: u32 = 100;
/// Earliest and latest year a date filter may name. News events outside this window are
/// typing mistakes; bounding them keeps every date computation (default ranges, day series)
/// far from the ends of chrono's calendar, whose `+`/`-` panic on overflow.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// A filter value that was rejected; `parameter` is the query-string name (`quad_class`),
/// [`FilterError::flag`] the command-line spelling (`--quad-class`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("invalid {parameter}: {message}")]
pub struct FilterError {
    pub parameter: &'static str,
    pub message: String,
}

impl FilterError {
    pub fn new(parameter: &'static str, message: impl Into<String>) -> Self {
        Self {
            parameter,
            message: message.into(),
        }
    }

    /// The parameter as a command-line flag.
    pub fn flag(&self) -> String {
        format!("--{}", self.parameter.replace('_', "-"))
    }
}

/// Unvalidated filter values, as typed by a user.
#[derive(Debug, Clone, Default)]
pub struct RawFilters {
    pub from: Option<String>,
    pub to: Option<String>,
    pub actor: Option<String>,
    pub country: Option<String>,
    pub code: Option<String>,
    pub quad_class: Option<String>,
    pub story: Option<String>,
    pub limit: Option<String>,
}

/// What the caller allows: the CLI is generous, the HTTP API bounded.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub max_limit: u32,
    /// Widest `from`..=`to` range in days; `None` for no bound.
    pub max_range_days: Option<i64>,
}

impl Bounds {
    pub const CLI: Bounds = Bounds {
        max_limit: CLI_MAX_LIMIT,
        max_range_days: None,
    };
    pub const API: Bounds = Bounds {
        max_limit: API_MAX_LIMIT,
        max_range_days: Some(API_MAX_RANGE_DAYS),
    };
}

/// Validated filters. Every field narrows the rows; `None` does not filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Filters {
    /// First day, inclusive.
    pub from: Option<NaiveDate>,
    /// Last day, inclusive.
    pub to: Option<NaiveDate>,
    /// CAMEO actor code prefix (`RUS` matches `RUSGOV`), matched against source or target.
    pub actor: Option<String>,
    /// ISO-3 country, matched against the source's, the target's or the place's country.
    pub country: Option<String>,
    /// CAMEO event code prefix (`05` is the root code, `057` the exact code).
    pub code: Option<String>,
    /// 1 verbal cooperation, 2 material cooperation, 3 verbal conflict, 4 material conflict.
    pub quad_class: Option<i16>,
    pub story: Option<i64>,
    pub limit: u32,
}

impl Default for Filters {
    fn default() -> Self {
        Self {
            from: None,
            to: None,
            actor: None,
            country: None,
            code: None,
            quad_class: None,
            story: None,
            limit: DEFAULT_LIMIT,
        }
    }
}

fn non_empty(value: Option<&String>) -> Option<&str> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// Parses a `YYYY-MM-DD` date in [`YEARS`].
pub fn parse_date(parameter: &'static str, raw: &str) -> Result<NaiveDate, FilterError> {
    let date = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| {
        FilterError::new(
            parameter,
            format!("expected a date as YYYY-MM-DD, got {raw:?}"),
        )
    })?;
    if !YEARS.contains(&date.year()) {
        return Err(FilterError::new(
            parameter,
            format!(
                "expected a date from {}-01-01 to {}-12-31, got {raw:?}",
                YEARS.start(),
                YEARS.end()
            ),
        ));
    }
    Ok(date)
}

impl RawFilters {
    /// Validates every value; the first bad one is reported.
    pub fn validate(&self, bounds: Bounds) -> Result<Filters, FilterError> {
        let from = non_empty(self.from.as_ref())
            .map(|v| parse_date("from", v))
            .transpose()?;
        let to = non_empty(self.to.as_ref())
            .map(|v| parse_date("to", v))
            .transpose()?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(FilterError::new("from", format!("{f} is after to ({t})")));
            }
            if let Some(max) = bounds.max_range_days
                && (t - f).num_days() + 1 > max
            {
                return Err(FilterError::new(
                    "to",
                    format!(
                        "the range {f}..{t} spans {} days; at most {max} are allowed",
                        (t - f).num_days() + 1
                    ),
                ));
            }
        }
        let actor = non_empty(self.actor.as_ref())
            .map(|v| {
                let v = v.to_ascii_uppercase();
                let ok = (3..=15).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric());
                ok.then_some(v.clone()).ok_or_else(|| {
                    FilterError::new(
                        "actor",
                        format!("expected a CAMEO actor code or prefix of 3-15 letters/digits (e.g. RUS, RUSGOV), got {v:?}"),
                    )
                })
            })
            .transpose()?;
        let country = non_empty(self.country.as_ref())
            .map(|v| {
                let v = v.to_ascii_uppercase();
                let ok = v.len() == 3 && v.chars().all(|c| c.is_ascii_alphabetic());
                ok.then_some(v.clone()).ok_or_else(|| {
                    FilterError::new(
                        "country",
                        format!("expected an ISO 3166-1 alpha-3 code (e.g. PRK), got {v:?}"),
                    )
                })
            })
            .transpose()?;
        let code = non_empty(self.code.as_ref())
            .map(|v| {
                let ok = (2..=4).contains(&v.len()) && v.chars().all(|c| c.is_ascii_digit());
                let root: u32 = v.get(..2).and_then(|r| r.parse().ok()).unwrap_or(0);
                (ok && (1..=20).contains(&root))
                    .then(|| v.to_owned())
                    .ok_or_else(|| {
                        FilterError::new(
                            "code",
                            format!("expected a CAMEO code prefix of 2-4 digits starting with a root code 01-20 (e.g. 05, 057), got {v:?}"),
                        )
                    })
            })
            .transpose()?;
        let quad_class = non_empty(self.quad_class.as_ref())
            .map(|v| match v.parse::<i16>() {
                Ok(q @ 1..=4) => Ok(q),
                _ => Err(FilterError::new(
                    "quad_class",
                    format!("expected 1 (verbal cooperation), 2 (material cooperation), 3 (verbal conflict) or 4 (material conflict), got {v:?}"),
                )),
            })
            .transpose()?;
        let story = non_empty(self.story.as_ref())
            .map(|v| match v.parse::<i64>() {
                Ok(s) if s > 0 => Ok(s),
                _ => Err(FilterError::new(
                    "story",
                    format!("expected a positive story id, got {v:?}"),
                )),
            })
            .transpose()?;
        let limit = match non_empty(self.limit.as_ref()) {
            None => DEFAULT_LIMIT.min(bounds.max_limit),
            Some(v) => match v.parse::<u32>() {
                Ok(l) if (1..=bounds.max_limit).contains(&l) => l,
                _ => {
                    return Err(FilterError::new(
                        "limit",
                        format!(
                            "expected a whole number from 1 to {}, got {v:?}",
                            bounds.max_limit
                        ),
                    ));
                }
            },
        };
        Ok(Filters {
            from,
            to,
            actor,
            country,
            code,
            quad_class,
            story,
            limit,
        })
    }
}

impl Filters {
    /// Fills a missing end of the date range so it spans `days` days: ending at `latest`
    /// (the newest event's date) when neither end is given, else from or to the given end.
    /// What the HTTP API serves without explicit dates. The arithmetic is checked: a range
    /// that would leave the calendar is an error naming the end that was given.
    pub fn default_range(&mut self, latest: NaiveDate, days: u64) -> Result<(), FilterError> {
        let span = Days::new(days.saturating_sub(1));
        let out_of_range = |parameter: &'static str, end: NaiveDate| {
            FilterError::new(
                parameter,
                format!("{end} is too close to the end of the calendar for a {days}-day range"),
            )
        };
        match (self.from, self.to) {
            (None, None) => {
                let from = latest
                    .checked_sub_days(span)
                    .ok_or_else(|| out_of_range("to", latest))?;
                self.to = Some(latest);
                self.from = Some(from);
            }
            (Some(f), None) => {
                self.to = Some(
                    f.checked_add_days(span)
                        .ok_or_else(|| out_of_range("from", f))?,
                );
            }
            (None, Some(t)) => {
                self.from = Some(
                    t.checked_sub_days(span)
                        .ok_or_else(|| out_of_range("to", t))?,
                );
            }
            (Some(_), Some(_)) => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawFilters {
        RawFilters::default()
    }

    #[test]
    fn accepts_good_values() -> Result<(), FilterError> {
        let f = RawFilters {
            from: Some("2024-06-01".into()),
            to: Some("2024-06-30".into()),
            actor: Some("rusgov".into()),
            country: Some("prk".into()),
            code: Some("057".into()),
            quad_class: Some("2".into()),
            story: Some("7".into()),
            limit: Some("50".into()),
        }
        .validate(Bounds::API)?;
        assert_eq!(f.actor.as_deref(), Some("RUSGOV"));
        assert_eq!(f.country.as_deref(), Some("PRK"));
        assert_eq!(f.quad_class, Some(2));
        assert_eq!(f.limit, 50);
        Ok(())
    }

    #[test]
    fn names_the_bad_parameter() {
        let cases = [
            (
                RawFilters {
                    from: Some("2024-13-01".into()),
                    ..raw()
                },
                "from",
            ),
            (
                RawFilters {
                    to: Some("yesterday".into()),
                    ..raw()
                },
                "to",
            ),
            (
                RawFilters {
                    quad_class: Some("5".into()),
                    ..raw()
                },
                "quad_class",
            ),
            (
                RawFilters {
                    code: Some("5".into()),
                    ..raw()
                },
                "code",
            ),
            (
                RawFilters {
                    code: Some("21".into()),
                    ..raw()
                },
                "code",
            ),
            (
                RawFilters {
                    country: Some("KOREA".into()),
                    ..raw()
                },
                "country",
            ),
            (
                RawFilters {
                    actor: Some("RU;".into()),
                    ..raw()
                },
                "actor",
            ),
            (
                RawFilters {
                    story: Some("-1".into()),
                    ..raw()
                },
                "story",
            ),
            (
                RawFilters {
                    limit: Some("1001".into()),
                    ..raw()
                },
                "limit",
            ),
            (
                RawFilters {
                    limit: Some("0".into()),
                    ..raw()
                },
                "limit",
            ),
            (
                RawFilters {
                    from: Some("2024-02-01".into()),
                    to: Some("2024-01-01".into()),
                    ..raw()
                },
                "from",
            ),
            (
                RawFilters {
                    from: Some("2022-01-01".into()),
                    to: Some("2024-01-01".into()),
                    ..raw()
                },
                "to",
            ),
        ];
        for (input, parameter) in cases {
            let err = input.validate(Bounds::API).err();
            assert_eq!(err.map(|e| e.parameter), Some(parameter), "{input:?}");
        }
    }

    #[test]
    fn cli_bounds_are_wider() {
        let wide = RawFilters {
            from: Some("2020-01-01".into()),
            to: Some("2024-12-31".into()),
            limit: Some("5000".into()),
            ..raw()
        };
        assert!(wide.validate(Bounds::CLI).is_ok());
        assert!(wide.validate(Bounds::API).is_err());
        assert_eq!(FilterError::new("quad_class", "x").flag(), "--quad-class");
    }

    #[test]
    fn default_range_ends_at_latest() {
        let mut f = Filters::default();
        let latest = NaiveDate::from_ymd_opt(2024, 6, 30).unwrap_or_default();
        assert_eq!(f.default_range(latest, 30), Ok(()));
        assert_eq!(f.to, Some(latest));
        assert_eq!(f.from, NaiveDate::from_ymd_opt(2024, 6, 1));

        let mut one_end = Filters {
            from: NaiveDate::from_ymd_opt(2024, 6, 1),
            ..Filters::default()
        };
        assert_eq!(one_end.default_range(latest, 30), Ok(()));
        assert_eq!(one_end.to, Some(latest));
    }

    #[test]
    fn dates_outside_the_sane_years_are_refused_naming_the_parameter() {
        // chrono's own ends ("+262142-12-31", "-262143-01-01") parse as dates: one of them as
        // the only end once made the default range overflow.
        let (max, min) = (NaiveDate::MAX.to_string(), NaiveDate::MIN.to_string());
        for (from, to, parameter) in [
            (Some(max.as_str()), None, "from"),
            (None, Some(max.as_str()), "to"),
            (Some(min.as_str()), None, "from"),
            (None, Some(min.as_str()), "to"),
            (None, Some("0001-01-01"), "to"),
            (Some("1899-12-31"), Some("2024-01-01"), "from"),
            (Some("2024-01-01"), Some("2201-01-01"), "to"),
        ] {
            let raw = RawFilters {
                from: from.map(Into::into),
                to: to.map(Into::into),
                ..raw()
            };
            for bounds in [Bounds::CLI, Bounds::API] {
                let err = raw.validate(bounds).err();
                assert_eq!(
                    err.as_ref().map(|e| e.parameter),
                    Some(parameter),
                    "{raw:?}"
                );
                assert!(
                    err.is_some_and(|e| e.message.contains("1900-01-01 to 2200-12-31")),
                    "{raw:?}"
                );
            }
        }
        let edges = RawFilters {
            from: Some("1900-01-01".into()),
            to: Some("2200-12-31".into()),
            ..raw()
        };
        assert!(edges.validate(Bounds::CLI).is_ok());
        // Beyond chrono's calendar the value is not a date at all.
        let beyond = RawFilters {
            from: Some("+262143-12-31".into()),
            ..raw()
        };
        assert_eq!(
            beyond.validate(Bounds::API).err().map(|e| e.parameter),
            Some("from")
        );
    }

    #[test]
    fn default_range_never_panics_at_the_ends_of_the_calendar() {
        let mut late = Filters {
            from: Some(NaiveDate::MAX),
            ..Filters::default()
        };
        assert_eq!(
            late.default_range(NaiveDate::MAX, 30)
                .map_err(|e| e.parameter),
            Err("from")
        );
        let mut early = Filters {
            to: Some(NaiveDate::MIN),
            ..Filters::default()
        };
        assert_eq!(
            early
                .default_range(NaiveDate::MIN, 30)
                .map_err(|e| e.parameter),
            Err("to")
        );
        let mut none = Filters::default();
        assert_eq!(
            none.default_range(NaiveDate::MIN, 30)
                .map_err(|e| e.parameter),
            Err("to")
        );
        // The widest validated range stays well inside the calendar.
        let mut widest = RawFilters {
            from: Some("2200-12-31".into()),
            ..raw()
        }
        .validate(Bounds::API)
        .unwrap_or_default();
        assert_eq!(widest.default_range(NaiveDate::MAX, 30), Ok(()));
        assert_eq!(widest.to, NaiveDate::from_ymd_opt(2201, 1, 29));
    }
}
