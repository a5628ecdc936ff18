//! Actor dictionary and recognition: countries, demonyms, capitals as metonyms, roles,
//! organisations and people with time-bounded roles, combined into CAMEO actor codes.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use super::dict::{Case, Hit, PhraseIndex, field, list, longest_non_overlapping, tsv_rows};
use super::text::{P_COMMA, P_DASH, P_HYPHEN, P_PAREN, P_QUOTE, P_STOP, Tokens};
use super::{Actor, CodingError};

#[derive(Debug, Clone)]
pub struct Country {
    pub iso3: String,
    pub name: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

#[derive(Debug, Clone)]
struct Period {
    code: String,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    periods: Vec<Period>,
}

impl Person {
    /// The person's actor code on `date`: the role period covering it, else the country
    /// of the nearest period with role `ELI` (CAMEO "elite": a known figure out of office).
    pub fn code_at(&self, date: NaiveDate) -> String {
        for p in &self.periods {
            let after_start = p.start.is_none_or(|s| s <= date);
            let before_end = p.end.is_none_or(|e| date < e);
            if after_start && before_end {
                return p.code.clone();
            }
        }
        let base = self.periods.first().map_or("", |p| p.code.as_str());
        if base.len() >= 3
            && base.is_char_boundary(3)
            && !base.starts_with("IGO")
            && !base.starts_with("NGO")
        {
            format!("{}ELI", &base[..3])
        } else {
            base.to_string()
        }
    }
}

#[derive(Debug, Clone)]
struct Org {
    code: String,
    name: String,
}

#[derive(Debug, Clone)]
struct RoleDef {
    role: String,
    default_country: Option<u16>,
    standalone: bool,
}

/// What a dictionary phrase denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// A country name (`capital` = via a capital city used as metonym).
    Country(u16, bool),
    /// A demonym; `plural` people-nouns ("Russians") are actors on their own.
    Demonym(u16, bool),
    Org(u16),
    Person(u16),
    /// A surname; `alone_ok` when it identifies the person without a prior full mention.
    Surname(u16),
    Role(u16),
}

impl Entry {
    fn priority(self) -> u8 {
        match self {
            Entry::Person(_) => 6,
            Entry::Org(_) => 5,
            Entry::Country(..) => 4,
            Entry::Demonym(..) => 3,
            Entry::Role(_) => 2,
            Entry::Surname(_) => 1,
        }
    }
}

struct SurnameGroup {
    persons: Vec<u16>,
    alone_ok: Vec<bool>,
}

pub struct ActorDict {
    pub countries: Vec<Country>,
    iso: HashMap<String, u16>,
    persons: Vec<Person>,
    orgs: Vec<Org>,
    roles: Vec<RoleDef>,
    surnames: Vec<SurnameGroup>,
    person_by_name: HashMap<String, u16>,
    pub(crate) index: PhraseIndex<Entry>,
}

