//! `quorumlab`: run, explore, check, bench and share scenarios from the command line.

/// `println!` for output that may go into a pipe: a closed pipe (`| head`) ends the
/// program quietly instead of panicking.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout().lock(), $($t)*).is_err() {
            std::process::exit(0);
        }
    }};
}

mod args;
mod bench;
mod check;
mod compare;
mod determinism;
mod explore;
mod protocols;
mod run;
mod threads;

use std::process::ExitCode;

const USAGE: &str = "\
quorumlab: a deterministic distributed-systems playground, headless

usage:
  quorumlab run SCENARIO [--seed N] [--nemesis] [--faults F.json|none] [--budget-ms N] [--trace FILE] [--history FILE] [--marks] [--json]
  quorumlab run SCENARIO|--protocol NAME --swarm-seed N [--swarm-unsafe] [--scenario-out FILE] [...]
  quorumlab explore SCENARIO --seeds N [--nemesis] [--start N] [--threads N] [--budget-ms N] [--allow-unknown] [--json]
  quorumlab explore SCENARIO|--protocol NAME --swarm --seeds N [--swarm-unsafe] [...]
  quorumlab determinism --scenarios N [--start N] [--threads N] [--json] [--print]   random scenarios, every runtime agrees
  quorumlab compare A.json B.json [C.json ...] [--seeds N] [--start N] [--faults F.json|none] [--format md|csv|json] [--threads N] [--budget-ms N]
            the same seeds (and with --faults the same faults) for every configuration: each figure as a mean with its 95% interval
  quorumlab check HISTORY [--model register|cas-register|kv|lock] [--format jsonl|jepsen-log] [--budget-ms N] [--memory-mib N] [--threads N] [--json]
  quorumlab url SCENARIO [--base URL] | quorumlab url --decode URL
  quorumlab bench [--quick] [--threads] [--checker] [SCENARIO]
  quorumlab protocols [NAME...] [--brief] [--json]   the protocols, their parameters and presets

SCENARIO is a scenario file (see docs/scenario-format.md), or - for standard input.
--budget-ms bounds the linearizability check of each run (default 10000 for run and
explore); when it runs out the verdict is unknown, which is never counted as a pass.
explore lists the seeds left unknown with their commands; --allow-unknown accepts them.
--swarm draws, per seed, the nemesis's fault kinds and pace, network and workload rates,
the node count and the protocol's parameters on top of the scenario (seeded bugs and
blank-disk restarts only with --swarm-unsafe); run --swarm-seed N redraws seed N's
scenario exactly, and --scenario-out FILE writes it.
exit codes: 0 fine; 1 a violation (an invariant, convergence, or a history that is not
linearizable); 2 bad input; 3 no violation, but a verdict left unknown (the checker ran
out of time or memory; explore: some seed, unless --allow-unknown)";

/// Bad input: exit code 2 with a message.
pub struct BadInput(pub String);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or(&[]);
    let result = match args.first().map(String::as_str) {
        Some("run") => run::main(rest),
        Some("explore") => explore::main(rest),
        Some("url") => run::url(rest),
        Some("bench") => bench::main(rest),
        Some("protocols") => protocols::main(rest),
        Some("check") => Ok(check::main(rest)),
        Some("compare") => compare::main(rest),
        Some("determinism") => determinism::main(rest),
        Some("-h") | Some("--help") | Some("help") => {
            println!("{USAGE}");
            Ok(0)
        }
        Some("--version") | Some("-V") => {
            println!("quorumlab {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        Some(other) => Err(BadInput(format!("unknown command `{other}`\n\n{USAGE}"))),
        None => Err(BadInput(USAGE.to_string())),
    };
    let code = match result {
        Ok(c) => c,
        Err(BadInput(msg)) => {
            eprintln!("quorumlab: {msg}");
            2
        }
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}
