//! The dictionaries and sentence templates of the synthetic stream, embedded from
//! `data/synth/` at compile time and parsed once into borrowed, pre-split form.

use std::sync::LazyLock;

/// A country or international organisation that can act in a story.
#[derive(Debug)]
pub(super) struct Actor {
    /// CAMEO actor code (`RUS`, `IGONAT`), so data reviews and event-coder tests can
    /// check the mapping; `IGO…` marks organisations.
    pub code: &'static str,
    pub name: &'static str,
    pub demonym: &'static str,
    pub capital: &'static str,
    pub government: &'static str,
    pub leader: &'static str,
    pub leader_short: &'static str,
    pub minister: &'static str,
}

impl Actor {
    /// Organisations have no foreign ministry or army; some surface forms skip them.
    pub fn is_organisation(&self) -> bool {
        self.code.starts_with("IGO")
    }
}

/// An action one actor does to another, in report (past) and headline (present) form.
#[derive(Debug)]
pub(super) struct Verb {
    pub past: &'static str,
    pub present: &'static str,
}

#[derive(Debug)]
pub(super) struct Place {
    pub city: &'static str,
    pub country: &'static str,
}

#[derive(Debug)]
pub(super) struct Outlet {
    pub domain: &'static str,
    pub name: &'static str,
    /// Wire agencies' copy is what other outlets syndicate, with their byline on top.
    pub wire: bool,
    pub section: &'static str,
}

/// A named hole in a template, filled when a sentence is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    Actor(Role, Form),
    MainVerb,
    HeadVerb,
    Verb,
    Topic,
    Topic2,
    MainPlace,
    Place,
    Day,
    Date,
    Month,
    Year,
    RecentYear,
    Num,
    Big,
    Money,
    Pct,
    Person,
    Name,
    Said,
    Quote,
    Adj,
    /// An adjective with its indefinite article ("a tense", "an ambitious").
    AnAdj,
    AnSector,
    Adv,
    Sector,
    Weapon,
    Group,
    Institution,
    Region,
    Wire,
    Outlet,
    Dateline,
    DatelineCity,
    YearNow,
    MonthNow,
    DayNow,
    Headline,
}

/// Which of the story's actors a slot refers to: `A` acts on `B`, `C` looks on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    A,
    B,
    C,
}

/// How an actor is named: `Any` picks one of the realistic variants at random.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    Any,
    Name,
    Demonym,
    Capital,
    Government,
    Leader,
    Short,
    Minister,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seg {
    Lit(&'static str),
    Slot(Slot),
}

/// A template split into literal text and slots once, so writing is only pushes.
#[derive(Debug)]
pub(super) struct Template {
    pub segs: Vec<Seg>,
}

#[derive(Debug)]
pub(super) struct Vocab {
    pub actors: Vec<Actor>,
    pub verbs: Vec<Verb>,
    pub topics: Vec<&'static str>,
    pub places: Vec<Place>,
    pub first_names: Vec<&'static str>,
    pub surnames: Vec<&'static str>,
    pub roles: Vec<Template>,
    pub institutions: Vec<&'static str>,
    pub regions: Vec<&'static str>,
    pub said: Vec<&'static str>,
    pub adjectives: Vec<&'static str>,
    pub adverbs: Vec<&'static str>,
    pub sectors: Vec<&'static str>,
    pub weapons: Vec<&'static str>,
    pub groups: Vec<&'static str>,
    pub months: Vec<&'static str>,
    pub leads: Vec<Template>,
    pub body: Vec<Template>,
    pub quotes: Vec<Template>,
    pub headlines: Vec<Template>,
    pub outlets: Vec<Outlet>,
    pub prefixes: Vec<Template>,
    pub suffixes: Vec<Template>,
    pub continues: Vec<Template>,
    pub title_prefixes: Vec<&'static str>,
    pub title_suffixes: Vec<Template>,
    pub nav: Vec<Template>,
    pub scripts: Vec<&'static str>,
    pub footers: Vec<&'static str>,
}

const ACTORS: &str = include_str!("../../../../data/synth/actors.txt");
const VERBS: &str = include_str!("../../../../data/synth/verbs.txt");
const TOPICS: &str = include_str!("../../../../data/synth/topics.txt");
const PLACES: &str = include_str!("../../../../data/synth/places.txt");
const PEOPLE: &str = include_str!("../../../../data/synth/people.txt");
const WORDS: &str = include_str!("../../../../data/synth/words.txt");
const TEMPLATES: &str = include_str!("../../../../data/synth/templates.txt");
const OUTLETS: &str = include_str!("../../../../data/synth/outlets.txt");
const BOILERPLATE: &str = include_str!("../../../../data/synth/boilerplate.txt");

/// Parsed once per process; the data is compiled in, so a malformed file is a build
/// defect caught by the unit tests, not an input error.
pub(super) static VOCAB: LazyLock<Vocab> =
    LazyLock::new(|| Vocab::parse().unwrap_or_else(|e| panic!("data/synth is malformed: {e}")));

/// Content lines: trimmed, neither empty nor `#` comments. Trailing spaces that matter
/// (title suffixes start with one) are kept by trimming only the line end's `\r`.
fn lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
}

