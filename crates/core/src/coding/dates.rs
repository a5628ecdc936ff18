//! Date expressions resolved against the publication date.
//!
//! Conventions (news practice; GDELT simply uses the publication date):
//! * a bare weekday ("on Tuesday") is the most recent such day on or before publication
//!   (the publication day itself when it is that weekday); "last Tuesday" is strictly before;
//! * "yesterday" = publication − 1 day, "today"/"tonight"/"this week" = publication;
//! * "last week" = publication − 7 days (precision `week`);
//! * "last month" = first day of the previous month, "in February of 2022" / "in July 2023"
//!   = first day of that month (precision `month`);
//! * a month without a year is the latest such month not after publication;
//! * "in 2000" / "in 1953" = January 1 of that year (precision `year`);
//! * "N days/weeks/months/years ago" counts back from publication.
//!
//! Future expressions ("next week", "tomorrow") are not resolved: they describe
//! acts that have not happened, which the coder leaves out anyway.

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

use super::text::Tokens;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Day,
    Week,
    Month,
    Year,
}

impl Precision {
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Day => "day",
            Precision::Week => "week",
            Precision::Month => "month",
            Precision::Year => "year",
        }
    }
}

/// A resolved date expression at token range `[s, e)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateExpr {
    pub s: usize,
    pub e: usize,
    pub date: NaiveDate,
    pub precision: Precision,
}

fn weekday(w: &str) -> Option<Weekday> {
    Some(match w {
        "monday" => Weekday::Mon,
        "tuesday" => Weekday::Tue,
        "wednesday" => Weekday::Wed,
        "thursday" => Weekday::Thu,
        "friday" => Weekday::Fri,
        "saturday" => Weekday::Sat,
        "sunday" => Weekday::Sun,
        _ => return None,
    })
}

/// Month number; `strict` words ("may", "march") need a capital letter and a date context.
fn month(w: &str) -> Option<(u32, bool)> {
    Some(match w {
        "january" | "jan" => (1, false),
        "february" | "feb" => (2, false),
        "march" => (3, true),
        "mar" => (3, false),
        "april" | "apr" => (4, false),
        "may" => (5, true),
        "june" | "jun" => (6, false),
        "july" | "jul" => (7, false),
        "august" | "aug" => (8, false),
        "september" | "sept" | "sep" => (9, false),
        "october" | "oct" => (10, false),
        "november" | "nov" => (11, false),
        "december" | "dec" => (12, false),
        _ => return None,
    })
}

fn number(w: &str) -> Option<u32> {
    if let Ok(n) = w.parse::<u32>() {
        return Some(n);
    }
    Some(match w {
        "a" | "an" | "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "fifteen" => 15,
        "twenty" => 20,
        "thirty" => 30,
        "forty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        _ => return None,
    })
}

fn year(w: &str, published: NaiveDate) -> Option<i32> {
    if w.len() != 4 {
        return None;
    }
    let y: i32 = w.parse().ok()?;
    (1800..=published.year() + 1).contains(&y).then_some(y)
}

fn latest_weekday(published: NaiveDate, wd: Weekday, strictly_before: bool) -> NaiveDate {
    let back = (published.weekday().num_days_from_monday() + 7 - wd.num_days_from_monday()) % 7;
    let back = if back == 0 && strictly_before {
        7
    } else {
        back
    };
    published
        .checked_sub_days(Days::new(u64::from(back)))
        .unwrap_or(published)
}

fn first_of_month(y: i32, m: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, 1)
}

