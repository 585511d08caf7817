//! The trade-off lab's logic (the CAP tab), pure and tested natively: what a column
//! runs (a registry variant of the run's scenario, or a configuration of its own: the
//! editor's, pinned, a gallery preset, a link's), each on the run's seed and fault
//! schedule; the `?lab=` link that carries the columns; each column's figures for
//! reads and writes apart; and its anomalies as a list of moments to go to.

use super::edit;
use quorumlab_core::{Time, MS};
use quorumlab_sim::anomaly::Anomalies;
use quorumlab_sim::history::{EventType, Func, History};
use quorumlab_sim::locks::Spell;
use quorumlab_sim::registry::Variant;
use quorumlab_sim::run::Check;
use quorumlab_sim::scenario::Scenario;
use quorumlab_sim::Found;

/// What a lab column runs.
#[derive(Clone, Debug)]
pub enum Source {
    /// A registry variant of the run's scenario: derived again whenever the run changes.
    Variant(Variant),
    /// A configuration of its own (protocol, parameters, nodes, network, workload,
    /// duration), run on the run's seed and faults. Its name is the column's label.
    Config(Box<Scenario>),
}

impl Source {
    /// The column's label.
    pub fn label(&self) -> String {
        match self {
            Source::Variant(v) => v.label.to_string(),
            Source::Config(s) => s.name.clone(),
        }
    }
}

/// The scenario a column runs beside `run`: the same seed, faults and nemesis and
/// metrics windows; no expectations (the lab compares figures, and a lesson's
/// expectations are about its own configuration). Validated.
pub fn effective(source: &Source, run: &Scenario) -> Result<Scenario, String> {
    let mut s = match source {
        Source::Variant(v) => {
            let mut s = v.apply(run)?;
            s.name = format!("{} ({})", run.name, v.label);
            s
        }
        Source::Config(base) => {
            let mut s = (**base).clone();
            s.seed = run.seed;
            s.faults = run.faults.clone();
            s.nemesis = run.nemesis.clone();
            s
        }
    };
    s.metrics_window_ms = run.metrics_window_ms;
    s.expect.clear();
    s.challenge = None;
    edit::checked(s)
}

/// A configuration to pin as a column: `s` named by what sets it apart (its protocol
/// and the parameters it sets), faults and expectations dropped (a column takes the
/// run's faults).
pub fn config(s: &Scenario, label: String) -> Scenario {
    let mut c = s.clone();
    c.name = label;
    c.faults.clear();
    c.nemesis = None;
    c.expect.clear();
    c.challenge = None;
    c
}

/// The label of the editor's configuration: the protocol and the parameters it sets
/// (`quorum-kv r=1 w=1`), or `raft (defaults)`.
pub fn config_label(s: &Scenario) -> String {
    let mut out = s.protocol.name.clone();
    let params: Vec<String> = match &s.protocol.params {
        serde_json::Value::Object(o) => o.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        _ => Vec::new(),
    };
    if let Some(d) = &s.protocol.data_type {
        out.push_str(&format!(" ({d})"));
    }
    if params.is_empty() {
        out.push_str(" (defaults)");
    } else {
        let mut p = params.join(" ").replace('"', "");
        if p.chars().count() > 60 {
            p = p.chars().take(59).collect::<String>() + "…";
        }
        out.push(' ');
        out.push_str(&p);
    }
    out
}

/// How a column's configuration differs from the run's in shape (node count,
/// duration), in words; empty when it does not.
pub fn shape_note(col: &Scenario, run: &Scenario) -> String {
    let mut notes = Vec::new();
    if col.n() != run.n() {
        notes.push(format!("{} nodes (this run: {})", col.n(), run.n()));
    }
    if col.duration_ms != run.duration_ms {
        let s = |ms: u64| format!("{} s", ms as f64 / 1000.0);
        notes.push(format!(
            "{} long (this run: {})",
            s(col.duration_ms),
            s(run.duration_ms)
        ));
    }
    notes.join(", ")
}

/// One entry of a `?lab=` link: a variant's id (links made before configurations),
/// or a configuration as a scenario link's fragment (`2.<check>.<data>`).
pub fn link_entry(source: &Source) -> String {
    match source {
        Source::Variant(v) => v.id.to_string(),
        Source::Config(s) => quorumlab_sim::url::encode(s),
    }
}

