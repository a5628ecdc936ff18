//! Verb / pattern dictionary: phrasal patterns with inflection, gaps and alternatives,
//! mapped to CAMEO codes with root, quad class, Goldstein score and PLOVER type.
//!
//! Pattern syntax (data/verbs/verbs.tsv, one per row: `cameo <TAB> pattern [<TAB> target]`):
//! * the first word is a verb lemma and is inflected (sign → signs/signed/signing) unless
//!   the pattern starts with `=` (a nominal pattern such as `=invasion of`);
//! * `a|b` is a choice of words at one position; `...` is a gap of up to 5 words;
//! * target `none` means the pattern never takes a target (statements), `req` that it is an
//!   event only with a target, `directed` that a pattern of a symmetric code is told one way
//!   round ("ratify", "train troops"); flags combine with `|`, default: nearest actor after.
//!
//! data/verbs/cameo.tsv gives each code its [`Pairing`] (column 6): how two participants
//! named together, or one acting "with" the other, become events.

use std::collections::HashMap;

use super::CodingError;
use super::dict::{Case, Hit, PhraseIndex, field, list, tsv_rows};
use super::text::{P_STOP, Tokens, normalize_phrase};

pub const F_BASE: u8 = 1;
pub const F_S: u8 = 2;
pub const F_PAST: u8 = 4;
pub const F_PP: u8 = 8;
pub const F_ING: u8 = 16;
/// Literal (nominal) head, no inflection.
pub const F_NOUN: u8 = 32;

const MAX_GAP: usize = 5;

type Alts = Vec<Vec<String>>;

fn alts(word: &str) -> Alts {
    let mut v: Alts = word
        .split('|')
        .map(|a| {
            normalize_phrase(&a.replace('_', " "))
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect::<Vec<String>>()
        })
        .filter(|a: &Vec<String>| !a.is_empty())
        .collect();
    v.sort_by_key(|a| std::cmp::Reverse(a.len()));
    v
}

/// How the participants of a code pair up (cameo.tsv column 6: empty, `mutual`, `symmetric`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pairing {
    /// Source acts on target: "France and Germany criticized Israel" is two events, each
    /// member on the target; a compound subject with no target has no target.
    Directed,
    /// Directed, but "A and B <verb>" with no other target means each acted on the other:
    /// both directed pairs ("Ukraine and Russia exchanged prisoners", "clashed").
    Mutual,
    /// One act shared by both sides: one event per unordered pair, source and target in
    /// canonical order, however the report puts them ("A and B signed", "B signed with A").
    Symmetric,
}

#[derive(Debug, Clone)]
pub struct CameoInfo {
    pub code: String,
    pub name: String,
    pub root: u8,
    pub quad: u8,
    pub goldstein: f32,
    pub plover: String,
    pub pairing: Pairing,
}

#[derive(Debug, Clone)]
struct Pattern {
    cameo: u16,
    /// Segments after the head, separated by gaps; each position lists its alternatives,
    /// each alternative a word sequence ("military_aid" in the data = `military aid`).
    tail: Vec<Vec<Alts>>,
    noun: bool,
    no_target: bool,
    /// Only an event when a target is found ("hosted X").
    needs_target: bool,
    /// Told one way round although its code is symmetric ("ratified", "trained troops").
    directed: bool,
}

/// A pattern found in a sentence.
#[derive(Debug, Clone, Copy)]
pub struct VerbHit {
    /// Token range of the whole pattern.
    pub s: usize,
    pub e: usize,
    /// Token range of the head phrase (verb and its literal continuation).
    pub head_e: usize,
    pub cameo: u16,
    pub form: u8,
    pub passive: bool,
    pub noun: bool,
    pub no_target: bool,
    pub needs_target: bool,
    /// The pattern is directed even if its code is symmetric (see [`Pairing`]).
    pub directed: bool,
    /// Not an asserted act by form: infinitive ("to sign"), gerund after "of"/"about"/…
    pub nonfactual: bool,
    /// Literal words matched (pattern length without gaps): more specific patterns win.
    specificity: usize,
    gaps: usize,
}

