//! `cargo xtask`: the project's automation, std-only so a fresh machine compiles it in
//! seconds.
//!
//! - `cargo xtask serve [--port N]`: install what is missing, build the page, serve it.
//! - `cargo xtask test`: install what is missing, then fmt, clippy, tests, the WASM build
//!   and the real-browser tests; ends with `N passed, N failed`.
//! - `cargo xtask dist`: release build of the page into `dist/`, with a size budget.
//! - `cargo xtask bench`: the CLI's benchmark.
//! - `cargo xtask fuzz [TARGET] [--time S]`: the cargo-fuzz targets of `fuzz/` (nightly).

mod dist;
mod tools;
mod util;

use std::process::ExitCode;
use std::time::Instant;
use util::{fmt_duration, Fail};

const USAGE: &str = "\
usage: cargo xtask <command>

  serve [--port N]   install what is missing, build the page and serve it
                     on http://127.0.0.1:8080 (or port N)
  test               install what is missing, then: cargo fmt --check, clippy,
                     cargo test --release, the WASM build (dist) and the browser tests
  dist               release build of the page into dist/ (works from any sub-path),
                     with sizes and the gzip budget
  engines            (Trunk's post-build hook) the page's engine modules, one per
                     protocol, into Trunk's staging directory
  bench              cargo run --release -p quorumlab-cli -- bench
  fuzz [TARGET] [--time S]
                     run a fuzz target of fuzz/ (or each in turn) for S seconds
                     (default 300) with cargo-fuzz on nightly: fuzz/README.md";

const DEFAULT_PORT: u16 = 8080;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => parse_port(&args[1..]).and_then(serve),
        Some("test") => no_more_args(&args[1..]).and_then(|()| test()),
        Some("dist") => no_more_args(&args[1..]).and_then(|()| dist_command()),
        Some("bench") => bench(&args[1..]),
        Some("engines") => no_more_args(&args[1..]).and_then(|()| dist::engines_for_trunk()),
        Some("fuzz") => fuzz(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(Fail::new(format!("unknown command `{other}`\n\n{USAGE}"))),
        None => Err(Fail::new(USAGE)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(fail) => {
            eprintln!("\nxtask: {fail}");
            ExitCode::FAILURE
        }
    }
}

fn no_more_args(rest: &[String]) -> Result<(), Fail> {
    match rest.first() {
        None => Ok(()),
        Some(arg) => Err(Fail::new(format!("unexpected argument `{arg}`\n\n{USAGE}"))),
    }
}

fn parse_port(rest: &[String]) -> Result<u16, Fail> {
    let mut port = DEFAULT_PORT;
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        let value = if arg == "--port" || arg == "-p" {
            it.next()
                .ok_or_else(|| Fail::new("`--port` needs a number, e.g. `--port 8081`"))?
                .as_str()
        } else if let Some(v) = arg.strip_prefix("--port=") {
            v
        } else {
            return Err(Fail::new(format!("unexpected argument `{arg}`\n\n{USAGE}")));
        };
        port = value
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| Fail::new(format!("`{value}` is not a port number (1 to 65535)")))?;
    }
    Ok(port)
}

/// The tools every WASM build needs.
fn ensure_web_tools() -> Result<(), Fail> {
    tools::ensure_wasm_target()?;
    tools::ensure_wasm_bindgen()?;
    tools::ensure_trunk()?;
    tools::ensure_mdbook()?;
    tools::ensure_wasm_opt()?;
    // Trunk.toml says `offline = true`, which also makes Trunk run cargo offline.
    util::cargo(&["fetch"]).run()
}

fn serve(port: u16) -> Result<(), Fail> {
    util::check_port_free(port)?;
    ensure_web_tools()?;
    util::check_port_free(port)?;
    let url = format!("http://127.0.0.1:{port}/");
    println!("\nxtask: building and serving quorumlab at {url} (Ctrl-C to stop)");
    println!("xtask: the first build takes a minute or two; the page reloads on changes\n");
    let port_text = port.to_string();
    util::tool(
        "trunk",
        &[
            "serve",
            "--skip-version-check",
            "--disable-address-lookup",
            "--address",
            "127.0.0.1",
            "--port",
            &port_text,
        ],
    )
    .run()
}

fn dist_command() -> Result<(), Fail> {
    ensure_web_tools()?;
    dist::build_and_report()
}

/// The fuzz targets (`fuzz/fuzz_targets/*.rs`).
const FUZZ_TARGETS: &[&str] = &[
    "scenario",
    "url",
    "history_jsonl",
    "jepsen_log",
    "wire",
    "embed",
];

/// `cargo xtask fuzz [TARGET] [--time S]`: `fuzz/run.sh` for one target, or each in turn.
fn fuzz(rest: &[String]) -> Result<(), Fail> {
    let mut target = None;
    let mut secs = 300u64;
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        if arg == "--time" {
            let v = it
                .next()
                .ok_or_else(|| Fail::new("`--time` needs a number of seconds"))?;
            secs = v
                .parse()
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| Fail::new(format!("`{v}` is not a number of seconds")))?;
        } else if FUZZ_TARGETS.contains(&arg.as_str()) && target.is_none() {
            target = Some(arg.clone());
        } else {
            return Err(Fail::new(format!(
                "unexpected argument `{arg}` (targets: {})\n\n{USAGE}",
                FUZZ_TARGETS.join(", ")
            )));
        }
    }
    let targets: Vec<String> = match target {
        Some(t) => vec![t],
        None => FUZZ_TARGETS.iter().map(|t| t.to_string()).collect(),
    };
    let script = util::root().join("fuzz/run.sh");
    let script = script.to_string_lossy().into_owned();
    let secs = secs.to_string();
    for t in &targets {
        println!("xtask: fuzzing `{t}` for {secs} s (fuzz/run.sh; output in fuzz/fuzz-0.log)");
        util::tool("sh", &[&script, t, &secs]).run()?;
    }
    Ok(())
}