/// The columns a `?lab=` value names, against the run's `variants`, and a message
/// for each entry that is ignored (unknown, damaged, or past `max`).
pub fn parse_link(value: &str, variants: &[Variant], max: usize) -> (Vec<Source>, Vec<String>) {
    let (mut out, mut problems) = (Vec::new(), Vec::new());
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let shown: String = entry.chars().take(24).collect();
        let shown = if shown.len() < entry.len() {
            format!("{shown}…")
        } else {
            shown
        };
        let source = if entry.starts_with(|c: char| c.is_ascii_digit()) && entry.contains('.') {
            match quorumlab_sim::url::decode(entry) {
                Ok(s) => Source::Config(Box::new(s)),
                Err(e) => {
                    problems.push(format!("the lab link's entry `{shown}` was ignored: {e}"));
                    continue;
                }
            }
        } else {
            match variants.iter().find(|v| v.id == entry) {
                Some(v) => Source::Variant(*v),
                None => {
                    problems.push(format!(
                        "the lab link's entry `{shown}` was ignored: this scenario has no such comparison"
                    ));
                    continue;
                }
            }
        };
        if out.len() >= max {
            problems.push(format!(
                "the lab link's entry `{shown}` was ignored: the lab holds {max} columns beside the run"
            ));
            continue;
        }
        out.push(source);
    }
    (out, problems)
}

/// One kind of operation's figures (reads, or writes: cas and append count as writes).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct KindFigures {
    /// Operations completed (answered, or given up on, or with an unknown outcome).
    pub done: u64,
    /// Answered: ok, or a definite failure a node gave (a cas whose expected value did
    /// not match).
    pub answered: u64,
    /// Latency of the successful ones, ms (nearest rank, as `quorumlab compare`).
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub p999: Option<f64>,
}

impl KindFigures {
    /// Answered over completed (`None`: none completed).
    pub fn availability(&self) -> Option<f64> {
        (self.done > 0).then(|| self.answered as f64 / self.done as f64)
    }
}

/// A run's figures by kind of operation, from its history.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Figures {
    pub reads: KindFigures,
    pub writes: KindFigures,
    /// Successful operations.
    pub ok: u64,
    /// Successful operations per simulated second so far.
    pub throughput: f64,
    /// Messages sent per successful operation (every message: heartbeats count);
    /// `None` before any operation succeeded.
    pub messages_per_op: Option<f64>,
}

impl Figures {
    /// The figures of a history at simulated time `now`, with `messages` sent so far.
    /// Each client has one operation at a time: a completion belongs to its process's
    /// last invoke.
    pub fn of(h: &History, now: Time, messages: u64) -> Figures {
        // The operations open, by process: a few clients, so a list (a map's code
        // would cost the page's bundle more).
        let mut open: Vec<(u64, Time, bool)> = Vec::new();
        let (mut r, mut w) = (KindFigures::default(), KindFigures::default());
        let (mut rl, mut wl): (Vec<Time>, Vec<Time>) = (Vec::new(), Vec::new());
        let mut ok = 0;
        for e in &h.events {
            let at = open.iter().position(|o| o.0 == e.process);
            if e.kind == EventType::Invoke {
                let op = (e.process, e.time, e.f == Func::Read);
                match at {
                    Some(i) => open[i] = op,
                    None => open.push(op),
                }
                continue;
            }
            let Some((_, t0, read)) = at.map(|i| open.swap_remove(i)) else {
                continue;
            };
            let (k, lat) = if read {
                (&mut r, &mut rl)
            } else {
                (&mut w, &mut wl)
            };
            k.done += 1;
            if e.kind != EventType::Info && !e.gave_up {
                k.answered += 1;
            }
            if e.kind == EventType::Ok {
                ok += 1;
                lat.push(e.time.saturating_sub(t0));
            }
        }
        for (k, lat) in [(&mut r, &mut rl), (&mut w, &mut wl)] {
            lat.sort_unstable();
            k.p50 = quantile(lat, 0.5);
            k.p99 = quantile(lat, 0.99);
            k.p999 = quantile(lat, 0.999);
        }
        let secs = now as f64 / 1e6;
        Figures {
            reads: r,
            writes: w,
            ok,
            throughput: if secs > 0.0 { ok as f64 / secs } else { 0.0 },
            messages_per_op: (ok > 0).then(|| messages as f64 / ok as f64),
        }
    }
}