pub struct VerbDict {
    pub cameo: Vec<CameoInfo>,
    pub cameo_by_code: HashMap<String, u16>,
    patterns: Vec<Pattern>,
    pub(crate) index: PhraseIndex<(u32, u8)>,
}

const BE: &[&str] = &[
    "is", "are", "was", "were", "be", "been", "being", "got", "get", "gets",
];
const DETERMINERS: &[&str] = &[
    "the", "a", "an", "his", "her", "its", "their", "our", "my", "your", "this", "these", "those",
    "s", "new", "first", "last", "latest", "recent", "such", "any", "no", "all",
];
const GERUND_PREPS: &[&str] = &["of", "about", "for", "against", "from", "without", "before"];
/// A base or -s form right after one of these is a noun ("under sanctions", "for aid").
const NOUN_PREPS: &[&str] = &[
    "of", "under", "on", "with", "for", "about", "against", "from", "by", "in", "into", "over",
    "amid", "after", "despite", "without", "and", "or", "new", "more", "fresh", "further",
    "economic", "military",
];
/// Words that license an -ing form as a verb ("is signing", "after signing").
const ING_LICENSE: &[&str] = &[
    "is", "are", "was", "were", "be", "been", "after", "before", "while", "by", "since", "when",
    "s", "re",
];

/// Inflected forms of a verb lemma with their `F_*` tags.
pub fn inflect(lemma: &str, irregular: &HashMap<String, (String, String)>) -> Vec<(String, u8)> {
    let mut forms: Vec<(String, u8)> = Vec::new();
    let mut add = |f: String, tag: u8| {
        if let Some(x) = forms.iter_mut().find(|(g, _)| *g == f) {
            x.1 |= tag;
        } else {
            forms.push((f, tag));
        }
    };
    add(lemma.to_string(), F_BASE);
    let chars: Vec<char> = lemma.chars().collect();
    let n = chars.len();
    let is_vowel = |c: char| matches!(c, 'a' | 'e' | 'i' | 'o' | 'u');
    let last = chars.last().copied().unwrap_or(' ');
    let prev = if n >= 2 { chars[n - 2] } else { ' ' };
    let s3 = if lemma.ends_with('s')
        || lemma.ends_with('x')
        || lemma.ends_with('z')
        || lemma.ends_with("ch")
        || lemma.ends_with("sh")
        || lemma.ends_with('o')
    {
        format!("{lemma}es")
    } else if last == 'y' && !is_vowel(prev) {
        format!("{}ies", lemma.strip_suffix('y').unwrap_or(lemma))
    } else {
        format!("{lemma}s")
    };
    add(s3, F_S);
    let vowel_groups = {
        let mut g = 0;
        let mut inv = false;
        for c in &chars {
            let v = is_vowel(*c);
            if v && !inv {
                g += 1;
            }
            inv = v;
        }
        g
    };
    let double = n >= 3
        && vowel_groups == 1
        && !is_vowel(last)
        && !matches!(last, 'w' | 'x' | 'y')
        && is_vowel(prev)
        && !is_vowel(chars[n - 3]);
    let doubled_in_table = irregular
        .get(lemma)
        .is_some_and(|(past, _)| *past == format!("{lemma}{last}ed"));
    let stem_d = if double || doubled_in_table {
        format!("{lemma}{last}")
    } else {
        lemma.to_string()
    };
    let ing = if let Some(stem) = lemma.strip_suffix("ie") {
        format!("{stem}ying")
    } else if last == 'e'
        && !lemma.ends_with("ee")
        && !lemma.ends_with("ye")
        && !lemma.ends_with("oe")
    {
        format!("{}ing", lemma.strip_suffix('e').unwrap_or(lemma))
    } else {
        format!("{stem_d}ing")
    };
    add(ing, F_ING);
    if let Some((past, pp)) = irregular.get(lemma) {
        for p in past.split('|') {
            add(p.to_string(), F_PAST);
        }
        for p in pp.split('|') {
            add(p.to_string(), F_PP);
        }
    } else {
        let ed = if last == 'e' {
            format!("{lemma}d")
        } else if last == 'y' && !is_vowel(prev) {
            format!("{}ied", lemma.strip_suffix('y').unwrap_or(lemma))
        } else {
            format!("{stem_d}ed")
        };
        add(ed, F_PAST | F_PP);
    }
    forms
}