fn bench(rest: &[String]) -> Result<(), Fail> {
    let mut args = vec!["run", "--release", "-p", "quorumlab-cli", "--", "bench"];
    args.extend(rest.iter().map(String::as_str));
    util::cargo(&args).run().map_err(|fail| {
        Fail::new(format!(
            "{fail}\nthe CLI's `bench` command failed; it may not be implemented yet (crates/cli)"
        ))
    })
}

/// One step of `cargo xtask test`.
struct Step {
    name: &'static str,
    /// Steps that must have passed for this one to be worth running.
    needs: &'static [&'static str],
    run: fn() -> Result<(), Fail>,
}

fn test() -> Result<(), Fail> {
    let steps = [
        Step {
            name: "install tools",
            needs: &[],
            run: || {
                tools::ensure_rust_components()?;
                ensure_web_tools()?;
                tools::ensure_chromium()?;
                tools::ensure_node_modules()
            },
        },
        Step {
            name: "cargo fmt --all --check",
            needs: &[],
            run: || util::cargo(&["fmt", "--all", "--check"]).run(),
        },
        Step {
            name: "cargo clippy --workspace --all-targets -- -D warnings",
            needs: &[],
            run: || {
                util::cargo(&[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ])
                .run()
            },
        },
        Step {
            // The browser-only code is compiled out natively, so lint it for wasm32 too
            // (--no-deps: the other crates are linted by the step before).
            name: "cargo clippy (wasm32: quorumlab-web, quorumlab-worker, quorumlab-engines) -- -D warnings",
            needs: &["install tools"],
            run: || {
                util::cargo(&[
                    "clippy",
                    "--no-deps",
                    "--target",
                    tools::WASM_TARGET,
                    "-p",
                    "quorumlab-web",
                    "-p",
                    "quorumlab-worker",
                    "-p",
                    "quorumlab-engines",
                    "--",
                    "-D",
                    "warnings",
                ])
                .run()
            },
        },
        Step {
            // --no-fail-fast: report every failing test binary, not just the first.
            name: "cargo test --workspace --release",
            needs: &[],
            run: || util::cargo(&["test", "--workspace", "--release", "--no-fail-fast"]).run(),
        },
        Step {
            name: "dist (WASM build, size budget)",
            needs: &["install tools"],
            run: dist::build_and_report,
        },
        Step {
            name: "browser tests (tests/e2e)",
            needs: &["install tools", "dist (WASM build, size budget)"],
            run: || {
                util::tool("node", &["--test", "--test-reporter=spec"])
                    .dir(util::root().join("tests/e2e"))
                    .run()
            },
        },
    ];

    let total_start = Instant::now();
    let mut results: Vec<(&str, Result<std::time::Duration, String>)> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        println!("\n==> [{}/{}] {}", i + 1, steps.len(), step.name);
        let missing: Vec<&str> = step
            .needs
            .iter()
            .copied()
            .filter(|need| !results.iter().any(|(n, r)| n == need && r.is_ok()))
            .collect();
        if !missing.is_empty() {
            let why = format!("skipped: needs {}", missing.join(", "));
            println!("<== {}: {why}", step.name);
            results.push((step.name, Err(why)));
            continue;
        }
        let start = Instant::now();
        let outcome = (step.run)();
        let took = start.elapsed();
        match outcome {
            Ok(()) => {
                println!("<== {}: passed in {}", step.name, fmt_duration(took));
                results.push((step.name, Ok(took)));
            }
            Err(fail) => {
                eprintln!("xtask: {fail}");
                println!("<== {}: FAILED after {}", step.name, fmt_duration(took));
                results.push((
                    step.name,
                    Err(format!("failed after {}", fmt_duration(took))),
                ));
            }
        }
    }

    println!(
        "\nSummary ({} in all):",
        fmt_duration(total_start.elapsed())
    );
    for (name, result) in &results {
        match result {
            Ok(took) => println!("  ok      {:>8}  {name}", fmt_duration(*took)),
            Err(why) => println!("  FAILED  {:>8}  {name} ({why})", ""),
        }
    }
    let passed = results.iter().filter(|(_, r)| r.is_ok()).count();
    let failed = results.len() - passed;
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        Ok(())
    } else {
        Err(Fail::new(format!(
            "{failed} of {} steps failed",
            results.len()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ports_are_parsed() {
        assert_eq!(parse_port(&args(&[])).unwrap(), 8080);
        assert_eq!(parse_port(&args(&["--port", "9000"])).unwrap(), 9000);
        assert_eq!(parse_port(&args(&["--port=9001"])).unwrap(), 9001);
        assert!(parse_port(&args(&["--port"])).is_err());
        assert!(parse_port(&args(&["--port", "0"])).is_err());
        assert!(parse_port(&args(&["--port", "70000"])).is_err());
        assert!(parse_port(&args(&["--open"])).is_err());
    }
}

#[cfg(test)]
mod fuzz_tests {
    #[test]
    fn the_fuzz_targets_are_those_of_fuzz_targets_dir() {
        let mut found: Vec<String> =
            std::fs::read_dir(crate::util::root().join("fuzz/fuzz_targets"))
                .unwrap()
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .strip_suffix(".rs")
                        .map(str::to_string)
                })
                .collect();
        found.sort();
        let mut listed: Vec<String> = super::FUZZ_TARGETS.iter().map(|t| t.to_string()).collect();
        listed.sort();
        assert_eq!(found, listed);
    }
}
