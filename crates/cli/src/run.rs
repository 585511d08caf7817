//! `quorumlab run` and `quorumlab url`.

use crate::args::{base_scenario, force_nemesis, load_scenario, swarm_scenario, Args};
use crate::BadInput;
use quorumlab_sim::run::{summarize, Summary};
use quorumlab_sim::{build, url, Engine};
use std::time::{Duration, Instant};

/// How long the end-of-run linearizability check may take on the command line, unless
/// `--budget-ms` says otherwise.
pub const LIN_BUDGET: Duration = Duration::from_secs(10);

/// Build and run a scenario to the end and summarise it, checks included. `budget` is
/// the linearizability check's: when it runs out, the verdict is unknown (never a pass).
pub fn run_with_budget(
    s: &quorumlab_sim::Scenario,
    seed: u64,
    record: usize,
    budget: Duration,
) -> Result<(Box<dyn Engine>, Summary), BadInput> {
    let mut e = build(s, seed, record).map_err(|err| BadInput(err.to_string()))?;
    e.run_to_end();
    let start = Instant::now();
    let lin = quorumlab_sim::run::check_history(e.as_ref(), &mut || start.elapsed() >= budget);
    let summary = summarize(e.as_ref(), lin);
    Ok((e, summary))
}

/// `--budget-ms N`: the linearizability check's time budget.
pub fn budget(a: &Args) -> Result<Duration, BadInput> {
    Ok(a.number("budget-ms")?
        .map(Duration::from_millis)
        .unwrap_or(LIN_BUDGET))
}

pub fn main(raw: &[String]) -> Result<i32, BadInput> {
    let a = Args::parse(
        raw,
        &[
            "seed",
            "trace",
            "history",
            "budget-ms",
            "swarm-seed",
            "protocol",
            "scenario-out",
            "faults",
        ],
        &["json", "nemesis", "swarm-unsafe", "marks"],
    )?;
    let budget = budget(&a)?;
    let swarm_seed = a.number("swarm-seed")?;
    if a.flag("swarm-unsafe") && swarm_seed.is_none() {
        return Err(BadInput("--swarm-unsafe needs --swarm-seed N".into()));
    }
    let (mut s, _) = match crate::compare::faults_arg(&a)? {
        // `--faults F|none`: the scenario with another fault schedule (as `compare`
        // runs it, so its reproduce commands work).
        Some((_, faults)) => {
            let path = a.one_positional("SCENARIO file")?;
            let s = crate::compare::load(path, Some(&faults))
                .map_err(|e| BadInput(format!("{path} with --faults: {e}")))?;
            (s, path.to_string())
        }
        None => base_scenario(&a, swarm_seed.is_some())?,
    };
    if a.flag("nemesis") {
        force_nemesis(&mut s);
    }
    if let Some(sw) = swarm_seed {
        if a.value("seed").is_some() {
            return Err(BadInput(
                "--swarm-seed N also sets the seed: leave --seed out".into(),
            ));
        }
        s = swarm_scenario(&s, sw, a.flag("swarm-unsafe"))?;
    }
    if let Some(f) = a.value("scenario-out") {
        std::fs::write(f, s.to_json_pretty() + "\n")
            .map_err(|err| BadInput(format!("cannot write {f}: {err}")))?;
    }
    let seed = a.number("seed")?.unwrap_or(s.seed);
    let t0 = Instant::now();
    let (e, summary) = run_with_budget(
        &s,
        seed,
        if a.value("trace").is_some() {
            usize::MAX
        } else {
            0
        },
        budget,
    )?;
    let took = t0.elapsed();
    if let Some(f) = a.value("history") {
        std::fs::write(f, e.history().to_jsonl())
            .map_err(|err| BadInput(format!("cannot write {f}: {err}")))?;
    }
    if let Some(f) = a.value("trace") {
        let mut out = String::new();
        for fl in e.flights() {
            out.push_str(&serde_json::to_string(fl).unwrap_or_default());
            out.push('\n');
        }
        for l in e.log() {
            out.push_str(&serde_json::to_string(l).unwrap_or_default());
            out.push('\n');
        }
        std::fs::write(f, out).map_err(|err| BadInput(format!("cannot write {f}: {err}")))?;
    }
    if a.flag("json") {
        say!(
            "{}",
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        );
    } else {
        print_human(&summary, e.as_ref(), took, a.flag("marks"));
    }
    // An unknown verdict is not a pass: 3, as `quorumlab check` says for one.
    Ok(summary.exit_code())
}