pub struct VerbSources<'a> {
    pub cameo: &'a str,
    pub verbs: &'a str,
    pub irregular: &'a str,
}

impl VerbDict {
    pub fn load(src: &VerbSources<'_>) -> Result<Self, CodingError> {
        let mut cameo = Vec::new();
        let mut cameo_by_code = HashMap::new();
        for (ln, row) in tsv_rows(src.cameo) {
            let code = field(&row, 0);
            let bad = || CodingError::Dictionary(format!("cameo.tsv:{ln}: bad row"));
            let root: u8 = code.get(..2).and_then(|r| r.parse().ok()).ok_or_else(bad)?;
            let quad: u8 = field(&row, 2).parse().map_err(|_| bad())?;
            let goldstein: f32 = field(&row, 3).parse().map_err(|_| bad())?;
            let plover = field(&row, 4);
            if !(1..=20).contains(&root) || !(1..=4).contains(&quad) || plover.is_empty() {
                return Err(bad());
            }
            let pairing = match field(&row, 5) {
                "" | "-" => Pairing::Directed,
                "mutual" => Pairing::Mutual,
                "symmetric" => Pairing::Symmetric,
                other => {
                    return Err(CodingError::Dictionary(format!(
                        "cameo.tsv:{ln}: unknown pairing {other:?} (mutual, symmetric or empty)"
                    )));
                }
            };
            cameo_by_code.insert(code.to_string(), cameo.len() as u16);
            cameo.push(CameoInfo {
                code: code.to_string(),
                name: field(&row, 1).to_string(),
                root,
                quad,
                goldstein,
                plover: plover.to_string(),
                pairing,
            });
        }
        let mut irregular = HashMap::new();
        for (_, row) in tsv_rows(src.irregular) {
            irregular.insert(
                field(&row, 0).to_string(),
                (field(&row, 1).to_string(), field(&row, 2).to_string()),
            );
        }
        let mut patterns = Vec::new();
        let mut items: Vec<(String, (u32, u8), Case)> = Vec::new();
        for (ln, row) in tsv_rows(src.verbs) {
            let code = field(&row, 0);
            let pat = field(&row, 1);
            let Some(&ci) = cameo_by_code.get(code) else {
                return Err(CodingError::Dictionary(format!(
                    "verbs.tsv:{ln}: unknown CAMEO code {code}"
                )));
            };
            let (noun, pat) = match pat.strip_prefix('=') {
                Some(p) => (true, p),
                None => (false, pat),
            };
            let words: Vec<&str> = pat.split_whitespace().collect();
            let Some(first) = words.first() else {
                return Err(CodingError::Dictionary(format!(
                    "verbs.tsv:{ln}: empty pattern"
                )));
            };
            let head_len = words
                .iter()
                .position(|w| *w == "...")
                .unwrap_or(words.len());
            let mut tail: Vec<Vec<Alts>> = Vec::new();
            for seg in words[head_len..].split(|w| *w == "...") {
                if !seg.is_empty() {
                    tail.push(seg.iter().map(|w| alts(w)).collect());
                }
            }
            let (mut no_target, mut needs_target, mut directed) = (false, false, false);
            for flag in list(field(&row, 2)) {
                match flag {
                    "none" => no_target = true,
                    "req" => needs_target = true,
                    "directed" => directed = true,
                    "obj" => {}
                    other => {
                        return Err(CodingError::Dictionary(format!(
                            "verbs.tsv:{ln}: unknown target flag {other:?} (none, req, directed)"
                        )));
                    }
                }
            }
            let pid = patterns.len() as u32;
            patterns.push(Pattern {
                cameo: ci,
                tail,
                noun,
                no_target,
                needs_target,
                directed,
            });
            // Head phrases: inflected first word x alternatives of the literal continuation.
            let firsts: Vec<(String, u8)> = if noun {
                first
                    .split('|')
                    .map(|w| (w.to_lowercase(), F_NOUN))
                    .collect()
            } else {
                first
                    .split('|')
                    .flat_map(|w| inflect(&w.to_lowercase(), &irregular))
                    .collect()
            };
            let mut heads: Vec<(String, u8)> = firsts;
            for w in &words[1..head_len] {
                let mut nh = Vec::new();
                for (h, f) in &heads {
                    for alt in w.split('|') {
                        nh.push((format!("{h} {}", alt.replace('_', " ").to_lowercase()), *f));
                    }
                }
                heads = nh;
            }
            for (h, f) in heads {
                items.push((h, (pid, f), Case::Any));
            }
        }
        let index = PhraseIndex::build(items)?;
        Ok(VerbDict {
            cameo,
            cameo_by_code,
            patterns,
            index,
        })
    }

