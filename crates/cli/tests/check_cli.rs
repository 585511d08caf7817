//! `quorumlab check` as a user runs it: the README's own example, the model it
//! detects, the verdict before the explanation, and what running out says.

use quorumlab_sim::check::gen::{self, shapes, GenSpec};
use quorumlab_sim::check::Model;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_quorumlab"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("quorumlab-check-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Run `quorumlab ARGS` in `dir`: exit code and standard output (and error).
fn run(dir: &Path, args: &[String]) -> (i32, String, String) {
    let out = bin().current_dir(dir).args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The arguments of the README's `cargo run ... -- SUBCOMMAND` line that contains
/// `needle`, with the scenarios directory made absolute.
fn readme_command(needle: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.contains("quorumlab-cli -- ") && l.contains(needle))
        .unwrap_or_else(|| panic!("the README has no command with {needle:?}"));
    let args = line.split_once(" -- ").unwrap().1;
    let args = args.split('#').next().unwrap();
    let scenarios = root().join("scenarios");
    args.split_whitespace()
        .map(|a| match a.strip_prefix("scenarios/") {
            Some(rest) => scenarios.join(rest).to_string_lossy().into_owned(),
            None => a.to_string(),
        })
        .collect()
}

#[test]
fn the_readme_example_works() {
    let dir = temp_dir("readme");
    let run_args = readme_command("--history h.jsonl");
    let check_args = readme_command("check h.jsonl");
    let (code, out, err) = run(&dir, &run_args);
    assert_eq!(code, 0, "{run_args:?}: {out}{err}");
    assert!(dir.join("h.jsonl").exists());
    let (code, out, err) = run(&dir, &check_args);
    assert_eq!(code, 0, "{check_args:?}: {out}{err}");
    assert!(out.starts_with("linearizable: "), "{out}");
    // It says which model it used: the data type the run recorded for Raft.
    assert!(
        out.contains("model cas-register (the data type the history names"),
        "{out}"
    );
    // Forcing the wrong model says what the history looks like.
    let mut forced = check_args.clone();
    forced.extend(["--model".to_string(), "kv".to_string()]);
    let (code, _, err) = run(&dir, &forced);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the history names the data type cas-register: leave out --model"),
        "{err}"
    );
}

fn write(dir: &Path, name: &str, h: &quorumlab_sim::history::History) -> String {
    let p = dir.join(name);
    std::fs::write(&p, h.to_jsonl()).unwrap();
    p.to_string_lossy().into_owned()
}

/// 100 clients on one key writing three values: the search cannot finish it in
/// the limits below.
fn hard(dir: &Path) -> String {
    let spec = GenSpec {
        model: Model::Register,
        clients: 100,
        ops: 3000,
        keys: 1,
        max_latency: 3000,
        max_think: 100,
        unknown_per_mille: 50,
    };
    let h = gen::squash_values(gen::linearizable_history(&spec, 1), 5);
    write(dir, "hard.jsonl", &h)
}

fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn running_out_names_the_limit_and_the_option() {
    let dir = temp_dir("limits");
    let f = hard(&dir);
    let (code, out, _) = run(&dir, &args(&["check", &f, "--memory-mib", "1"]));
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("the memory cap ran out"), "{out}");
    assert!(out.contains("raise --memory-mib (now 1)"), "{out}");
    assert!(out.contains("1 of 1 keys undecided: \"k0\""), "{out}");
    assert!(!out.contains("--budget-ms"), "{out}");
    let (code, out, _) = run(&dir, &args(&["check", &f, "--budget-ms", "1"]));
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("the time budget ran out"), "{out}");
    assert!(out.contains("raise --budget-ms (now 1)"), "{out}");
    let (code, out, _) = run(
        &dir,
        &args(&["check", &f, "--memory-mib", "1", "--json", "--threads", "2"]),
    );
    assert_eq!(code, 3, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "unknown");
    assert_eq!(v["limit"], "memory");
    assert_eq!(v["undecided"], serde_json::json!(["k0"]));
}

#[test]
fn the_verdict_is_printed_before_the_explanation() {
    let dir = temp_dir("verdict");
    let f = write(&dir, "bad.jsonl", &shapes::many_keys_one_bad(1));
    for threads in ["1", "2"] {
        let (code, out, _) = run(&dir, &args(&["check", &f, "--threads", threads]));
        assert_eq!(code, 1, "{out}");
        let first = out.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("not linearizable on key \"k9\": "),
            "{out}"
        );
        assert!(out.contains("no operation ever wrote"), "{out}");
        assert!(
            out.trim_end()
                .lines()
                .last()
                .unwrap()
                .starts_with("explained in"),
            "{out}"
        );
    }
}

/// A history names its data type on its first line (as `quorumlab run --history`
/// writes it): the check takes that model, and refuses operations of another type,
/// naming the field; a file without the line is checked as before.
#[test]
fn the_data_type_a_history_names_is_its_model() {
    let dir = temp_dir("data-type");
    let spec = GenSpec {
        model: Model::CasRegister,
        clients: 4,
        ops: 200,
        keys: 2,
        max_latency: 300,
        max_think: 100,
        unknown_per_mille: 20,
    };
    let mut h = gen::linearizable_history(&spec, 3);
    let old = write(&dir, "old.jsonl", &h);
    let (code, out, err) = run(&dir, &args(&["check", &old]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("model cas-register (detected from the history"),
        "{out}"
    );

    h.data_type = Some("cas-register".into());
    let named = write(&dir, "named.jsonl", &h);
    let (code, out, err) = run(&dir, &args(&["check", &named]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("model cas-register (the data type the history names"),
        "{out}"
    );

    h.data_type = Some("lock".into());
    let lock = write(&dir, "lock.jsonl", &h);
    let (code, out, err) = run(&dir, &args(&["check", &lock]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("line 2: field \"f\": "), "{err}");
    assert!(
        err.contains("is not an operation of the lock model"),
        "{err}"
    );
    assert!(
        err.contains("the history's first line names the data type lock"),
        "{err}"
    );
    // --model still forces another.
    let (code, out, err) = run(&dir, &args(&["check", &lock, "--model", "cas-register"]));
    assert_eq!(code, 0, "{out}{err}");
}