/// All date expressions in a sentence.
pub fn find_dates(t: &Tokens, published: NaiveDate) -> Vec<DateExpr> {
    let mut out = Vec::new();
    let n = t.len();
    let mut i = 0;
    while i < n {
        let w = t.word(i);
        let prev = if i > 0 { t.word(i - 1) } else { "" };
        let next = t.word(i + 1);
        let upper = t.toks.get(i).is_some_and(|x| x.upper);
        let mut push = |s: usize, e: usize, d: Option<NaiveDate>, p: Precision| -> usize {
            if let Some(date) = d {
                out.push(DateExpr {
                    s,
                    e,
                    date,
                    precision: p,
                });
            }
            e
        };
        if let Some(wd) = weekday(w) {
            let strictly = prev == "last";
            if prev == "next" || prev == "coming" {
                i += 1;
                continue;
            }
            let s = if matches!(prev, "on" | "last" | "this") {
                i - 1
            } else {
                i
            };
            i = push(
                s,
                i + 1,
                Some(latest_weekday(published, wd, strictly)),
                Precision::Day,
            );
            continue;
        }
        match w {
            "yesterday" => {
                i = push(
                    i,
                    i + 1,
                    published.checked_sub_days(Days::new(1)),
                    Precision::Day,
                );
                continue;
            }
            "today" | "tonight" => {
                i = push(i, i + 1, Some(published), Precision::Day);
                continue;
            }
            "last" | "past" | "this" if matches!(next, "week" | "month" | "year" | "weekend") => {
                let d = match (w, next) {
                    ("this", "week" | "weekend") => Some(published),
                    ("this", "month") => first_of_month(published.year(), published.month()),
                    ("this", _) => NaiveDate::from_ymd_opt(published.year(), 1, 1),
                    (_, "week") => published.checked_sub_days(Days::new(7)),
                    (_, "weekend") => Some(latest_weekday(published, Weekday::Sat, true)),
                    (_, "month") => published
                        .checked_sub_months(Months::new(1))
                        .and_then(|d| first_of_month(d.year(), d.month())),
                    _ => NaiveDate::from_ymd_opt(published.year() - 1, 1, 1),
                };
                let p = match next {
                    "week" => Precision::Week,
                    "weekend" => Precision::Day,
                    "month" => Precision::Month,
                    _ => Precision::Year,
                };
                let p = if w == "this" && next == "week" {
                    Precision::Week
                } else {
                    p
                };
                i = push(i, i + 2, d, p);
                continue;
            }
            "ago" if i >= 2 => {
                let unit = prev;
                if let Some(k) = number(t.word(i - 2)) {
                    let k64 = u64::from(k);
                    let d = match unit {
                        "day" | "days" => published.checked_sub_days(Days::new(k64)),
                        "week" | "weeks" => published.checked_sub_days(Days::new(7 * k64)),
                        "month" | "months" => published
                            .checked_sub_months(Months::new(k))
                            .and_then(|d| first_of_month(d.year(), d.month())),
                        "year" | "years" => {
                            NaiveDate::from_ymd_opt(published.year() - k as i32, 1, 1)
                        }
                        _ => None,
                    };
                    let p = match unit {
                        "day" | "days" => Precision::Day,
                        "week" | "weeks" => Precision::Week,
                        "month" | "months" => Precision::Month,
                        _ => Precision::Year,
                    };
                    i = push(i - 2, i + 1, d, p);
                    continue;
                }
            }
            _ => {}
        }
        if let Some((m, strict)) = month(w) {
            // "June 19[, 2024]", "19 June 2024", "June 2024", "February of 2022", "in June"
            let day_after = number(next).filter(|d| (1..=31).contains(d) && next.len() <= 2);
            let day_before = if i > 0 {
                number(prev).filter(|d| (1..=31).contains(d) && prev.len() <= 2)
            } else {
                None
            };
            let ok_case = !strict || upper;
            if ok_case {
                if let Some(d) = day_after {
                    let y = year(t.word(i + 2), published);
                    let e = if y.is_some() { i + 3 } else { i + 2 };
                    let date = resolve_month_day(published, y, m, d);
                    i = push(i, e, date, Precision::Day);
                    continue;
                }
                if let Some(d) = day_before {
                    let y = year(next, published);
                    let e = if y.is_some() { i + 2 } else { i + 1 };
                    let date = resolve_month_day(published, y, m, d);
                    i = push(i - 1, e, date, Precision::Day);
                    continue;
                }
                let (y, e) = if let Some(y) = year(next, published) {
                    (Some(y), i + 2)
                } else if next == "of" {
                    match year(t.word(i + 2), published) {
                        Some(y) => (Some(y), i + 3),
                        None => (None, i + 1),
                    }
                } else {
                    (None, i + 1)
                };
                let context = y.is_some()
                    || matches!(
                        prev,
                        "in" | "since" | "early" | "late" | "mid" | "last" | "until" | "through"
                    );
                if context && (!strict || y.is_some() || prev == "in" || prev == "last") {
                    let yy = y.unwrap_or_else(|| {
                        let this_year = if prev == "last" {
                            m < published.month()
                        } else {
                            m <= published.month()
                        };
                        if this_year {
                            published.year()
                        } else {
                            published.year() - 1
                        }
                    });
                    i = push(i, e, first_of_month(yy, m), Precision::Month);
                    continue;
                }
            }
        }
        if matches!(prev, "in" | "early" | "late" | "mid" | "since" | "during")
            && let Some(y) = year(w, published)
        {
            let s = if i > 0 { i - 1 } else { i };
            i = push(s, i + 1, NaiveDate::from_ymd_opt(y, 1, 1), Precision::Year);
            continue;
        }
        i += 1;
    }
    out
}