    pub fn info(&self, c: u16) -> Option<&CameoInfo> {
        self.cameo.get(c as usize)
    }

    /// All pattern matches of a sentence, non-overlapping, most specific first, in text order.
    pub fn find(&self, t: &Tokens, hits: &[Hit]) -> Vec<VerbHit> {
        let upper = t.toks.iter().filter(|x| x.upper).count();
        let title_case = t.len() >= 3 && upper * 10 >= t.len() * 6;
        let mut found: Vec<VerbHit> = Vec::new();
        for h in hits {
            for &(pid, form) in self.index.payloads(t, *h) {
                let Some(p) = self.patterns.get(pid as usize) else {
                    continue;
                };
                let before = if h.s > 0 { t.word(h.s - 1) } else { "" };
                if !p.noun && DETERMINERS.contains(&before) {
                    continue; // a noun use: "the attack", "their talks"
                }
                if !p.noun
                    && form & (F_PAST | F_PP) == 0
                    && form & (F_BASE | F_S) != 0
                    && NOUN_PREPS.contains(&before)
                {
                    continue; // "under sanctions", "for aid"
                }
                if !p.noun && form == F_ING {
                    let licensed = (h.s >= 1 && ING_LICENSE.contains(&t.word(h.s - 1)))
                        || (h.s >= 2 && ING_LICENSE.contains(&t.word(h.s - 2)));
                    if !licensed {
                        continue; // an adjective or reduced relative: "expanding ties"
                    }
                }
                // A capitalised verb inside a sentence is part of a name ("State Guesthouse").
                if h.s > 0 && !title_case && t.toks.get(h.s).is_some_and(|x| x.upper) {
                    let after_quote = t.punct_before(h.s) & super::text::P_QUOTE != 0;
                    if !after_quote {
                        continue;
                    }
                }
                let passive = !p.noun
                    && form & F_PP != 0
                    && ((h.s >= 1 && BE.contains(&t.word(h.s - 1)))
                        || (h.s >= 2
                            && BE.contains(&t.word(h.s - 2))
                            && !t.stop_between(h.s - 2, h.s)));
                let mut end = match_tail(t, h.e, &p.tail);
                if end.is_none() && passive && tail_before(t, h.s, &p.tail) {
                    end = Some((h.e, 0));
                }
                let Some((e, gaps)) = end else { continue };
                let infinitive = before == "to" && form & F_BASE != 0;
                let gerund = form & F_ING != 0 && GERUND_PREPS.contains(&before);
                found.push(VerbHit {
                    s: h.s,
                    e,
                    head_e: h.e,
                    cameo: p.cameo,
                    form,
                    passive,
                    noun: p.noun,
                    no_target: p.no_target,
                    needs_target: p.needs_target,
                    directed: p.directed,
                    nonfactual: infinitive || gerund,
                    specificity: e - h.s - gaps,
                    gaps,
                });
            }
        }
        found.sort_by(|a, b| {
            b.specificity
                .cmp(&a.specificity)
                .then(a.gaps.cmp(&b.gaps))
                .then(a.s.cmp(&b.s))
        });
        let mut taken: Vec<VerbHit> = Vec::new();
        for v in found {
            if taken.iter().all(|x| v.e <= x.s || v.s >= x.e) {
                taken.push(v);
            }
        }
        taken.sort_by_key(|v| v.s);
        taken
    }
}

