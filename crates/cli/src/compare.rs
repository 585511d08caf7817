//! `quorumlab compare A.json B.json [...] --seeds N`: the trade-off lab from the
//! command line. Every configuration runs the same seeds (and, with `--faults`, the
//! same fault schedule); each figure of `quorumlab_sim::compare` is reported as a mean
//! with a 95% interval per configuration, with the seeds where each configuration did
//! worst and the commands that reproduce them. Runs on every core.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use quorumlab_sim::compare::{self, RunFigures, FIGURES};
use quorumlab_sim::scenario::{self, Scenario};
use serde_json::{json, Value};

use crate::args::{read_input, Args};
use crate::BadInput;
use quorumlab_sim::run::summarize;

/// The history check's budget per run when `--budget-ms` is not given: a comparison
/// runs hundreds of seeds, so it is shorter than `run`'s (an unknown verdict is left
/// out of the "not linearizable" figure, and counted).
const COMPARE_BUDGET_MS: u64 = 2_000;

struct Config {
    path: String,
    /// The column's name: the file's stem.
    label: String,
    scenario: Scenario,
}

/// A configuration file with the `--faults` schedule put in place of its own (and its
/// expectations dropped: they describe its own faults).
pub fn load(path: &str, faults: Option<&Value>) -> Result<Scenario, String> {
    let text = read_input(path).map_err(|BadInput(e)| e)?;
    let text = match faults {
        None => text,
        Some(f) => {
            let mut v: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
            let Some(o) = v.as_object_mut() else {
                return Err("a scenario is a JSON object".into());
            };
            o.insert("faults".into(), f.clone());
            o.remove("nemesis");
            o.remove("expect");
            o.remove("challenge");
            v.to_string()
        }
    };
    scenario::load(&text).map_err(|errs| scenario::describe(&errs).replace('\n', "\n    "))
}

/// `--faults F`: a JSON list of faults, or an object with a `faults` list (a scenario
/// file lends its schedule); `none` for no faults at all (the PACELC "else" case).
pub fn faults_arg(a: &Args) -> Result<Option<(String, Value)>, BadInput> {
    let Some(f) = a.value("faults") else {
        return Ok(None);
    };
    if f == "none" {
        return Ok(Some(("none".into(), json!([]))));
    }
    let text = read_input(f)?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| BadInput(format!("--faults {f}: not JSON: {e}")))?;
    let list = match v {
        Value::Array(_) => v,
        Value::Object(mut o) => o.remove("faults").ok_or_else(|| {
            BadInput(format!(
                "--faults {f}: an object needs a `faults` list (or give the list itself)"
            ))
        })?,
        _ => {
            return Err(BadInput(format!(
                "--faults {f}: give a list of faults or an object with a `faults` list"
            )))
        }
    };
    Ok(Some((f.to_string(), list)))
}

