//! The end-of-run analysis as a request and a result that can cross to a Web Worker:
//! the linearizability verdict and the anomalies of a run, from its history, the serving
//! spans and the nodes' views.
//!
//! The page does not link the checker: it sends an [`Request`] (JSON) to its analysis
//! worker (`crates/worker`, binary `analysis_worker`), which runs [`analyse`] off the
//! page's thread and answers with a [`Outcome`]. That keeps the checker, its explainer
//! and the anomaly classifier out of the page's bundle (they cost it about 30 kB
//! gzipped), and a long check no longer freezes the page. Natively (the CLI, the tests)
//! nothing crosses: [`analyse`] is a plain function.

use crate::anomaly::{Anomalies, EndState, Serving};
use crate::history::History;
use crate::run::{Check, Engine};
use quorumlab_core::{NodeView, Time};
use serde::{Deserialize, Serialize};

/// Everything the analysis needs of a run, at one moment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Simulated time of the run's state (the answer names it back).
    pub at: Time,
    /// The scenario's `checks.linearizable`.
    pub linearizable: bool,
    /// Wall-clock budget of the linearizability check, in ms.
    pub budget_ms: f64,
    pub history: History,
    pub views: Vec<Option<NodeView>>,
    pub serving: Serving,
    /// Whether the run healed and settled (see [`EndState::settled`]).
    pub settled: bool,
}

/// The analysis of a run at `at`.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub at: Time,
    pub verdict: Check,
    pub anomalies: Anomalies,
}

/// [`Outcome`] as it crosses: the verdict flat (reading `Check`'s internally tagged form
/// back would cost the page serde's buffering reader).
#[derive(Serialize, Deserialize)]
struct Flat {
    at: Time,
    /// `passed`, `failed`, `skipped`, `unknown`.
    verdict: String,
    /// The failure's detail, or why it was skipped or left unknown.
    #[serde(default)]
    text: String,
    #[serde(default)]
    explanation: Option<Box<crate::check::Explanation>>,
    anomalies: Anomalies,
}

impl Outcome {
    /// As JSON, for the page.
    pub fn to_json(&self) -> String {
        let (verdict, text, explanation) = match &self.verdict {
            Check::Passed => ("passed", String::new(), None),
            Check::Failed {
                detail,
                explanation,
            } => ("failed", detail.clone(), explanation.clone()),
            Check::Skipped { why } => ("skipped", why.clone(), None),
            Check::Unknown { why } => ("unknown", why.clone(), None),
        };
        serde_json::to_string(&Flat {
            at: self.at,
            verdict: verdict.into(),
            text,
            explanation,
            anomalies: self.anomalies.clone(),
        })
        .unwrap_or_default()
    }

    /// Read [`Outcome::to_json`]'s text back.
    pub fn from_json(s: &str) -> Result<Outcome, String> {
        let f: Flat = serde_json::from_str(s).map_err(|e| e.to_string())?;
        let verdict = match f.verdict.as_str() {
            "passed" => Check::Passed,
            "failed" => Check::Failed {
                detail: f.text,
                explanation: f.explanation,
            },
            "skipped" => Check::Skipped { why: f.text },
            "unknown" => Check::Unknown { why: f.text },
            other => return Err(format!("unknown verdict `{other}`")),
        };
        Ok(Outcome {
            at: f.at,
            verdict,
            anomalies: f.anomalies,
        })
    }
}

impl Request {
    /// The request for `e` as it is now.
    pub fn of(e: &dyn Engine, budget_ms: f64) -> Request {
        Request {
            at: e.now(),
            linearizable: e.scenario().checks.linearizable,
            budget_ms,
            history: e.history().clone(),
            views: e.views(),
            serving: e.serving().clone(),
            settled: e.convergence().is_some(),
        }
    }
}

/// Run the analysis; `out_of_time` is polled by the checker (see
/// [`crate::run::check_history`]).
pub fn analyse(r: &Request, out_of_time: &mut dyn FnMut() -> bool) -> Outcome {
    Outcome {
        at: r.at,
        verdict: crate::run::check_history_of(&r.history, r.linearizable, out_of_time),
        anomalies: crate::anomaly::analyse(
            &r.history,
            &r.serving,
            &EndState {
                views: &r.views,
                settled: r.settled,
                end: r.at,
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_crosses_as_json_unchanged() {
        let mut s = crate::scenario::parse(include_str!("../../../scenarios/pb-split-brain.json"))
            .expect("preset");
        s.duration_ms = 4000;
        let mut e = crate::registry::build(&s, 1, 0).expect("builds");
        e.run_to_end();
        let r: Request =
            serde_json::from_str(&serde_json::to_string(&Request::of(&*e, 1e9)).unwrap()).unwrap();
        let o = analyse(&r, &mut || false);
        assert!(o.verdict.failed(), "{:?}", o.verdict);
        assert!(o.anomalies.split_brains >= 1, "{:?}", o.anomalies.line());
        // The same as analysing the run in place.
        let here = crate::run::anomalies(&*e);
        assert_eq!(o.anomalies.line(), here.line());
        assert!(o.anomalies == here, "the same list and notes");
        assert!(
            Outcome::from_json(&o.to_json()) == Ok(o),
            "crosses unchanged"
        );
        assert!(Outcome::from_json("{}").is_err());
    }
}
