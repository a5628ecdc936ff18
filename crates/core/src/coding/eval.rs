//! Evaluation against a labelled sentence set: precision/recall per CAMEO root code,
//! exact-code accuracy and actor precision/recall.
//!
//! A predicted mention is correct when its source code, target code (or both absent),
//! root code and date equal an expected event of the same case (each expected event is
//! matched at most once). Duplicate predictions of the same (source, target, code, date)
//! within a case count once, as the event store would merge them. When both the expected
//! and the predicted code are symmetric ([`Pairing::Symmetric`]: meet, sign, …) source and
//! target may be swapped: the coder puts them in canonical order, annotators as written, and
//! one such event is annotated once per unordered pair.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{Coder, Document, Pairing};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Expected {
    pub source: String,
    #[serde(default)]
    pub target: Option<String>,
    pub cameo: String,
    pub date: NaiveDate,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct EvalCase {
    pub id: String,
    pub text: String,
    /// Publication date.
    pub date: NaiveDate,
    #[serde(default)]
    pub expected: Vec<Expected>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Counts {
    pub tp: usize,
    pub predicted: usize,
    pub expected: usize,
}

impl Counts {
    pub fn precision(&self) -> f64 {
        if self.predicted == 0 {
            0.0
        } else {
            self.tp as f64 / self.predicted as f64
        }
    }
    pub fn recall(&self) -> f64 {
        if self.expected == 0 {
            0.0
        } else {
            self.tp as f64 / self.expected as f64
        }
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

/// A disagreement, for error analysis.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Miss {
    pub id: String,
    pub kind: &'static str,
    pub event: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EvalReport {
    pub cases: usize,
    pub micro: Counts,
    pub per_root: BTreeMap<u8, Counts>,
    /// Among correct mentions, how many have the exact CAMEO code.
    pub exact_code_correct: usize,
    /// Actor codes (sources and targets) per case, as multisets.
    pub actors: Counts,
    /// No-event sentences where the coder emitted nothing.
    pub empty_cases: usize,
    pub empty_cases_clean: usize,
    pub misses: Vec<Miss>,
}

fn root_of(code: &str) -> u8 {
    code.get(..2).and_then(|r| r.parse().ok()).unwrap_or(0)
}

fn fmt_event(s: &str, t: Option<&str>, c: &str, d: NaiveDate) -> String {
    format!("{s} -> {} {c} {d}", t.unwrap_or("-"))
}

/// Code every case and compare with its expected events.
pub fn evaluate(coder: &Coder, cases: &[EvalCase]) -> EvalReport {
    let mut r = EvalReport {
        cases: cases.len(),
        ..EvalReport::default()
    };
    for case in cases {
        let doc = Document {
            title: None,
            text: &case.text,
            published: case.date,
        };
        let mut pred: Vec<(String, Option<String>, String, NaiveDate)> = Vec::new();
        for m in coder.code(&doc) {
            let k = (m.source.code, m.target.map(|t| t.code), m.cameo, m.date);
            if !pred.contains(&k) {
                pred.push(k);
            }
        }
        if case.expected.is_empty() {
            r.empty_cases += 1;
            if pred.is_empty() {
                r.empty_cases_clean += 1;
            }
        }
        let mut used = vec![false; pred.len()];
        for e in &case.expected {
            let root = root_of(&e.cameo);
            r.micro.expected += 1;
            r.per_root.entry(root).or_default().expected += 1;
            let symmetric = coder.pairing(&e.cameo) == Pairing::Symmetric;
            let hit = pred.iter().enumerate().position(|(i, p)| {
                let same_pair = (p.0 == e.source && p.1 == e.target)
                    || (symmetric
                        && coder.pairing(&p.2) == Pairing::Symmetric
                        && p.1.as_deref() == Some(e.source.as_str())
                        && e.target.as_deref() == Some(p.0.as_str()));
                !used[i] && same_pair && root_of(&p.2) == root && p.3 == e.date
            });
            match hit {
                Some(i) => {
                    used[i] = true;
                    r.micro.tp += 1;
                    r.per_root.entry(root).or_default().tp += 1;
                    if pred[i].2 == e.cameo {
                        r.exact_code_correct += 1;
                    }
                }
                None => r.misses.push(Miss {
                    id: case.id.clone(),
                    kind: "missed",
                    event: fmt_event(&e.source, e.target.as_deref(), &e.cameo, e.date),
                }),
            }
        }
        for (i, p) in pred.iter().enumerate() {
            let root = root_of(&p.2);
            r.micro.predicted += 1;
            r.per_root.entry(root).or_default().predicted += 1;
            if !used[i] {
                r.misses.push(Miss {
                    id: case.id.clone(),
                    kind: "spurious",
                    event: fmt_event(&p.0, p.1.as_deref(), &p.2, p.3),
                });
            }
        }
        // Actors as multisets of codes.
        let mut exp_actors: Vec<&str> = Vec::new();
        for e in &case.expected {
            exp_actors.push(&e.source);
            if let Some(t) = &e.target {
                exp_actors.push(t);
            }
        }
        let mut pred_actors: Vec<&str> = Vec::new();
        for p in &pred {
            pred_actors.push(&p.0);
            if let Some(t) = &p.1 {
                pred_actors.push(t);
            }
        }
        r.actors.expected += exp_actors.len();
        r.actors.predicted += pred_actors.len();
        for a in pred_actors {
            if let Some(i) = exp_actors.iter().position(|x| *x == a) {
                exp_actors.swap_remove(i);
                r.actors.tp += 1;
            }
        }
    }
    r
}

/// Parse JSONL cases (blank lines and lines starting with `//` skipped).
pub fn parse_cases(jsonl: &str) -> Result<Vec<EvalCase>, String> {
    jsonl
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

impl EvalReport {
    /// A plain-text table.
    pub fn table(&self) -> String {
        let mut s = String::new();
        s.push_str("root  expected predicted   tp  precision recall   f1\n");
        for (root, c) in &self.per_root {
            s.push_str(&format!(
                "{root:>4} {:>9} {:>9} {:>4}  {:>9.3} {:>6.3} {:>6.3}\n",
                c.expected,
                c.predicted,
                c.tp,
                c.precision(),
                c.recall(),
                c.f1()
            ));
        }
        let m = &self.micro;
        s.push_str(&format!(
            "micro {:>8} {:>9} {:>4}  {:>9.3} {:>6.3} {:>6.3}\n",
            m.expected,
            m.predicted,
            m.tp,
            m.precision(),
            m.recall(),
            m.f1()
        ));
        let exact = if m.tp == 0 {
            0.0
        } else {
            self.exact_code_correct as f64 / m.tp as f64
        };
        s.push_str(&format!(
            "exact CAMEO code among correct: {}/{} = {exact:.3}\n",
            self.exact_code_correct, m.tp
        ));
        s.push_str(&format!(
            "actors: precision {:.3} recall {:.3} (tp {}, predicted {}, expected {})\n",
            self.actors.precision(),
            self.actors.recall(),
            self.actors.tp,
            self.actors.predicted,
            self.actors.expected
        ));
        s.push_str(&format!(
            "no-event sentences with no output: {}/{}\ncases: {}\n",
            self.empty_cases_clean, self.empty_cases, self.cases
        ));
        s
    }
}
