//! The bodies of the fuzz targets, one function per untrusted input of quorumlab.
//!
//! Each takes arbitrary bytes and must return: no panic, no hang, no unbounded memory.
//! Where an input is accepted, the functions also check the cheap promises that come
//! with it (a valid scenario survives its own JSON and its share link; a parsed history
//! survives its own JSON Lines); where it is refused, that the error says something.
//!
//! The `fuzz_targets/*.rs` binaries (cargo-fuzz, nightly) call these; so does
//! `tests/fuzz_seeds.rs` in the main workspace, on stable, with the committed seeds in
//! `fuzz/seeds/<target>/`, so CI runs every body without a fuzzer.

use quorumlab_core::{NodeView, Protocol};
use quorumlab_sim::check::{self as history, Format};
use quorumlab_sim::host::{Job, JobResult};
use quorumlab_sim::{registry, scenario, url, wire};

/// The page's `postMessage` command parser, compiled here from the page's own source
/// (the `web` crate is a Yew binary; this module is plain Rust).
#[path = "../../web/src/ui/embed.rs"]
#[allow(dead_code)]
pub mod embed;

/// A target's body.
pub type Body = fn(&[u8]);

/// Every target by name, for the seed test.
pub const TARGETS: &[(&str, Body)] = &[
    ("scenario", scenario),
    ("url", url),
    ("history_jsonl", history_jsonl),
    ("jepsen_log", jepsen_log),
    ("wire", wire),
    ("embed", embed),
];

/// A scenario file: parse and validate; a valid one must survive its JSON and its share
/// link unchanged, and build an engine without panicking.
pub fn scenario(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match scenario::load(&text) {
        Ok(s) => {
            let json = s.to_json();
            let again = scenario::load(&json).unwrap_or_else(|e| {
                panic!("a valid scenario's own JSON is refused: {e:?}\n{json}")
            });
            assert_eq!(again, s, "a valid scenario changes through its JSON");
            if json.len() <= url::MAX_JSON {
                let link = url::encode(&s);
                let back = url::decode(&link)
                    .unwrap_or_else(|e| panic!("a valid scenario's link is refused: {e}"));
                assert_eq!(back, s, "a valid scenario changes through its link");
            }
            // Building (not running) the engine: the validator must have caught whatever
            // would make it panic. An error is allowed.
            let _ = quorumlab_sim::build(&s, 1, 0);
        }
        Err(errs) => {
            assert!(!errs.is_empty(), "refused without a reason");
            assert!(errs.iter().all(|e| !e.message.is_empty()), "{errs:?}");
        }
    }
}

/// A share link pasted from anywhere (whole URL or fragment).
pub fn url(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Err(m) = url::decode(&text) {
        assert!(!m.is_empty());
    }
}

fn check_parsed(text: &str, r: &Result<history::Parsed, history::ParseError>) {
    match r {
        Ok(p) => {
            assert_eq!(p.lines.len(), p.history.events.len());
            assert!(p.lines.windows(2).all(|w| w[0] < w[1]), "{:?}", p.lines);
        }
        Err(e) => {
            assert!(!e.message.is_empty());
            assert!(
                e.line >= 1 && e.line <= text.lines().count().max(1),
                "line {} of {}: {}",
                e.line,
                text.lines().count(),
                e.message
            );
        }
    }
}

/// A history in the design's JSON Lines; an accepted one survives its own JSON Lines.
pub fn history_jsonl(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let r = history::parse(&text, Format::Jsonl);
    check_parsed(&text, &r);
    if let Ok(p) = r {
        let again = p.history.to_jsonl();
        let q = history::parse(&again, Format::Jsonl).unwrap_or_else(|e| {
            panic!("a parsed history's own JSON Lines are refused: {e}\n{again}")
        });
        assert_eq!(q.history, p.history);
    }
}

/// A Jepsen log.
pub fn jepsen_log(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let r = history::parse(&text, Format::JepsenLog);
    check_parsed(&text, &r);
}

fn decode_as<P: Protocol>(what: u8, bytes: &[u8]) {
    // Whatever decodes must encode again (the same build is on both ends).
    match what % 4 {
        0 => {
            if let Ok(v) = wire::from_slice::<Job<P>>(bytes) {
                let _ = wire::to_vec(&v);
            }
        }
        1 => {
            if let Ok(v) = wire::from_slice::<JobResult<P>>(bytes) {
                let _ = wire::to_vec(&v);
            }
        }
        2 => {
            if let Ok(v) = wire::from_slice::<P::Params>(bytes) {
                let _ = wire::to_vec(&v);
            }
        }
        _ => {
            if let Ok(v) = wire::from_slice::<NodeView>(bytes) {
                let _ = wire::to_vec(&v);
            }
        }
    }
}

/// Bytes crossing to or from a node worker: the first byte picks the protocol and what
/// is decoded (a `Job`, a `JobResult`, the protocol's parameters, a `NodeView`), the rest
/// is decoded with `wire`. Must be a value or an error.
pub fn wire(data: &[u8]) {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    struct Decode<'a> {
        what: u8,
        bytes: &'a [u8],
    }
    impl registry::Op for Decode<'_> {
        type Out = ();
        fn run<P: Protocol>(self, _: &'static registry::Listing) {
            decode_as::<P>(self.what, self.bytes)
        }
    }
    let names = registry::names();
    let name = names[sel as usize % names.len()];
    let what = (sel as usize / names.len()) as u8;
    let _ = registry::dispatch(name, Decode { what, bytes });
}

/// A `postMessage` command from whatever page embeds the playground.
pub fn embed(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    for n in [0, 5, scenario::MAX_NODES] {
        if let Err(m) = embed::parse(&v, n) {
            assert!(!m.is_empty());
        }
    }
}