pub fn main(raw: &[String]) -> Result<i32, BadInput> {
    let a = Args::parse(
        raw,
        &["seeds", "start", "threads", "budget-ms", "faults", "format"],
        &[],
    )?;
    if a.positional.len() < 2 {
        return Err(BadInput(
            "compare needs at least two configurations (scenario files)".into(),
        ));
    }
    let format = a.value("format").unwrap_or("md");
    if !["md", "csv", "json"].contains(&format) {
        return Err(BadInput(format!("--format {format}: use md, csv or json")));
    }
    let seeds = a.number("seeds")?.unwrap_or(200);
    if seeds == 0 {
        return Err(BadInput("--seeds must be at least 1".into()));
    }
    let start = a.number("start")?.unwrap_or(0);
    let threads = match a.number("threads")? {
        Some(0) => return Err(BadInput("--threads must be at least 1".into())),
        Some(t) => t as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let budget =
        std::time::Duration::from_millis(a.number("budget-ms")?.unwrap_or(COMPARE_BUDGET_MS));
    let faults = faults_arg(&a)?;

    // A configuration that does not load is named with its error; the others run.
    let mut configs = Vec::new();
    let mut errors = Vec::new();
    for path in &a.positional {
        match load(path, faults.as_ref().map(|f| &f.1)) {
            Ok(scenario) => {
                let stem = std::path::Path::new(path)
                    .file_stem()
                    .map_or(path.clone(), |s| s.to_string_lossy().into_owned());
                configs.push(Config {
                    path: path.clone(),
                    label: stem,
                    scenario,
                });
            }
            Err(e) => errors.push((path.clone(), e)),
        }
    }
    for (p, e) in &errors {
        eprintln!("quorumlab: {p} is left out: {e}");
    }
    if configs.is_empty() {
        return Err(BadInput("no configuration loaded".into()));
    }
    // Two columns with one name (same file stem in two folders): keep them apart.
    for i in 0..configs.len() {
        if configs[..i].iter().any(|c| c.label == configs[i].label) {
            configs[i].label = configs[i].path.clone();
        }
    }

    let t0 = Instant::now();
    let runs = run_all(&configs, start, seeds, threads, budget);
    let took = t0.elapsed().as_secs_f64();
    let faults_name = faults.as_ref().map(|f| f.0.as_str());
    let report = Report {
        configs: &configs,
        runs: &runs,
        start,
        seeds,
        faults: faults_name,
        errors: &errors,
        took,
        threads,
    };
    match format {
        "csv" => print!("{}", report.csv()),
        "json" => say!(
            "{}",
            serde_json::to_string_pretty(&report.json()).unwrap_or_default()
        ),
        _ => print!("{}", report.markdown()),
    }
    Ok(if errors.is_empty() { 0 } else { 2 })
}

/// Every configuration at every seed, on `threads` threads; each configuration's runs
/// in seed order.
fn run_all(
    configs: &[Config],
    start: u64,
    seeds: u64,
    threads: usize,
    budget: std::time::Duration,
) -> Vec<Vec<RunFigures>> {
    let total = configs.len() as u64 * seeds;
    let next = AtomicU64::new(0);
    let out: Vec<Mutex<Vec<RunFigures>>> = configs.iter().map(|_| Mutex::new(Vec::new())).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= total {
                    break;
                }
                let (c, seed) = (
                    (k % configs.len() as u64) as usize,
                    start + k / configs.len() as u64,
                );
                // Every configuration was built once already (loading validates it).
                let Some(f) = figures(&configs[c].scenario, seed, budget) else {
                    continue;
                };
                out[c].lock().unwrap_or_else(|p| p.into_inner()).push(f);
            });
        }
    });
    out.into_iter()
        .map(|m| {
            let mut v = m.into_inner().unwrap_or_else(|p| p.into_inner());
            v.sort_by_key(|r| r.seed);
            v
        })
        .collect()
}

/// One run's figures, with the availability of each side of its partitions: the run
/// is stepped to its end (the same trace as `quorumlab run`) reading the network's
/// cuts after every step.
fn figures(s: &Scenario, seed: u64, budget: std::time::Duration) -> Option<RunFigures> {
    let mut e = quorumlab_sim::build(s, seed, 0).ok()?;
    let parts = quorumlab_sim::sides::run_to_end(e.as_mut());
    let start = std::time::Instant::now();
    let lin = quorumlab_sim::run::check_history(e.as_ref(), &mut || start.elapsed() >= budget);
    let sum = summarize(e.as_ref(), lin);
    let members = s.nodes.initial_members();
    let by = quorumlab_sim::sides::tally(e.history(), &parts, |p| {
        let w = s.workload.as_ref()?;
        (p < u64::from(w.clients) && !members.is_empty())
            .then(|| quorumlab_sim::workload::home_of(w, &members, p as u32))
    });
    Some(RunFigures::of(seed, &sum, e.history()).with_sides(&by))
}

struct Report<'a> {
    configs: &'a [Config],
    runs: &'a [Vec<RunFigures>],
    start: u64,
    seeds: u64,
    faults: Option<&'a str>,
    errors: &'a [(String, String)],
    took: f64,
    threads: usize,
}