/// The lines under `[name]` in a sectioned file.
fn section(text: &'static str, name: &str) -> Result<Vec<&'static str>, String> {
    let mut inside = false;
    let mut found = false;
    let mut out = Vec::new();
    for line in lines(text) {
        let t = line.trim();
        if t.starts_with('[') && t.ends_with(']') {
            inside = &t[1..t.len() - 1] == name;
            found |= inside;
        } else if inside {
            out.push(line);
        }
    }
    if !found || out.is_empty() {
        return Err(format!("section [{name}] missing or empty"));
    }
    Ok(out)
}

fn trimmed(v: Vec<&'static str>) -> Vec<&'static str> {
    v.into_iter().map(str::trim).collect()
}

fn fields<const N: usize>(line: &'static str) -> Result<[&'static str; N], String> {
    let mut out = [""; N];
    let mut parts = line.split('|');
    for f in &mut out {
        *f = parts
            .next()
            .ok_or_else(|| format!("expected {N} fields in {line:?}"))?
            .trim();
    }
    if parts.next().is_some() {
        return Err(format!("expected {N} fields in {line:?}"));
    }
    Ok(out)
}

fn slot(name: &str) -> Option<Slot> {
    use Form::*;
    let actor = |rest: &str, role| -> Option<Slot> {
        let form = match rest {
            "" => Any,
            "_NAME" => Name,
            "_DEM" => Demonym,
            "_CAP" => Capital,
            "_GOV" => Government,
            "_LEADER" => Leader,
            "_SHORT" => Short,
            "_MIN" => Minister,
            _ => return None,
        };
        Some(Slot::Actor(role, form))
    };
    for (prefix, role) in [('A', Role::A), ('B', Role::B), ('C', Role::C)] {
        if let Some(s) = name.strip_prefix(prefix).and_then(|rest| actor(rest, role)) {
            return Some(s);
        }
    }
    Some(match name {
        "MAIN_VERB" => Slot::MainVerb,
        "HEAD_VERB" => Slot::HeadVerb,
        "VERB" => Slot::Verb,
        "TOPIC" => Slot::Topic,
        "TOPIC2" => Slot::Topic2,
        "MAIN_PLACE" => Slot::MainPlace,
        "PLACE" => Slot::Place,
        "DAY" => Slot::Day,
        "DATE" => Slot::Date,
        "MONTH" => Slot::Month,
        "YEAR" => Slot::Year,
        "RECENT_YEAR" => Slot::RecentYear,
        "NUM" => Slot::Num,
        "BIG" => Slot::Big,
        "MONEY" => Slot::Money,
        "PCT" => Slot::Pct,
        "PERSON" => Slot::Person,
        "NAME" => Slot::Name,
        "SAID" => Slot::Said,
        "QUOTE" => Slot::Quote,
        "ADJ" => Slot::Adj,
        "AN_ADJ" => Slot::AnAdj,
        "AN_SECTOR" => Slot::AnSector,
        "ADV" => Slot::Adv,
        "SECTOR" => Slot::Sector,
        "WEAPON" => Slot::Weapon,
        "GROUP" => Slot::Group,
        "INST" => Slot::Institution,
        "REGION" => Slot::Region,
        "WIRE" => Slot::Wire,
        "OUTLET" => Slot::Outlet,
        "DATELINE" => Slot::Dateline,
        "DATELINE_CITY" => Slot::DatelineCity,
        "YEAR_NOW" => Slot::YearNow,
        "MONTH_NOW" => Slot::MonthNow,
        "DAY_NOW" => Slot::DayNow,
        "HEADLINE" => Slot::Headline,
        _ => return None,
    })
}

impl Template {
    /// Splits `text` at `{SLOT}` markers. Braces around anything but an upper-case
    /// slot name (JSON in script snippets) stay literal; an unknown slot name is an error.
    pub(super) fn parse(text: &'static str) -> Result<Self, String> {
        let mut segs = Vec::new();
        let rest = text;
        let mut lit_start = 0;
        let mut pos = 0;
        while let Some(open) = rest[pos..].find('{') {
            let open = pos + open;
            let Some(close) = rest[open..].find('}').map(|c| open + c) else {
                break;
            };
            let name = &rest[open + 1..close];
            if !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            {
                let s = slot(name).ok_or_else(|| format!("unknown slot {{{name}}} in {text:?}"))?;
                if open > lit_start {
                    segs.push(Seg::Lit(&rest[lit_start..open]));
                }
                segs.push(Seg::Slot(s));
                lit_start = close + 1;
            }
            pos = close + 1;
            if pos >= rest.len() {
                break;
            }
        }
        if lit_start < rest.len() {
            segs.push(Seg::Lit(&rest[lit_start..]));
        }
        Ok(Self { segs })
    }
}

fn templates(v: Vec<&'static str>) -> Result<Vec<Template>, String> {
    v.into_iter().map(|l| Template::parse(l.trim())).collect()
}

impl Vocab {
    fn parse() -> Result<Self, String> {
        let actors = lines(ACTORS)
            .map(|l| {
                let [
                    code,
                    name,
                    demonym,
                    capital,
                    government,
                    leader,
                    leader_short,
                    minister,
                ] = fields::<8>(l)?;
                Ok(Actor {
                    code,
                    name,
                    demonym,
                    capital,
                    government,
                    leader,
                    leader_short,
                    minister,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let verbs = lines(VERBS)
            .map(|l| {
                let [_code, past, present] = fields::<3>(l)?;
                Ok(Verb { past, present })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let places = lines(PLACES)
            .map(|l| {
                let [city, country] = fields::<2>(l)?;
                Ok(Place { city, country })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let outlets = lines(OUTLETS)
            .map(|l| {
                let [domain, name, wire, section] = fields::<4>(l)?;
                Ok(Outlet {
                    domain,
                    name,
                    wire: wire == "yes",
                    section,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let vocab = Self {
            actors,
            verbs,
            topics: lines(TOPICS).map(str::trim).collect(),
            places,
            first_names: trimmed(section(PEOPLE, "first")?),
            surnames: trimmed(section(PEOPLE, "last")?),
            roles: templates(section(PEOPLE, "role")?)?,
            institutions: trimmed(section(PEOPLE, "institution")?),
            regions: trimmed(section(PEOPLE, "region")?),
            said: trimmed(section(WORDS, "said")?),
            adjectives: trimmed(section(WORDS, "adj")?),
            adverbs: trimmed(section(WORDS, "adv")?),
            sectors: trimmed(section(WORDS, "sector")?),
            weapons: trimmed(section(WORDS, "weapon")?),
            groups: trimmed(section(WORDS, "group")?),
            months: trimmed(section(WORDS, "month")?),
            leads: templates(section(TEMPLATES, "lead")?)?,
            body: templates(section(TEMPLATES, "body")?)?,
            quotes: templates(section(TEMPLATES, "quote")?)?,
            headlines: templates(section(TEMPLATES, "headline")?)?,
            outlets,
            prefixes: templates(section(BOILERPLATE, "prefix")?)?,
            suffixes: templates(section(BOILERPLATE, "suffix")?)?,
            continues: templates(section(BOILERPLATE, "continue")?)?,
            // Kept untrimmed: "Breaking: " needs its space before the headline.
            title_prefixes: section(BOILERPLATE, "title_prefix")?,
            title_suffixes: section(BOILERPLATE, "title_suffix")?
                .into_iter()
                .map(Template::parse)
                .collect::<Result<_, _>>()?,
            nav: templates(section(BOILERPLATE, "nav")?)?,
            scripts: trimmed(section(BOILERPLATE, "script")?),
            footers: trimmed(section(BOILERPLATE, "footer")?),
        };
        if vocab.actors.len() < 3 || vocab.outlets.len() < 2 || vocab.months.len() != 12 {
            return Err("need at least 3 actors, 2 outlets and 12 months".into());
        }
        if vocab.body.len() > MAX_TEMPLATES {
            return Err(format!("at most {MAX_TEMPLATES} body templates"));
        }
        Ok(vocab)
    }
}

/// Upper bound of body templates, so "already used in this article" fits a fixed bitset.
pub(super) const MAX_TEMPLATES: usize = 512;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_files_parse() {
        let v = &*VOCAB;
        assert!(v.actors.len() >= 40, "{}", v.actors.len());
        assert!(v.body.len() >= 80);
        assert!(v.outlets.iter().filter(|o| o.wire).count() >= 2);
        assert!(v.actors.iter().any(Actor::is_organisation));
    }

    #[test]
    fn template_splits_slots_and_keeps_json_braces() {
        let t = Template::parse("x {A} y {\"k\": 1} {NUM}.").expect("parses");
        assert_eq!(
            t.segs,
            vec![
                Seg::Lit("x "),
                Seg::Slot(Slot::Actor(Role::A, Form::Any)),
                Seg::Lit(" y {\"k\": 1} "),
                Seg::Slot(Slot::Num),
                Seg::Lit("."),
            ]
        );
        assert!(Template::parse("{NOPE}").is_err());
    }
}
