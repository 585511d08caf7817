//! Challenges: exercises whose expectations a student must make pass by changing only
//! what the challenge allows (some parameters, the fault schedule, at most K faults).
//!
//! A challenge is a scenario with a `challenge` section. Its `expect` list is the goal;
//! `allow` names the parts of the scenario the student may change (`faults`, `nemesis`,
//! `nodes`, `seed`, `network`, `links`, `workload`, `protocol.params` or one parameter
//! `protocol.params.NAME`). Everything else is sealed by `frozen`, a hash of the scenario
//! with the allowed parts left out, set when the challenge is first opened: a share link
//! of an attempt carries the student's scenario, the seal and the attempts so far, so a
//! classmate sees the same attempt and the page can tell whether it keeps to the rules.
//! A challenge may be impossible on purpose ("make Raft lose a committed write with the
//! seeded bugs off"): after `impossible.after_attempts` attempts the page says so, and
//! why.

use crate::expect::{ExpectOutcome, ExpectStatus};
use crate::hash::StableHasher;
use crate::scenario::{Scenario, ScenarioError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The parts of a scenario a challenge may open to the student.
pub const OPENABLE: &[&str] = &[
    "faults",
    "nemesis",
    "nodes",
    "seed",
    "network",
    "links",
    "workload",
    "protocol.params",
];

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    /// The goal in the teacher's words.
    pub goal: String,
    /// What the student may change (see [`OPENABLE`]; `protocol.params.NAME` opens one
    /// parameter).
    pub allow: Vec<String>,
    /// At most this many timed faults in an attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_faults: Option<usize>,
    /// Restarts must keep the node's disk (a blank-disk restart, which no consensus
    /// protocol promises to survive, is refused: in the fault schedule and the nemesis).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_disks: bool,
    /// The challenge cannot be solved: say so after this many attempts, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impossible: Option<Impossible>,
    /// The seal of what may not change (set when the challenge is first opened).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frozen: Option<String>,
    /// Attempts run to the end so far.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempts: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Impossible {
    pub after_attempts: u32,
    pub why: String,
}

/// Where an attempt stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// It breaks the rules: what it changed or how many faults it used.
    NotAllowed(String),
    /// Still running, or some expectation is undecided.
    Running,
    Solved,
    /// Run to the end without meeting the goal; `impossible` says why once the attempts
    /// reach the challenge's count.
    NotYet {
        impossible: Option<String>,
    },
}

/// The problems of a challenge section, as scenario errors (paths under `challenge`).
pub fn problems(s: &Scenario, c: &Challenge) -> Vec<ScenarioError> {
    let mut out = Vec::new();
    if c.goal.trim().is_empty() {
        out.push(ScenarioError::new(
            "challenge.goal",
            "say what the student must achieve",
        ));
    }
    if c.allow.is_empty() {
        out.push(ScenarioError::new(
            "challenge.allow",
            format!("open at least one part: {}", OPENABLE.join(", ")),
        ));
    }
    let params: Vec<&str> = crate::registry::entries()
        .iter()
        .find(|e| e.name == s.protocol.name)
        .map(|e| e.params.iter().map(|p| p.name).collect())
        .unwrap_or_default();
    for (i, a) in c.allow.iter().enumerate() {
        let known = OPENABLE.contains(&a.as_str())
            || a.strip_prefix("protocol.params.")
                .is_some_and(|p| params.contains(&p));
        if !known {
            out.push(ScenarioError::new(
                format!("challenge.allow[{i}]"),
                format!(
                    "`{a}` is not a part a challenge can open: {} or protocol.params.NAME with NAME a parameter of {} ({})",
                    OPENABLE.join(", "),
                    s.protocol.name,
                    params.join(", ")
                ),
            ));
        }
    }
    if s.expect.is_empty() {
        out.push(ScenarioError::new(
            "expect",
            "a challenge's goal is its expectations: give at least one",
        ));
    }
    if let Some(i) = &c.impossible {
        if i.after_attempts == 0 {
            out.push(ScenarioError::new(
                "challenge.impossible.after_attempts",
                "give the student at least one attempt",
            ));
        }
    }
    out
}

/// The seal of `s`: a hash of everything but what its challenge allows to change (and
/// the challenge's own `frozen` and `attempts`).
pub fn seal(s: &Scenario) -> String {
    let Some(c) = &s.challenge else {
        return String::new();
    };
    // Through the scenario's own JSON text (`to_value` would cost the page a second
    // serializer for every scenario type).
    let mut v: Value = serde_json::from_str(&s.to_json()).unwrap_or(Value::Null);
    // Parameters left out and parameters given are one object either way.
    if let Some(p) = v.get_mut("protocol").and_then(Value::as_object_mut) {
        p.entry("params")
            .or_insert_with(|| Value::Object(Default::default()));
    }
    for a in &c.allow {
        remove_path(&mut v, a);
    }
    if let Some(ch) = v.get_mut("challenge").and_then(Value::as_object_mut) {
        ch.remove("frozen");
        ch.remove("attempts");
    }
    // serde_json's maps are sorted by key: the text is canonical.
    let text = v.to_string();
    format!("{:016x}", StableHasher::of(&text))
}