fn resolve_month_day(published: NaiveDate, y: Option<i32>, m: u32, d: u32) -> Option<NaiveDate> {
    match y {
        Some(y) => NaiveDate::from_ymd_opt(y, m, d),
        None => {
            let this = NaiveDate::from_ymd_opt(published.year(), m, d)?;
            // A month-day a few days ahead of publication is most likely a future date
            // mentioned in news; beyond that it refers to the previous year.
            if this <= published + Days::new(3) {
                Some(this)
            } else {
                NaiveDate::from_ymd_opt(published.year() - 1, m, d)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coding::text::tokenize;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn first(text: &str, pubd: &str) -> Option<(NaiveDate, Precision)> {
        find_dates(&tokenize(text), d(pubd))
            .first()
            .map(|x| (x.date, x.precision))
    }

    #[test]
    fn weekdays_relative_to_publication() {
        // 2024-06-19 is a Wednesday.
        assert_eq!(
            first("signed on Wednesday", "2024-06-19"),
            Some((d("2024-06-19"), Precision::Day))
        );
        assert_eq!(
            first("On Tuesday, China held talks", "2024-06-19"),
            Some((d("2024-06-18"), Precision::Day))
        );
        assert_eq!(
            first("last Wednesday", "2024-06-19"),
            Some((d("2024-06-12"), Precision::Day))
        );
        assert_eq!(
            first("on Thursday", "2024-06-19"),
            Some((d("2024-06-13"), Precision::Day))
        );
    }

    #[test]
    fn relative_words() {
        assert_eq!(
            first("yesterday", "2024-03-01"),
            Some((d("2024-02-29"), Precision::Day))
        );
        assert_eq!(
            first("a summit last month", "2024-06-19"),
            Some((d("2024-05-01"), Precision::Month))
        );
        assert_eq!(
            first("last week", "2024-06-19"),
            Some((d("2024-06-12"), Precision::Week))
        );
        assert_eq!(
            first("three days ago", "2024-06-19"),
            Some((d("2024-06-16"), Precision::Day))
        );
    }

    #[test]
    fn months_and_years() {
        assert_eq!(
            first("in February of 2022", "2024-06-19"),
            Some((d("2022-02-01"), Precision::Month))
        );
        assert_eq!(
            first("In July of 2023, the", "2024-06-19"),
            Some((d("2023-07-01"), Precision::Month))
        );
        assert_eq!(
            first("on June 19, 2024", "2024-07-01"),
            Some((d("2024-06-19"), Precision::Day))
        );
        assert_eq!(
            first("June 19", "2024-06-19"),
            Some((d("2024-06-19"), Precision::Day))
        );
        assert_eq!(
            first("on 3 March 2021", "2024-06-19"),
            Some((d("2021-03-03"), Precision::Day))
        );
        assert_eq!(
            first("in December", "2024-06-19"),
            Some((d("2023-12-01"), Precision::Month))
        );
        assert_eq!(
            first("in 2000 by a treaty", "2024-06-19"),
            Some((d("2000-01-01"), Precision::Year))
        );
        assert_eq!(
            first("ended in 1953.", "2024-06-19"),
            Some((d("1953-01-01"), Precision::Year))
        );
    }

    #[test]
    fn modal_may_is_not_a_month() {
        assert_eq!(
            first("North Korea may have shipped shells", "2024-06-19"),
            None
        );
        assert_eq!(
            first("published his book in May.", "2024-06-19"),
            Some((d("2024-05-01"), Precision::Month))
        );
        assert_eq!(first("next Tuesday", "2024-06-19"), None);
    }
}
