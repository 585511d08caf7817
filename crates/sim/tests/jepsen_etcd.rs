//! The Jepsen etcd corpus (`tests/data/jepsen-etcd`, from Porcupine's test data): the
//! checker must agree with every published verdict.

use quorumlab_sim::check::{self, FailedCas, Model, Options, Verdict};
use std::path::PathBuf;
use std::time::Instant;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/jepsen-etcd")
}

fn name(v: &Verdict) -> &'static str {
    match v {
        Verdict::Linearizable => "linearizable",
        Verdict::NotLinearizable(_) => "not-linearizable",
        Verdict::Unknown { .. } => "unknown",
    }
}

fn run_corpus(failed_cas: FailedCas) -> (usize, Vec<String>) {
    let dir = corpus();
    let tsv = std::fs::read_to_string(dir.join("verdicts.tsv")).expect("verdicts.tsv");
    let mut checked = 0;
    let mut wrong = Vec::new();
    let t0 = Instant::now();
    for row in tsv.lines().skip(1) {
        let (file, expect) = row.split_once('\t').expect("file<TAB>verdict");
        let text = std::fs::read_to_string(dir.join(file)).expect("log");
        let parsed = check::parse_jepsen_log(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut opts = Options::new(Model::CasRegister);
        opts.failed_cas = failed_cas;
        // Generous, but a hang must fail the test rather than stall it.
        opts.max_steps = Some(50_000_000);
        let (v, _) = check::check_parsed(&parsed, &opts, &mut || false)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        if let Verdict::NotLinearizable(ex) = &v {
            assert!(
                !ex.ops.is_empty() && ex.ops.iter().any(|o| o.stuck),
                "{file}"
            );
        }
        if expect == "unknown" {
            continue;
        }
        checked += 1;
        if name(&v) != expect {
            wrong.push(format!("{file}: got {}, published {expect}", name(&v)));
        }
    }
    eprintln!(
        "jepsen etcd corpus ({failed_cas:?}): {checked} published verdicts checked in {:.3} s",
        t0.elapsed().as_secs_f64()
    );
    (checked, wrong)
}

#[test]
fn agrees_with_every_published_verdict() {
    let (checked, wrong) = run_corpus(check::JEPSEN_FAILED_CAS);
    assert_eq!(checked, 102);
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Reading a failed cas as "compared and found another value" (Porcupine's reading)
/// gives the same verdicts: the corpus does not depend on the choice.
#[test]
fn failed_cas_reading_does_not_change_verdicts() {
    let (_, wrong) = run_corpus(FailedCas::CompareFailed);
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn empty_history_is_linearizable() {
    let text = std::fs::read_to_string(corpus().join("etcd_095.log")).expect("log");
    let p = check::parse_jepsen_log(&text).expect("parses");
    let (v, _) =
        check::check_parsed(&p, &Options::new(Model::CasRegister), &mut || false).expect("checks");
    assert_eq!(v, Verdict::Linearizable);
}