fn remove_path(v: &mut Value, path: &str) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut cur = v;
    for p in parts {
        match cur.get_mut(p) {
            Some(x) => cur = x,
            None => return,
        }
    }
    if let Some(o) = cur.as_object_mut() {
        o.remove(last);
    }
}

/// Whether the attempt `s` keeps to its challenge's rules.
pub fn check_rules(s: &Scenario) -> Result<(), String> {
    let Some(c) = &s.challenge else {
        return Ok(());
    };
    if let Some(k) = c.max_faults {
        let n = s.faults.len();
        if n > k {
            return Err(format!(
                "it uses {n} timed faults; the challenge allows at most {k}"
            ));
        }
    }
    if c.keep_disks {
        let blank = s.faults.iter().any(|f| {
            matches!(
                f.kind,
                crate::scenario::FaultKind::Restart { disk: false, .. }
            )
        }) || s
            .nemesis
            .as_ref()
            .is_some_and(|n| n.faults.iter().any(|k| k == "restart_blank"));
        if blank {
            return Err(
                "it restarts a node with a blank disk; this challenge keeps every disk".into(),
            );
        }
    }
    if let Some(f) = &c.frozen {
        if *f != seal(s) {
            return Err(format!(
                "it changes more than the challenge allows (only {} may change)",
                c.allow.join(", ")
            ));
        }
    }
    Ok(())
}

/// Seal `s`'s challenge if it is not sealed yet (a challenge opened for the first time).
pub fn open(s: &mut Scenario) {
    if s.challenge.as_ref().is_some_and(|c| c.frozen.is_none()) {
        let sealed = seal(s);
        if let Some(c) = s.challenge.as_mut() {
            c.frozen = Some(sealed);
        }
    }
}

/// Where the attempt `s` stands, given the attempts made before it and its
/// expectations' outcomes now.
pub fn state(s: &Scenario, attempts: u32, outcomes: &[ExpectOutcome]) -> State {
    let Some(c) = &s.challenge else {
        return State::Running;
    };
    if let Err(why) = check_rules(s) {
        return State::NotAllowed(why);
    }
    let all = !outcomes.is_empty() && outcomes.iter().all(|o| o.status == ExpectStatus::Passed);
    if all {
        return State::Solved;
    }
    // A failed expectation cannot pass any more; a pending one may (at the end, the
    // history's verdict and the anomalies come last).
    let failed = outcomes.iter().any(|o| o.status == ExpectStatus::Failed);
    if !failed {
        return State::Running;
    }
    let impossible = c
        .impossible
        .as_ref()
        .filter(|i| attempts + 1 >= i.after_attempts)
        .map(|i| i.why.clone());
    State::NotYet { impossible }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge() -> Scenario {
        crate::scenario::parse(
            r#"{"version": 1, "protocol": {"name": "raft"}, "nodes": 5, "duration_ms": 3000,
                "expect": [{"type": "no_commit", "from_ms": 1000, "to_ms": 2000}],
                "challenge": {"goal": "stop commits for a second", "allow": ["faults", "protocol.params.read_mode"], "max_faults": 2}}"#,
        )
        .expect("parses")
    }

    #[test]
    fn the_seal_ignores_what_is_allowed_and_catches_the_rest() {
        let mut s = challenge();
        let sealed = seal(&s);
        s.challenge.as_mut().unwrap().frozen = Some(sealed.clone());
        assert_eq!(check_rules(&s), Ok(()));
        let mut a = s.clone();
        a.faults = crate::scenario::parse(
            r#"{"version": 1, "protocol": {"name": "raft"}, "nodes": 5, "duration_ms": 3000,
                "faults": [{"at_ms": 900, "type": "partition", "groups": [[0, 1], [2, 3], [4]]}]}"#,
        )
        .unwrap()
        .faults;
        assert_eq!(check_rules(&a), Ok(()), "faults are open");
        assert_eq!(seal(&a), sealed);
        let mut b = s.clone();
        b.duration_ms = 9000;
        assert!(check_rules(&b)
            .unwrap_err()
            .contains("only faults, protocol.params.read_mode"));
        let mut c = s.clone();
        c.protocol.params = serde_json::json!({"read_mode": "lease"});
        assert_eq!(check_rules(&c), Ok(()), "one parameter is open");
        let mut d = a.clone();
        d.faults = [a.faults.clone(), a.faults.clone(), a.faults.clone()].concat();
        assert!(check_rules(&d).unwrap_err().contains("3 timed faults"));
    }

    #[test]
    fn bad_challenge_sections_are_named() {
        let e = crate::scenario::load(
            r#"{"version": 1, "protocol": {"name": "raft"}, "nodes": 3, "duration_ms": 3000,
                "expect": [{"type": "state_equal"}],
                "challenge": {"goal": "x", "allow": ["protocol.params.nope", "duration_ms"]}}"#,
        )
        .unwrap_err();
        let paths: Vec<&str> = e.iter().map(|x| x.path.as_str()).collect();
        assert_eq!(paths, ["challenge.allow[0]", "challenge.allow[1]"], "{e:?}");
        assert!(
            e[0].message.contains("read_mode"),
            "the parameters are listed: {}",
            e[0].message
        );
    }
}