fn print_human(s: &Summary, e: &dyn Engine, took: Duration, all_marks: bool) {
    use std::io::Write;
    let text = human(s, e, took, all_marks);
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

use quorumlab_core::lock::token_text;

fn human(s: &Summary, e: &dyn Engine, took: Duration, all_marks: bool) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    macro_rules! println {
        ($($t:tt)*) => {{ let _ = writeln!(o, $($t)*); }};
    }
    let name = if s.scenario.is_empty() {
        "(unnamed)"
    } else {
        &s.scenario
    };
    println!(
        "scenario   {name} ({}, {} nodes, seed {})",
        s.protocol, s.nodes, s.seed
    );
    println!(
        "simulated  {} ms of {} ms, {} events in {:.3} s",
        s.simulated_ms,
        s.duration_ms,
        s.events,
        took.as_secs_f64()
    );
    println!("trace      {}", s.trace_hash);
    match &s.invariants.violation {
        None if s.invariants.checked => {
            println!("invariants ok ({})", s.invariants.names.join(", "))
        }
        None => println!("invariants not checked"),
        Some(v) => println!(
            "invariants VIOLATED at {:.3} ms: {}: {}",
            v.time as f64 / 1000.0,
            v.invariant,
            v.detail
        ),
    }
    println!("converge   {}", check_line(&s.convergence));
    println!("history    {}", check_line(&s.linearizable));
    let a = &s.anomalies;
    println!("anomalies  {}", a.line());
    if !a.by_client.is_empty() {
        // Session guarantees are per client: say whose, to follow them in the history.
        let per: Vec<String> = a
            .by_client
            .iter()
            .map(|c| {
                let parts: Vec<String> = [
                    (c.read_your_writes, "read-your-writes"),
                    (c.monotonic_reads, "monotonic-read"),
                ]
                .iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, what)| format!("{n} {what}"))
                .collect();
                format!("client {}: {}", c.client, parts.join(", "))
            })
            .collect();
        println!("  per client: {}", per.join("; "));
    }
    for x in a.list.iter().take(10) {
        println!("  {:>10.3} ms  {}: {}", x.at_ms, x.kind.name(), x.detail);
    }
    if a.list.len() > 10 {
        println!(
            "  ... {} more (--json lists up to {})",
            a.list.len() - 10,
            quorumlab_sim::anomaly::LIST_CAP
        );
    }
    for u in &a.unmeasured {
        println!("  not measured: {u}");
    }
    for u in &a.notes {
        println!("  note: {u}");
    }
    if let Some(l) = &s.locks {
        let holds: usize = l.lanes.iter().map(|x| x.holds.len()).sum();
        let refused = l.writes.iter().filter(|w| !w.accepted).count();
        println!(
            "locks      {holds} holds by {} clients; {} spells of two holders; storage: {} writes, {refused} refused, {} corrupted",
            l.lanes.len(),
            l.spells.len(),
            l.writes.len(),
            l.corrupted
        );
        for x in l.spells.iter().take(5) {
            let token = |t: Option<i64>| t.map_or("none".to_string(), |t| token_text(t as u64));
            println!(
                "  {:>10.3} .. {:.3} ms  clients {} and {} (tokens {} and {}): {}",
                x.from as f64 / 1000.0,
                x.to as f64 / 1000.0,
                x.earlier,
                x.later,
                token(x.tokens.0),
                token(x.tokens.1),
                x.cause
            );
        }
        if l.spells.len() > 5 {
            println!("  ... {} more (--json lists them)", l.spells.len() - 5);
        }
    }
    println!("marks      {}", marks_line(&s.marks, all_marks));
    if all_marks {
        for m in &s.marks {
            let until = m.until.map_or(String::new(), |u| {
                format!(" .. {:.3} ms", u as f64 / 1000.0)
            });
            println!(
                "  {:>10.3} ms{until}  {}: {}",
                m.at as f64 / 1000.0,
                m.kind.name(),
                m.text
            );
        }
    }
    if !s.expectations.is_empty() {
        let failed = s.expectations_failed();
        println!(
            "expect     {} of {} hold{}",
            s.expectations.len() - failed,
            s.expectations.len(),
            if failed > 0 {
                " (an expectation failing is not an invariant violation: the run did not show what the scenario says it teaches)"
            } else {
                ""
            }
        );
        for x in &s.expectations {
            println!("  {}", expectation_line(x));
        }
    }
    if let Some(c) = &e.scenario().challenge {
        use quorumlab_sim::challenge::{state, State};
        let line = match state(e.scenario(), c.attempts, &s.expectations) {
            State::Solved => "solved".to_string(),
            State::NotAllowed(why) => format!("this attempt breaks the rules: {why}"),
            State::Running => "undecided".to_string(),
            State::NotYet {
                impossible: Some(why),
            } => format!("not solved, and it cannot be: {why}"),
            State::NotYet { impossible: None } => "not solved yet".to_string(),
        };
        println!("challenge  {}: {line}", c.goal);
    }
    let t = &s.totals;
    let pct = |x: Option<f64>| {
        x.map(|v| format!("{v:.1} ms"))
            .unwrap_or_else(|| "-".into())
    };
    println!(
        "clients    {} ops: {} ok, {} fail, {} unknown; availability {:.1}%, latency p50 {} p99 {}",
        t.invoked,
        t.ok,
        t.fail,
        t.info,
        t.availability * 100.0,
        pct(t.p50_ms),
        pct(t.p99_ms)
    );
    println!("network    {} messages, {} dropped", t.messages, t.dropped);
    if t.served > 0 || t.queue_peak > 0 {
        // `workload.capacity`: what the nodes' queues did, and what the load cost.
        let secs = (s.simulated_ms as f64 / 1000.0).max(1e-9);
        println!(
            "capacity   {} requests served, {} ({:.1}%, {:.0} ms of node time) for clients no longer waiting; {} turned away; longest queue {}",
            t.served,
            t.wasted,
            100.0 * t.wasted as f64 / t.served.max(1) as f64,
            t.wasted_ms,
            t.rejected,
            t.queue_peak
        );
        println!(
            "load       offered {:.1} ops/s, goodput {:.1} ops/s; {:.2} attempts and {:.1} messages per successful op",
            t.invoked as f64 / secs,
            t.ok as f64 / secs,
            t.attempts as f64 / t.invoked.max(1) as f64,
            t.messages as f64 / t.ok.max(1) as f64
        );
    }
    println!("nodes at the end:");
    for (i, (v, st)) in e.views().iter().zip(e.status()).enumerate() {
        match v {
            Some(v) => {
                let mut line = format!("  node {i}: {:<10}", v.role.label);
                if !v.epoch_label.is_empty() {
                    line.push_str(&format!(" {} {:<3}", v.epoch_label, v.term));
                }
                if let Some(l) = &v.log {
                    line.push_str(&format!(
                        " {} {:<5} applied {:<5}",
                        l.commit_label, l.commit_index, l.applied_index
                    ));
                }
                println!("{line} {}", v.last_change)
            }
            None => println!("  node {i}: {st:?}"),
        }
    }
    let log = e.log();
    if !log.is_empty() {
        println!("log (first {} of {}):", log.len().min(30), log.len());
        for l in log.iter().take(30) {
            println!("  {:>10.3} ms  {}", l.time as f64 / 1000.0, l.what);
        }
    }
    o
}