/// An actor recognised in a sentence.
#[derive(Debug, Clone)]
pub struct ActorSpan {
    pub actor: Actor,
    /// Token range.
    pub s: usize,
    pub e: usize,
    /// A bare demonym adjective ("Russian"): only usable next to a nominal event.
    pub weak: bool,
    /// Preceded by "in"/"at"/…: a place, not a participant.
    pub locative: bool,
    pub person: bool,
    /// Recognised through a city name (capital metonym).
    pub via_city: bool,
    /// Coordination group (actors joined by "and" / commas share it).
    pub group: usize,
    /// The dictionary person, whose code depends on the event date.
    pub person_id: Option<u16>,
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if s.is_empty() || s == "-" {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .or_else(|| NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").ok())
}

pub struct ActorSources<'a> {
    pub countries: &'a str,
    pub roles: &'a str,
    pub orgs: &'a str,
    pub people: &'a str,
}

impl ActorDict {
    pub fn load(src: &ActorSources<'_>) -> Result<Self, CodingError> {
        let mut countries = Vec::new();
        let mut iso = HashMap::new();
        let mut items: Vec<(String, Entry, Case)> = Vec::new();
        for (ln, row) in tsv_rows(src.countries) {
            let code = field(&row, 0);
            let name = field(&row, 1);
            if code.len() != 3 || name.is_empty() {
                return Err(CodingError::Dictionary(format!(
                    "countries.tsv:{ln}: bad row"
                )));
            }
            let idx = countries.len() as u16;
            countries.push(Country {
                iso3: code.to_string(),
                name: name.to_string(),
                lat: field(&row, 6).parse().ok(),
                lon: field(&row, 7).parse().ok(),
            });
            iso.insert(code.to_string(), idx);
            items.push((
                name.to_string(),
                Entry::Country(idx, false),
                Case::of_proper_name(name),
            ));
            for a in list(field(&row, 2)) {
                items.push((
                    a.to_string(),
                    Entry::Country(idx, false),
                    Case::of_proper_name(a),
                ));
            }
            for a in list(field(&row, 3)) {
                items.push((
                    a.to_string(),
                    Entry::Demonym(idx, false),
                    Case::of_proper_name(a),
                ));
            }
            for a in list(field(&row, 4)) {
                items.push((
                    a.to_string(),
                    Entry::Demonym(idx, true),
                    Case::of_proper_name(a),
                ));
            }
            for a in list(field(&row, 5)) {
                items.push((
                    a.to_string(),
                    Entry::Country(idx, true),
                    Case::of_proper_name(a),
                ));
            }
        }
        let mut roles = Vec::new();
        for (ln, row) in tsv_rows(src.roles) {
            let role = field(&row, 1);
            if role.is_empty() {
                return Err(CodingError::Dictionary(format!(
                    "roles.tsv:{ln}: missing role"
                )));
            }
            let dc = field(&row, 2);
            let default_country = if dc.is_empty() || dc == "-" {
                None
            } else {
                Some(*iso.get(dc).ok_or_else(|| {
                    CodingError::Dictionary(format!("roles.tsv:{ln}: unknown country {dc}"))
                })?)
            };
            let idx = roles.len() as u16;
            roles.push(RoleDef {
                role: role.to_string(),
                default_country,
                standalone: field(&row, 3).contains('s'),
            });
            for p in list(field(&row, 0)) {
                items.push((p.to_string(), Entry::Role(idx), Case::Any));
            }
        }
        let mut orgs = Vec::new();
        for (ln, row) in tsv_rows(src.orgs) {
            let code = field(&row, 0);
            let name = field(&row, 1);
            if (code != "-" && code.len() < 3) || name.is_empty() {
                return Err(CodingError::Dictionary(format!("orgs.tsv:{ln}: bad row")));
            }
            let idx = orgs.len() as u16;
            orgs.push(Org {
                code: code.to_string(),
                name: name.to_string(),
            });
            items.push((
                name.to_string(),
                Entry::Org(idx),
                Case::of_proper_name(name),
            ));
            for a in list(field(&row, 2)) {
                items.push((a.to_string(), Entry::Org(idx), Case::of_proper_name(a)));
            }
        }
        let mut persons: Vec<Person> = Vec::new();
        let mut by_name: HashMap<String, u16> = HashMap::new();
        let mut surname_idx: HashMap<String, u16> = HashMap::new();
        let mut surnames: Vec<SurnameGroup> = Vec::new();
        let mut seen_alias: HashSet<(u16, String)> = HashSet::new();
        for (ln, row) in tsv_rows(src.people) {
            let name = field(&row, 0);
            let code = field(&row, 3);
            if name.is_empty() || code.len() < 3 {
                return Err(CodingError::Dictionary(format!("people.tsv:{ln}: bad row")));
            }
            let period = Period {
                code: code.to_string(),
                start: parse_date(field(&row, 4)),
                end: parse_date(field(&row, 5)),
            };
            let idx = match by_name.get(name) {
                Some(i) => *i,
                None => {
                    let i = persons.len() as u16;
                    persons.push(Person {
                        name: name.to_string(),
                        periods: Vec::new(),
                    });
                    by_name.insert(name.to_string(), i);
                    i
                }
            };
            persons[idx as usize].periods.push(period);
            for a in std::iter::once(name).chain(list(field(&row, 1))) {
                if seen_alias.insert((idx, a.to_string())) {
                    items.push((a.to_string(), Entry::Person(idx), Case::of_proper_name(a)));
                }
            }
            let sn = field(&row, 2);
            if !sn.is_empty() && sn != "-" {
                let (alone, sname) = match sn.strip_prefix('!') {
                    Some(s) => (true, s),
                    None => (false, sn),
                };
                let key = sname.to_lowercase();
                let g = match surname_idx.get(&key) {
                    Some(g) => *g,
                    None => {
                        let g = surnames.len() as u16;
                        surnames.push(SurnameGroup {
                            persons: Vec::new(),
                            alone_ok: Vec::new(),
                        });
                        surname_idx.insert(key, g);
                        items.push((
                            sname.to_string(),
                            Entry::Surname(g),
                            Case::of_proper_name(sname),
                        ));
                        g
                    }
                };
                let grp = &mut surnames[g as usize];
                if !grp.persons.contains(&idx) {
                    grp.persons.push(idx);
                    grp.alone_ok.push(alone);
                }
            }
        }
        let index = PhraseIndex::build(items)?;
        Ok(ActorDict {
            countries,
            iso,
            persons,
            orgs,
            roles,
            surnames,
            person_by_name: by_name,
            index,
        })
    }

