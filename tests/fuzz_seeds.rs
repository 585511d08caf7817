//! The fuzz targets' bodies (`fuzz/src/lib.rs`) on stable, without a fuzzer: every
//! committed seed (`fuzz/seeds/<target>/`) and every regression input
//! (`fuzz/regressions/<target>/`, inputs fuzzing once found) goes through the very
//! function its fuzz target calls. See `fuzz/README.md`.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod fuzz;

use std::path::Path;

fn inputs(dir: &str, target: &str) -> Vec<(String, Vec<u8>)> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(dir)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&d) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

fn feed(dir: &str, target: &str) -> usize {
    let (_, body) = fuzz::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .expect("a known target");
    let all = inputs(dir, target);
    for (path, bytes) in &all {
        let r = std::panic::catch_unwind(|| body(bytes));
        assert!(r.is_ok(), "{target}: {path} panics");
    }
    all.len()
}

#[test]
fn every_target_takes_its_seeds() {
    for (target, _) in fuzz::TARGETS {
        let n = feed("seeds", target);
        assert!(n >= 5, "{target}: only {n} seeds in fuzz/seeds/{target}");
    }
}

#[test]
fn every_target_takes_its_regressions() {
    for (target, _) in fuzz::TARGETS {
        feed("regressions", target);
    }
}

/// Edge inputs every body must take.
#[test]
fn every_target_takes_empty_and_odd_input() {
    for (_, body) in fuzz::TARGETS {
        for bytes in [
            &b""[..],
            b"\0",
            b"\xff\xfe",
            b"{}",
            b"[]",
            b"null",
            b"#1.",
            b"\n\n\n",
        ] {
            body(bytes);
        }
    }
}

/// What `web/src/ui/embed.rs`'s own unit tests (compiled here with it) refer to.
mod ui {
    pub mod gallery {
        pub const DEFAULT_JSON: &str = include_str!("../scenarios/raft-first-election.json");
    }
}