/// One expectation's outcome in a line: `ok   a leader within 1000 ms after 4500 ms
/// (at 4612.3 ms: node 2 leads, term 3)`.
pub fn expectation_line(x: &quorumlab_sim::expect::ExpectOutcome) -> String {
    use quorumlab_sim::expect::ExpectStatus;
    let mark = match x.status {
        ExpectStatus::Passed => "ok    ",
        ExpectStatus::Failed => "FAILED",
        ExpectStatus::Pending => "undecided",
    };
    let at = x
        .at_ms
        .map(|t| format!("at {t:.1} ms: "))
        .unwrap_or_default();
    let says = if x.says.is_empty() {
        String::new()
    } else {
        format!(" \"{}\"", x.says)
    };
    format!("{mark} {}{says} ({at}{})", x.what, x.detail)
}

pub fn check_line(c: &quorumlab_sim::run::Check) -> String {
    use quorumlab_sim::run::Check;
    match c {
        Check::Passed => "ok".into(),
        Check::Failed { detail, .. } => format!(
            "FAILED: {}",
            detail.trim_end().replace('\n', "\n           ")
        ),
        Check::Skipped { why } => format!("skipped ({why})"),
        Check::Unknown { why } => format!("unknown ({why})"),
    }
}

pub fn url(raw: &[String]) -> Result<i32, BadInput> {
    let a = Args::parse(raw, &["decode", "base"], &[])?;
    if let Some(link) = a.value("decode") {
        let s = url::decode(link).map_err(BadInput)?;
        println!("{}", s.to_json_pretty());
        return Ok(0);
    }
    let path = a.one_positional("SCENARIO file")?;
    let s = load_scenario(path)?;
    let base = a.value("base").unwrap_or("http://127.0.0.1:8080/");
    let base = base.split('#').next().unwrap_or(base);
    println!("{base}#{}", url::encode(&s));
    Ok(0)
}

/// How many marks of each kind, in the order kinds first appear.
fn marks_line(marks: &[quorumlab_sim::marks::Mark], listed: bool) -> String {
    let mut kinds: Vec<(&str, usize)> = Vec::new();
    for m in marks {
        match kinds.iter_mut().find(|k| k.0 == m.kind.name()) {
            Some(k) => k.1 += 1,
            None => kinds.push((m.kind.name(), 1)),
        }
    }
    if kinds.is_empty() {
        return "none".into();
    }
    let counts: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let hint = if listed { "" } else { " (--marks lists them)" };
    format!("{}{hint}", counts.join(", "))
}