/// The `q` quantile of sorted latencies (µs) in ms, by nearest rank, as
/// `quorumlab compare` takes it (`None` for none).
fn quantile(xs: &[Time], q: f64) -> Option<f64> {
    let rank = (q * xs.len() as f64).ceil() as usize;
    let i = rank.clamp(1, xs.len().max(1)) - 1;
    xs.get(i).map(|t| *t as f64 / MS as f64)
}

/// One anomaly of a column, as the lab lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// What it is (`lost_write`, `stale_read`, `split_brain`, ..., `not_linearizable`,
    /// `two_holders`, `invariant`).
    pub kind: &'static str,
    /// Its moment (none: the checker gave no operation to place it).
    pub at: Option<Time>,
    pub text: String,
    /// Its index in the analysis's anomaly list (shown with its operations once there).
    pub index: Option<usize>,
}

/// A run's anomalies as the lab lists them: the invariant broken, the operation the
/// linearizability check could not place, the analysis's anomalies (lost writes, stale
/// reads, split brain, ...; in order of their moment), and a lock service's spells of
/// two holders (in order too).
pub fn items(
    verdict: Option<&Check>,
    anomalies: Option<&Anomalies>,
    violation: Option<&Found>,
    spells: &[Spell],
) -> Vec<Item> {
    let mut out = Vec::new();
    if let Some(v) = violation {
        out.push(Item {
            kind: "invariant",
            at: Some(v.time),
            text: format!("invariant {} broken: {}", v.invariant, v.detail),
            index: None,
        });
    }
    if let Some(Check::Failed {
        detail,
        explanation,
    }) = verdict
    {
        // The moment the operation the checker could not place returned.
        let stuck = explanation
            .as_ref()
            .filter(|x| x.timed)
            .and_then(|x| x.ops.iter().find(|op| op.stuck).or(x.ops.last()));
        let text = explanation
            .as_ref()
            .map_or(detail.as_str(), |x| x.summary.as_str());
        out.push(Item {
            kind: "not_linearizable",
            at: stuck.map(|op| op.return_time.unwrap_or(op.invoke_time)),
            text: format!("not linearizable: {}", first_line(text)),
            index: None,
        });
    }
    if let Some(list) = anomalies.map(|a| &a.list) {
        for (i, a) in list.iter().enumerate() {
            let when = match a.until_ms {
                Some(u) => format!(" (until {u:.0} ms)"),
                None => String::new(),
            };
            out.push(Item {
                kind: a.kind.name(),
                at: Some((a.at_ms * MS as f64) as Time),
                text: format!("{}: {}{when}", a.kind.name().replace('_', " "), a.detail),
                index: Some(i),
            });
        }
    }
    for s in spells {
        out.push(Item {
            kind: "two_holders",
            at: Some(s.from),
            text: format!(
                "two holders for {:.0} ms (nodes {} and {}): {}",
                s.to.saturating_sub(s.from) as f64 / MS as f64,
                s.earlier,
                s.later,
                s.cause
            ),
            index: None,
        });
    }
    out
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// A count line of a run's anomalies: the analysis's (split-brain as time), the
/// verdict, and the spells of two holders.
pub fn summary(verdict: Option<&Check>, anomalies: Option<&Anomalies>, spells: usize) -> String {
    let Some(a) = anomalies else {
        return String::new();
    };
    let mut parts = vec![
        format!("{} lost writes", a.lost_writes),
        format!("{} stale reads", a.stale_reads),
        format!("split brain {:.0} ms", a.split_brain_ms),
    ];
    if a.divergent > 0 {
        parts.push(format!("{} divergent", a.divergent));
    }
    if a.read_your_writes + a.monotonic_reads > 0 {
        parts.push(format!(
            "{} session guarantees broken",
            a.read_your_writes + a.monotonic_reads
        ));
    }
    if spells > 0 {
        parts.push(format!("{spells} spells of two lock holders"));
    }
    parts.push(
        match verdict {
            Some(Check::Passed) => "linearizable",
            Some(Check::Failed { .. }) => "not linearizable",
            Some(Check::Skipped { .. }) => "linearizability not checked",
            Some(Check::Unknown { .. }) | None => "linearizability unknown",
        }
        .to_string(),
    );
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorumlab_sim::history::{HistoryEvent, Value};

    fn ev(process: u64, kind: EventType, f: Func, time: Time, gave_up: bool) -> HistoryEvent {
        HistoryEvent {
            process,
            kind,
            f,
            key: Some("k0".into()),
            value: Value::Nil,
            time,
            index: None,
            term: None,
            gave_up,
        }
    }

    #[test]
    fn figures_split_reads_from_writes() {
        use EventType::*;
        let mut h = History::default();
        // Reads by process 0: 2 ms ok, 4 ms ok, then one given up.
        // Writes by process 1: 10 ms ok, a cas answered with fail (answered), an
        // unknown outcome.
        let evs = [
            ev(0, Invoke, Func::Read, 0, false),
            ev(1, Invoke, Func::Write, 0, false),
            ev(0, Ok, Func::Read, 2 * MS, false),
            ev(0, Invoke, Func::Read, 3 * MS, false),
            ev(0, Ok, Func::Read, 7 * MS, false),
            ev(1, Ok, Func::Write, 10 * MS, false),
            ev(1, Invoke, Func::Cas, 11 * MS, false),
            ev(1, Fail, Func::Cas, 12 * MS, false),
            ev(0, Invoke, Func::Read, 20 * MS, false),
            ev(0, Fail, Func::Read, 30 * MS, true),
            ev(1, Invoke, Func::Write, 40 * MS, false),
            ev(1, Info, Func::Write, 60 * MS, false),
        ];
        h.events.extend(evs);
        let f = Figures::of(&h, 2_000 * MS, 30);
        assert_eq!((f.reads.done, f.reads.answered), (3, 2));
        assert_eq!((f.writes.done, f.writes.answered), (3, 2));
        assert_eq!(f.reads.p50, Some(2.0));
        assert_eq!(f.reads.p999, Some(4.0));
        assert_eq!(f.writes.p50, Some(10.0));
        assert_eq!(f.ok, 3);
        assert!((f.throughput - 1.5).abs() < 1e-9);
        assert_eq!(f.messages_per_op, Some(10.0));
        assert_eq!(Figures::of(&History::default(), 0, 0).messages_per_op, None);
    }

    #[test]
    fn a_link_names_variants_and_configurations_and_ignores_the_rest() {
        let run = crate::ui::gallery::default_scenario();
        let variants = crate::ui::state::variants_for(&run);
        let mut c = run.clone();
        c.name = "mine".into();
        c.protocol.name = "multi-paxos".into();
        let code = link_entry(&Source::Config(Box::new(c)));
        let value = format!(
            "{},Nope,{code},2.AAAAAA.broken,{}",
            variants[0].id, variants[1].id
        );
        let (cols, problems) = parse_link(&value, variants, 3);
        assert_eq!(cols.len(), 3);
        assert_eq!(cols[1].label(), "mine");
        assert!(matches!(cols[2], Source::Variant(v) if v.id == variants[1].id));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("`Nope`"), "{problems:?}");
        assert!(problems[1].contains("damaged"), "{problems:?}");
        let (cols, problems) = parse_link(&value, variants, 1);
        assert_eq!(cols.len(), 1);
        assert_eq!(problems.len(), 4, "{problems:?}");
    }

    #[test]
    fn a_configuration_runs_on_the_runs_seed_and_faults_and_says_how_it_differs() {
        let mut run = crate::ui::gallery::default_scenario();
        run.seed = 42;
        let crash = |node: u32| -> quorumlab_sim::scenario::Fault {
            serde_json::from_str(&format!(
                r#"{{"at_ms": 500, "type": "crash", "node": {node}}}"#
            ))
            .expect("a crash fault")
        };
        run.faults.push(crash(1));
        let mut other = run.clone();
        other.seed = 7;
        other.nodes = quorumlab_sim::scenario::Nodes::Count(3);
        other.duration_ms = 10_000;
        other.faults.clear();
        let label = config_label(&other);
        assert_eq!(label, "raft (defaults)");
        let s = effective(&Source::Config(Box::new(config(&other, label))), &run).expect("valid");
        assert_eq!(s.seed, 42);
        assert_eq!(s.faults.len(), 1);
        assert_eq!(s.n(), 3);
        assert_eq!(
            shape_note(&s, &run),
            "3 nodes (this run: 5), 10 s long (this run: 30 s)"
        );
        // A fault naming a node the configuration lacks: named with its error.
        run.faults[0] = crash(4);
        let bad = effective(&Source::Config(Box::new(other)), &run);
        assert!(bad.is_err(), "{:?}", bad.map(|s| s.to_json()));
    }
}