    /// The dictionary person with this canonical name.
    pub fn person_id_by_name(&self, name: &str) -> Option<u16> {
        self.person_by_name.get(name).copied()
    }

    pub fn country_by_iso(&self, iso3: &str) -> Option<&Country> {
        self.iso
            .get(iso3)
            .and_then(|i| self.countries.get(*i as usize))
    }

    /// Raw dictionary candidates of a sentence: longest non-overlapping, best entry each.
    pub fn candidates(&self, t: &Tokens, hits: &[Hit]) -> Vec<(usize, usize, Entry)> {
        let mut cands = Vec::with_capacity(hits.len());
        for h in hits {
            if let Some(best) = self
                .index
                .payloads(t, *h)
                .copied()
                .max_by_key(|e| e.priority())
            {
                cands.push((h.s, h.e, best));
            }
        }
        longest_non_overlapping(cands)
    }

    /// Persons named in full by these candidates.
    pub fn full_mentions(cands: &[(usize, usize, Entry)], out: &mut HashSet<u16>) {
        for c in cands {
            if let Entry::Person(p) = c.2 {
                out.insert(p);
            }
        }
    }

    fn resolve_surname(&self, g: u16, doc_persons: &HashSet<u16>) -> Option<u16> {
        let grp = self.surnames.get(g as usize)?;
        let named: Vec<u16> = grp
            .persons
            .iter()
            .copied()
            .filter(|p| doc_persons.contains(p))
            .collect();
        match named.len() {
            1 => Some(named[0]),
            0 => {
                let alone: Vec<u16> = grp
                    .persons
                    .iter()
                    .zip(&grp.alone_ok)
                    .filter(|(_, ok)| **ok)
                    .map(|(p, _)| *p)
                    .collect();
                if alone.len() == 1 {
                    Some(alone[0])
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Build an actor from a CAMEO code.
    pub fn actor_from_code(&self, code: &str, name: &str, t: &Tokens, s: usize, e: usize) -> Actor {
        let (country, role) =
            if code.len() >= 3 && code.is_char_boundary(3) && self.iso.contains_key(&code[..3]) {
                let r = &code[3..];
                (
                    Some(code[..3].to_string()),
                    if r.is_empty() {
                        None
                    } else {
                        Some(r.chars().take(3).collect())
                    },
                )
            } else if code.starts_with("IGO") || code.starts_with("NGO") {
                (None, Some(code[..3].to_string()))
            } else {
                (None, Some(code.to_string()))
            };
        let start = t.toks.get(s).map_or(0, |x| x.start as usize);
        let end = t
            .toks
            .get(e.saturating_sub(1))
            .map_or(start, |x| x.end as usize);
        Actor {
            code: code.to_string(),
            name: name.to_string(),
            country,
            role,
            start,
            end,
        }
    }

    fn person_actor(
        &self,
        p: u16,
        date: NaiveDate,
        t: &Tokens,
        s: usize,
        e: usize,
    ) -> Option<Actor> {
        let person = self.persons.get(p as usize)?;
        Some(self.actor_from_code(&person.code_at(date), &person.name, t, s, e))
    }

    /// Re-code a person actor for the event date (roles are time-bounded).
    pub fn recode_person(&self, a: &mut Actor, person_id: u16, date: NaiveDate) {
        let Some(person) = self.persons.get(person_id as usize) else {
            return;
        };
        let code = person.code_at(date);
        if code == a.code {
            return;
        }
        let (start, end) = (a.start, a.end);
        let mut fresh = self.actor_from_code(&code, &person.name, &Tokens::default(), 0, 0);
        fresh.start = start;
        fresh.end = end;
        *a = fresh;
    }

    /// Combine dictionary candidates into actors: `<demonym|country|org> <role> <person>`,
    /// `<role> of <country>[, <country> and <country>]`, surnames, bare roles.
    pub fn resolve(
        &self,
        t: &Tokens,
        cands: &[(usize, usize, Entry)],
        date: NaiveDate,
        doc_persons: &HashSet<u16>,
    ) -> Vec<ActorSpan> {
        let mut out: Vec<ActorSpan> = Vec::new();
        let person_of = |c: &(usize, usize, Entry)| -> Option<u16> {
            match c.2 {
                Entry::Person(p) => Some(p),
                Entry::Surname(g) => self.resolve_surname(g, doc_persons),
                _ => None,
            }
        };
        let mut i = 0;
        while i < cands.len() {
            let c = cands[i];
            let next = cands.get(i + 1).copied();
            let next2 = cands.get(i + 2).copied();
            match c.2 {
                Entry::Country(ci, _) | Entry::Demonym(ci, _) | Entry::Org(ci) => {
                    let is_org = matches!(c.2, Entry::Org(_));
                    let mut end = c.1;
                    let mut used = 1;
                    let mut role: Option<u16> = None;
                    if let Some(n) = next
                        && let Entry::Role(r) = n.2
                        && adjacent(t, end, n.0, true)
                    {
                        role = Some(r);
                        end = n.1;
                        used = 2;
                    }
                    let pc = if used == 2 { next2 } else { next };
                    if let Some(pc) = pc
                        && adjacent(t, end, pc.0, false)
                        && let Some(p) = person_of(&pc)
                        && let Some(a) = self.person_actor(p, date, t, c.0, pc.1)
                    {
                        out.push(self.span(a, t, c.0, pc.1, false, true, false));
                        if let Some(last) = out.last_mut() {
                            last.person_id = Some(p);
                        }
                        i += used + 1;
                        continue;
                    }
                    if is_org {
                        // Code "-": a name that contains a country but is no actor
                        // ("South China Sea", "Latin American").
                        if let Some(o) = self.orgs.get(ci as usize).filter(|o| o.code != "-") {
                            let a = self.actor_from_code(&o.code, &o.name, t, c.0, end);
                            let mut sp = self.span(a, t, c.0, end, false, false, false);
                            sp.locative = is_locative(t, c.0);
                            out.push(sp);
                        }
                    } else if let Some(country) = self.countries.get(ci as usize) {
                        if let Some(r) = role.and_then(|r| self.roles.get(r as usize)) {
                            let code = format!("{}{}", country.iso3, r.role);
                            // "Moldovan President Maia Sandu": an unknown name after a title
                            // belongs to the same actor.
                            let next_start = cands.get(i + used).map_or(usize::MAX, |n| n.0);
                            let mut end = end;
                            while end < next_start
                                && t.toks.get(end).is_some_and(|x| x.upper)
                                && t.punct_before(end) == 0
                            {
                                end += 1;
                            }
                            // "Russian and Ukrainian delegations": earlier demonyms joined by
                            // "and"/commas take the same role.
                            let mut k = out.len();
                            while k > 0 {
                                let prev = &out[k - 1];
                                let between: Vec<&str> = (prev.e..c.0).map(|x| t.word(x)).collect();
                                let joined = between == ["and"]
                                    || (between.is_empty() && t.punct_before(c.0) & P_COMMA != 0);
                                if prev.weak && joined {
                                    k -= 1;
                                } else {
                                    break;
                                }
                            }
                            for prev in out.iter_mut().skip(k) {
                                if let Some(pc) = prev.actor.country.clone() {
                                    prev.actor.code = format!("{pc}{}", r.role);
                                    prev.actor.role = Some(r.role.clone());
                                    prev.weak = false;
                                }
                            }
                            let a = self.actor_from_code(&code, &country.name, t, c.0, end);
                            out.push(self.span(a, t, c.0, end, false, false, false));
                        } else {
                            let (weak, via_city) = match c.2 {
                                Entry::Demonym(_, plural) => (!plural, false),
                                Entry::Country(_, capital) => (false, capital),
                                _ => (false, false),
                            };
                            let next_word = t.word(end);
                            // "Iranian-backed militias", "Russian-made sedan": a modifier.
                            let compound = t.punct_before(end) & P_HYPHEN != 0
                                && matches!(
                                    next_word,
                                    "backed"
                                        | "made"
                                        | "built"
                                        | "born"
                                        | "led"
                                        | "linked"
                                        | "allied"
                                        | "supported"
                                        | "sponsored"
                                        | "funded"
                                        | "based"
                                        | "controlled"
                                        | "occupied"
                                        | "annexed"
                                        | "held"
                                        | "owned"
                                );
                            // "Washington Declaration", "Korea Program": a country or city
                            // inside an unknown proper name.
                            let next_cand = cands.get(i + used).map_or(usize::MAX, |n| n.0);
                            let in_name = matches!(c.2, Entry::Country(..))
                                && end < next_cand
                                && t.punct_before(end) == 0
                                && t.toks.get(end).is_some_and(|x| x.upper)
                                && !t
                                    .toks
                                    .iter()
                                    .filter(|x| x.upper)
                                    .count()
                                    .gt(&(t.len() * 6 / 10));
                            if !compound && !in_name {
                                let a =
                                    self.actor_from_code(&country.iso3, &country.name, t, c.0, end);
                                let mut sp = self.span(a, t, c.0, end, weak, false, via_city);
                                sp.locative = !weak && is_locative(t, c.0);
                                out.push(sp);
                            }
                        }
                    }
                    i += used;
                }
                Entry::Role(r) => {
                    let Some(rd) = self.roles.get(r as usize) else {
                        i += 1;
                        continue;
                    };
                    // "<title> <person>"
                    if let Some(n) = next
                        && adjacent(t, c.1, n.0, false)
                        && let Some(p) = person_of(&n)
                        && let Some(a) = self.person_actor(p, date, t, c.0, n.1)
                    {
                        out.push(self.span(a, t, c.0, n.1, false, true, false));
                        if let Some(last) = out.last_mut() {
                            last.person_id = Some(p);
                        }
                        i += 2;
                        continue;
                    }
                    // "<role> of [the] <country>[, <country>] [and <country>]"
                    if t.word(c.1) == "of" {
                        let gap = if t.word(c.1 + 1) == "the" { 2 } else { 1 };
                        let mut j = i + 1;
                        let mut expect = c.1 + gap;
                        let mut added = 0;
                        while let Some(n) = cands.get(j) {
                            let Entry::Country(ci, _) = n.2 else { break };
                            if n.0 != expect {
                                break;
                            }
                            let Some(country) = self.countries.get(ci as usize) else {
                                break;
                            };
                            let code = format!("{}{}", country.iso3, rd.role);
                            let s0 = if added == 0 { c.0 } else { n.0 };
                            let a = self.actor_from_code(&code, &country.name, t, s0, n.1);
                            out.push(self.span(a, t, s0, n.1, false, false, false));
                            added += 1;
                            j += 1;
                            expect = n.1;
                            if t.word(expect) == "and" {
                                expect += 1;
                            } else if t.punct_before(expect) & P_COMMA != 0 {
                                if t.word(expect) == "and" {
                                    expect += 1;
                                }
                            } else {
                                break;
                            }
                        }
                        if added > 0 {
                            i = j;
                            continue;
                        }
                    }
                    if let Some(dc) = rd
                        .default_country
                        .and_then(|d| self.countries.get(d as usize))
                    {
                        let code = format!("{}{}", dc.iso3, rd.role);
                        let a = self.actor_from_code(&code, &dc.name, t, c.0, c.1);
                        out.push(self.span(a, t, c.0, c.1, false, false, false));
                    } else if rd.standalone {
                        let a = self.actor_from_code(&rd.role, &rd.role, t, c.0, c.1);
                        out.push(self.span(a, t, c.0, c.1, false, false, false));
                    }
                    i += 1;
                }
                Entry::Person(_) | Entry::Surname(_) => {
                    if let Some(p) = person_of(&c)
                        && let Some(a) = self.person_actor(p, date, t, c.0, c.1)
                    {
                        out.push(self.span(a, t, c.0, c.1, false, true, false));
                        if let Some(last) = out.last_mut() {
                            last.person_id = Some(p);
                        }
                    }
                    i += 1;
                }
            }
        }
        assign_groups(t, &mut out);
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn span(
        &self,
        actor: Actor,
        t: &Tokens,
        s: usize,
        e: usize,
        weak: bool,
        person: bool,
        via_city: bool,
    ) -> ActorSpan {
        // Only countries, cities and institutions can be places; set by the caller.
        let _ = (weak, t, s);
        let locative = false;
        ActorSpan {
            actor,
            s,
            e,
            weak,
            locative,
            person,
            via_city,
            group: 0,
            person_id: None,
        }
    }
}

/// Token `b` directly follows the span ending at `a` (optionally across a possessive "s").
fn adjacent(t: &Tokens, a: usize, b: usize, allow_possessive: bool) -> bool {
    if b == a {
        return t.punct_before(b) & (P_COMMA | P_STOP | P_QUOTE | P_DASH | P_PAREN) == 0;
    }
    allow_possessive && b == a + 1 && t.word(a) == "s"
}

const LOCATIVE: &[&str] = &[
    "in",
    "at",
    "near",
    "inside",
    "outside",
    "across",
    "throughout",
    "within",
];

fn is_locative(t: &Tokens, s: usize) -> bool {
    if s == 0 {
        return false;
    }
    let w = t.word(s - 1);
    if LOCATIVE.contains(&w) {
        return true;
    }
    s >= 2 && w == "the" && LOCATIVE.contains(&t.word(s - 2))
}

/// Actors separated only by "and", "or", commas or "as well as" form one group.
fn assign_groups(t: &Tokens, spans: &mut [ActorSpan]) {
    let mut g = 0usize;
    let mut prev: Option<usize> = None; // index of previous strong span
    // A comma joins actors only in a list closed by "and"/"or" ("A, B and C").
    let closes: Vec<bool> = (0..spans.len())
        .map(|i| {
            let mut j = i;
            while let Some(n) = spans.get(j + 1) {
                let words: Vec<&str> = (spans[j].e..n.s).map(|k| t.word(k)).collect();
                match words.as_slice() {
                    ["and"] | ["or"] | ["and", "the"] => return true,
                    [] if t.punct_before(n.s) & P_COMMA != 0 => j += 1,
                    ["the"] if t.punct_before(spans[j].e) & P_COMMA != 0 => j += 1,
                    _ => return false,
                }
            }
            false
        })
        .collect();
    for i in 0..spans.len() {
        if spans[i].weak || spans[i].locative {
            spans[i].group = usize::MAX - i;
            continue;
        }
        let joined = prev.is_some_and(|p| {
            let a = spans[p].e;
            let b = spans[i].s;
            let words: Vec<&str> = (a..b).map(|k| t.word(k)).collect();
            let strong_punct =
                (a + 1..=b).any(|k| t.punct_before(k) & (P_STOP | P_DASH | P_PAREN) != 0);
            !strong_punct
                && match words.as_slice() {
                    [] => t.punct_before(b) & P_COMMA != 0 && closes[i],
                    ["and"] | ["or"] | ["and", "the"] => true,
                    ["the"] => t.punct_before(a) & P_COMMA != 0 && closes[i],
                    ["as", "well", "as"] => true,
                    _ => false,
                }
        });
        if !joined {
            g += 1;
        }
        spans[i].group = g;
        prev = Some(i);
    }
}