/// A number for a table: few digits, more for small values.
fn num(x: f64) -> String {
    let a = x.abs();
    if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

impl Report<'_> {
    /// What differs between the configurations beyond their protocol and parameters
    /// (allowed, but the reader must know).
    fn differences(&self) -> Vec<String> {
        let mut d = Vec::new();
        let mut differ = |what: &str, vals: Vec<String>| {
            if vals.iter().any(|v| *v != vals[0]) {
                d.push(format!("{what}: {}", vals.join(" / ")));
            }
        };
        let c = self.configs;
        differ(
            "nodes",
            c.iter().map(|c| c.scenario.n().to_string()).collect(),
        );
        differ(
            "duration",
            c.iter()
                .map(|c| format!("{} ms", c.scenario.duration_ms))
                .collect(),
        );
        differ(
            "workload",
            c.iter()
                .map(|c| serde_json::to_string(&c.scenario.workload).unwrap_or_default())
                .collect(),
        );
        if self.faults.is_none() {
            differ(
                "faults",
                c.iter()
                    .map(|c| {
                        format!(
                            "{}{}",
                            serde_json::to_string(&c.scenario.faults).unwrap_or_default(),
                            if c.scenario.nemesis.is_some() {
                                " + nemesis"
                            } else {
                                ""
                            }
                        )
                    })
                    .collect(),
            );
        }
        d
    }

    /// Per configuration: the three worst seeds, worst first (only runs with something
    /// to show).
    fn worst(&self, c: usize) -> Vec<&RunFigures> {
        let mut v: Vec<&RunFigures> = self.runs[c].iter().filter(|r| r.badness() > 0.0).collect();
        v.sort_by(|a, b| {
            b.badness()
                .total_cmp(&a.badness())
                .then(a.seed.cmp(&b.seed))
        });
        v.truncate(3);
        v
    }

    fn repro(&self, c: usize, seed: u64) -> String {
        let path = &self.configs[c].path;
        match self.faults {
            None => format!("quorumlab run {path} --seed {seed}"),
            Some(f) => format!("quorumlab run {path} --seed {seed} --faults {f}"),
        }
    }

    fn what_went_wrong(r: &RunFigures) -> String {
        let mut parts = Vec::new();
        if r.violation {
            parts.push("an invariant violated".to_string());
        }
        if r.lost_writes > 0 {
            parts.push(format!("{} acknowledged writes lost", r.lost_writes));
        }
        if r.stale_reads > 0 {
            parts.push(format!("{} stale reads", r.stale_reads));
        }
        if r.split_brain_ms > 0.0 {
            parts.push(format!("{:.0} ms of split brain", r.split_brain_ms));
        }
        if r.divergent > 0 {
            parts.push(format!("{} divergent replicas", r.divergent));
        }
        if r.linearizable == Some(false) {
            parts.push("not linearizable".to_string());
        }
        parts.join(", ")
    }

    fn mean_availability(&self, c: usize) -> Option<f64> {
        compare::over(&self.runs[c], &FIGURES[0]).map(|s| s.mean / 100.0)
    }

    fn markdown(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let faults = match self.faults {
            None => "each configuration's own".to_string(),
            Some("none") => "none (PACELC: what consistency costs when nothing fails)".to_string(),
            Some(f) => format!("from {f}, the same for all"),
        };
        let _ = writeln!(
            o,
            "quorumlab compare: seeds {}..{} ({} per configuration), faults: {faults}; mean [95% interval]\n",
            self.start,
            self.start + self.seeds - 1,
            self.seeds
        );
        let _ = write!(o, "| figure |");
        for c in self.configs {
            let _ = write!(o, " {} ({}) |", c.label, c.scenario.protocol.name);
        }
        let _ = write!(o, "\n|---|");
        for _ in self.configs {
            let _ = write!(o, "---|");
        }
        o.push('\n');
        for f in FIGURES {
            let unit = if f.unit.is_empty() {
                String::new()
            } else {
                format!(" ({})", f.unit)
            };
            let _ = write!(o, "| {}{unit} |", f.name);
            for runs in self.runs {
                match compare::over(runs, f) {
                    Some(s) if s.n < runs.len() => {
                        let _ = write!(
                            o,
                            " {} [{}, {}] (n={}) |",
                            num(s.mean),
                            num(s.lo),
                            num(s.hi),
                            s.n
                        );
                    }
                    Some(s) => {
                        let _ = write!(o, " {} [{}, {}] |", num(s.mean), num(s.lo), num(s.hi));
                    }
                    None => o.push_str(" — |"),
                }
            }
            o.push('\n');
        }
        let _ = write!(o, "| availability as nines |");
        for c in 0..self.configs.len() {
            match self.mean_availability(c) {
                Some(a) => {
                    let _ = write!(o, " {:.1} |", compare::nines(a));
                }
                None => o.push_str(" — |"),
            }
        }
        let _ = write!(o, "\n| downtime a year at that rate |");
        for c in 0..self.configs.len() {
            match self.mean_availability(c) {
                Some(a) => {
                    let _ = write!(o, " {} |", downtime(compare::downtime_minutes_per_year(a)));
                }
                None => o.push_str(" — |"),
            }
        }
        o.push_str("\n\n");
        for d in self.differences() {
            let _ = writeln!(o, "note: the configurations differ in {d}");
        }
        for (c, conf) in self.configs.iter().enumerate() {
            let unknown = self.runs[c]
                .iter()
                .filter(|r| r.linearizable.is_none())
                .count();
            if !conf.scenario.checks.linearizable {
                let _ = writeln!(
                    o,
                    "note: {}: its history is not checked for linearizability (its scenario sets checks.linearizable to false)",
                    conf.label
                );
            } else if unknown > 0 {
                let _ = writeln!(
                    o,
                    "note: {}: the history check gave no verdict in {unknown} of {} runs (budget; --budget-ms raises it): left out of \"not linearizable\"",
                    conf.label,
                    self.runs[c].len()
                );
            }
        }
        let mut any = false;
        for (c, conf) in self.configs.iter().enumerate() {
            for r in self.worst(c) {
                if !any {
                    o.push_str("\nworst seeds:\n");
                    any = true;
                }
                let _ = writeln!(
                    o,
                    "- {} seed {}: {}\n  {}",
                    conf.label,
                    r.seed,
                    Self::what_went_wrong(r),
                    self.repro(c, r.seed)
                );
            }
        }
        for (p, e) in self.errors {
            let _ = writeln!(o, "\nleft out: {p}: {e}");
        }
        let runs: usize = self.runs.iter().map(Vec::len).sum();
        let _ = writeln!(
            o,
            "\n{runs} runs in {:.1} s on {} threads",
            self.took, self.threads
        );
        o
    }

    fn csv(&self) -> String {
        let mut o = String::from("configuration,protocol,figure,unit,mean,lo,hi,n\n");
        for (c, conf) in self.configs.iter().enumerate() {
            for f in FIGURES {
                if let Some(s) = compare::over(&self.runs[c], f) {
                    o.push_str(&format!(
                        "{},{},{},{},{},{},{},{}\n",
                        csv_field(&conf.label),
                        csv_field(&conf.scenario.protocol.name),
                        csv_field(f.name),
                        csv_field(f.unit),
                        s.mean,
                        s.lo,
                        s.hi,
                        s.n
                    ));
                }
            }
        }
        o
    }

    fn json(&self) -> Value {
        let configs: Vec<Value> = self
            .configs
            .iter()
            .enumerate()
            .map(|(c, conf)| {
                let mut figures = serde_json::Map::new();
                for f in FIGURES {
                    if let Some(s) = compare::over(&self.runs[c], f) {
                        figures.insert(
                            f.name.to_string(),
                            json!({"unit": f.unit, "mean": s.mean, "lo": s.lo, "hi": s.hi, "n": s.n}),
                        );
                    }
                }
                let avail = self.mean_availability(c).unwrap_or(1.0);
                json!({
                    "label": conf.label,
                    "path": conf.path,
                    "protocol": conf.scenario.protocol.name,
                    "nodes": conf.scenario.n(),
                    "duration_ms": conf.scenario.duration_ms,
                    "runs": self.runs[c].len(),
                    "figures": figures,
                    "nines": compare::nines(avail),
                    "downtime_minutes_per_year": compare::downtime_minutes_per_year(avail),
                    "worst": self.worst(c).iter().map(|r| json!({
                        "seed": r.seed,
                        "what": Self::what_went_wrong(r),
                        "command": self.repro(c, r.seed),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({
            "seeds": self.seeds,
            "start": self.start,
            "faults": self.faults,
            "configurations": configs,
            "differences": self.differences(),
            "left_out": self.errors.iter().map(|(p, e)| json!({"path": p, "error": e})).collect::<Vec<_>>(),
            "seconds": self.took,
            "threads": self.threads,
        })
    }
}

/// Minutes a year, in the unit that reads best.
fn downtime(min: f64) -> String {
    if min >= 24.0 * 60.0 {
        format!("{:.1} days", min / (24.0 * 60.0))
    } else if min >= 60.0 {
        format!("{:.1} h", min / 60.0)
    } else {
        format!("{min:.1} min")
    }
}

/// A CSV field, quoted when it must be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
