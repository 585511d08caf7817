//! `quorumlab`: run, explore, check, bench and share scenarios from the command line.

mod check;

use std::process::ExitCode;

const USAGE: &str = "\
quorumlab: a deterministic distributed-systems playground, headless

usage:
  quorumlab run SCENARIO [--seed N] [--trace FILE] [--history FILE] [--json]
  quorumlab explore SCENARIO --seeds N [--nemesis] [--start N] [--threads N]
  quorumlab check HISTORY [--model register|cas-register|kv] [--format jsonl|jepsen-log] [--budget-ms N] [--json]
  quorumlab url SCENARIO | quorumlab url --decode URL
  quorumlab bench

exit codes: 0 fine, 1 a violation (invariant, or history not linearizable), 2 bad input";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("check") => check::main(&args[1..]),
        Some("-h") | Some("--help") | Some("help") => {
            println!("{USAGE}");
            0
        }
        Some(other) => {
            eprintln!("quorumlab: unknown command `{other}`\n\n{USAGE}");
            2
        }
        None => {
            eprintln!("{USAGE}");
            2
        }
    };
    ExitCode::from(code as u8)
}