/// Length of the alternative matching at token `i`, if any (longest first).
fn pos_match(t: &Tokens, i: usize, alts: &Alts) -> Option<usize> {
    alts.iter()
        .find(|a| a.iter().enumerate().all(|(k, w)| t.word(i + k) == w))
        .map(Vec::len)
}

fn seg_match(t: &Tokens, start: usize, seg: &[Alts]) -> Option<usize> {
    let mut cur = start;
    for p in seg {
        cur += pos_match(t, cur, p)?;
    }
    Some(cur)
}

/// Match the tail segments after token `from`; returns the end token and the number of
/// gap tokens skipped. The last position extends over repeated alternatives
/// ("artillery shells", "drones and missiles" stay one action).
fn match_tail(t: &Tokens, from: usize, tail: &[Vec<Alts>]) -> Option<(usize, usize)> {
    let mut cur = from;
    let mut gaps = 0;
    for seg in tail {
        let mut ok = None;
        for start in cur..=(cur + MAX_GAP).min(t.len()) {
            if start > cur && t.punct_before(start) & P_STOP != 0 {
                break;
            }
            if let Some(e) = seg_match(t, start, seg) {
                gaps += start - cur;
                ok = Some(e);
                break;
            }
        }
        cur = ok?;
    }
    if let Some(last) = tail.last().and_then(|seg| seg.last()) {
        while t.punct_before(cur) == 0
            && let Some(n) = pos_match(t, cur, last)
        {
            cur += n;
        }
    }
    Some((cur, gaps))
}

/// Passive voice: the tail words ("treaty") appear in the few words before the verb.
fn tail_before(t: &Tokens, head_s: usize, tail: &[Vec<Alts>]) -> bool {
    let lo = head_s.saturating_sub(8);
    tail.iter().all(|seg| {
        seg.first()
            .is_some_and(|alts| (lo..head_s).any(|i| pos_match(t, i, alts).is_some()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairing_and_target_flags_are_validated() {
        let load = |cameo: &str, verbs: &str| {
            VerbDict::load(&VerbSources {
                cameo,
                verbs,
                irregular: "",
            })
        };
        let dict = load(
            "057\tSign\t1\t8.0\tAGREE\tsymmetric\n084\tRelease\t2\t7.0\tCONCEDE\tmutual\n111\tCriticize\t3\t-2.0\tACCUSE\n",
            "057\tratify\tdirected\n057\tsign\n",
        )
        .expect("loads");
        let pairing: Vec<Pairing> = dict.cameo.iter().map(|c| c.pairing).collect();
        assert_eq!(
            pairing,
            [Pairing::Symmetric, Pairing::Mutual, Pairing::Directed]
        );
        assert!(load("057\tSign\t1\t8.0\tAGREE\tsometimes\n", "057\tsign\n").is_err());
        assert!(load("057\tSign\t1\t8.0\tAGREE\n", "057\tsign\tsideways\n").is_err());
    }

    #[test]
    fn inflections() {
        let irr: HashMap<String, (String, String)> =
            [("meet".to_string(), ("met".to_string(), "met".to_string()))]
                .into_iter()
                .collect();
        let forms = |l: &str| {
            inflect(l, &irr)
                .into_iter()
                .map(|f| f.0)
                .collect::<Vec<_>>()
        };
        assert_eq!(forms("sign"), vec!["sign", "signs", "signing", "signed"]);
        assert_eq!(forms("ship"), vec!["ship", "ships", "shipping", "shipped"]);
        assert_eq!(
            forms("accuse"),
            vec!["accuse", "accuses", "accusing", "accused"]
        );
        assert_eq!(forms("deny"), vec!["deny", "denies", "denying", "denied"]);
        assert_eq!(forms("meet"), vec!["meet", "meets", "meeting", "met"]);
        assert_eq!(
            forms("visit"),
            vec!["visit", "visits", "visiting", "visited"]
        );
        assert_eq!(
            forms("criticize"),
            vec!["criticize", "criticizes", "criticizing", "criticized"]
        );
    }
}
