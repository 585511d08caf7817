//! Messages describe themselves: every protocol's flights, as the page draws them,
//! carry a label with what matters in the message, not only its kind.

use quorumlab_sim::{registry, scenario};
use std::collections::BTreeSet;

fn preset(name: &str) -> String {
    let path = format!("{}/../../scenarios/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_protocols_messages_are_labelled_by_their_content() {
    for e in registry::entries() {
        let name = e.listing.presets[0];
        let s = scenario::load(&preset(name)).unwrap_or_else(|err| panic!("{name}: {err:?}"));
        let mut eng = quorumlab_sim::build(&s, 1, usize::MAX).expect("builds");
        eng.run_to_end();
        let flights = eng.flights();
        assert!(!flights.is_empty(), "{name}: no messages");
        let kinds: BTreeSet<&str> = flights.iter().map(|f| f.kind.as_str()).collect();
        let labels: BTreeSet<&str> = flights.iter().map(|f| f.label.as_str()).collect();
        assert!(
            labels.len() > kinds.len() + 3,
            "{name}: labels say little more than the kinds: {labels:?}"
        );
        let numbered = flights
            .iter()
            .filter(|f| f.label.bytes().any(|b| b.is_ascii_digit()))
            .count();
        assert_eq!(numbered, flights.len(), "{name}: a label without a number");
        // What each protocol's labels must show.
        let want: &[&str] = match e.name {
            "raft" => &[
                "append ",
                "heartbeat t",
                "vote-reply t",
                "prevote-reply no t",
            ],
            "multi-paxos" => &["accept ", "accepted ", "promise b", "heartbeat b"],
            "paxos" => &["prepare b", "promise b", "accept b"],
            "primary-backup" => &["ping e", "append e", "ack e"],
            "quorum-kv" => &["put k", "put-ack #", "get-reply ", "digest "],
            "lock" => &["acquire #", "granted t", "write t"],
            "sharded-raft" => &["append ", "forward #", "answer #", "handoff s"],
            _ => &["heartbeat #"],
        };
        for w in want {
            assert!(
                labels.iter().any(|l| l.starts_with(w)),
                "{name}: no label starting {w:?} among {:?}",
                labels.iter().take(40).collect::<Vec<_>>()
            );
        }
        if e.name == "raft" {
            // A batch of entries reads as a range, with the term and commit index.
            let a = labels
                .iter()
                .find(|l| l.starts_with("append ") && l.contains(" t") && l.contains(" c"));
            assert!(a.is_some(), "{labels:?}");
        }
    }
}
