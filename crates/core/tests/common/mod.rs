//! The golden-transcript format the protocols' scripted tests share: a script is blocks
//! of a command line, a `----` line and the expected output, with `#` comments between
//! them. A protocol's test (its driver) supplies the cluster that runs the commands: a
//! [`Transcript`] built on a [`Net`] (`net.rs`), with the helpers below for the words
//! and values every driver reads and writes alike.
// Each driver is a test binary of its own and uses only some of what is here.
#![allow(dead_code)]

mod net;

pub use net::Net;
use quorumlab_core::{
    ClientRequest, LogEntryView, NodeId, NodeView, Op, Outcome, ProgressView, Protocol, Time, Val,
    MS,
};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A scripted cluster of one protocol: a [`Net`], and what that protocol's transcripts
/// need beyond it. Each command line goes first to [`net::shared_command`] (`deliver`,
/// `drop`, `crash`, `restart`, `partition`, `heal` and `status`, alike in every
/// transcript), then, if it is none of those, to the driver's own
/// [`Transcript::command`]. What a command prints goes to the net's `out`.
pub trait Transcript: Sized {
    type P: Protocol;
    fn new() -> Self;
    fn net(&mut self) -> &mut Net<Self::P>;
    /// Run one of the protocol's own commands (panic on one it does not know).
    fn command(&mut self, line: &str);
    /// Node `to` handles message `m` from `from` (the net has printed it, and it arrives).
    fn receive(&mut self, from: NodeId, to: NodeId, m: <Self::P as Protocol>::Msg);
    /// `restart I [--no-disk]`: boot node `i` again, from its disk if `keep_disk`.
    fn restart(&mut self, i: NodeId, keep_disk: bool);
    /// The lines `status` prints for node `i`, up or down.
    fn status(&mut self, i: NodeId);

    /// Hand message `m` to node `to`, unless it is down or across the partition.
    fn deliver(&mut self, from: NodeId, to: NodeId, m: <Self::P as Protocol>::Msg) {
        if self.net().arrives(from, to, &m) {
            self.receive(from, to, m);
        }
    }
}

/// The parts of a node's generic view that the transcripts print, flattened into the
/// shape they were written against (so the transcripts read the same as before the view
/// became generic).
pub struct Flat {
    pub role: String,
    pub term: u64,
    pub voted_for: Option<NodeId>,
    pub leader: Option<NodeId>,
    pub members: Vec<NodeId>,
    pub log: Vec<LogEntryView>,
    pub snapshot_index: u64,
    pub commit_index: u64,
    pub applied_index: u64,
    pub kv: BTreeMap<String, quorumlab_core::Val>,
    pub progress: Vec<ProgressView>,
    pub last_change: String,
    /// Every field but `voted for` and `leader` (`primary`).
    pub notes: Vec<(String, String)>,
}

impl From<NodeView> for Flat {
    fn from(v: NodeView) -> Self {
        let node = |label: &str| v.field(label).and_then(|x| x.parse().ok());
        // Primary-backup calls its leader the primary.
        let (voted_for, leader) = (node("voted for"), node("leader").or(node("primary")));
        let (commit_index, applied_index, snapshot_index) =
            (v.commit_index(), v.applied_index(), v.snapshot_index());
        let kv = v.kv().clone();
        let (log, progress) = v.log.map(|l| (l.entries, l.progress)).unwrap_or_default();
        Flat {
            role: v.role.label,
            term: v.term,
            voted_for,
            leader,
            members: v.members,
            log,
            snapshot_index,
            commit_index,
            applied_index,
            kv,
            progress,
            last_change: v.last_change,
            notes: v
                .fields
                .into_iter()
                .filter(|(k, _)| k != "voted for" && k != "leader" && k != "primary")
                .collect(),
        }
    }
}

impl Flat {
    /// The field labelled `label`, `-` if the node has none.
    pub fn note(&self, label: &str) -> &str {
        self.notes
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, x)| x.as_str())
            .unwrap_or("-")
    }
}

/// Word `k` of a command line as a number (a node id, a count, milliseconds).
pub fn num(line: &str, k: usize) -> u32 {
    line.split_whitespace()
        .nth(k)
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("`{line}`: argument {k}"))
}

/// `add-nodes N name=value ...`: protocol parameters from the `name=value` words (a
/// value that does not read as JSON is a string), the others at their defaults.
pub fn params<P: Protocol>(words: &[&str]) -> P::Params {
    let mut obj = serde_json::Map::new();
    for w in words {
        let (k, v) = w.split_once('=').expect("param=value");
        let v = serde_json::from_str(v).unwrap_or(serde_json::Value::String(v.to_string()));
        obj.insert(k.to_string(), v);
    }
    serde_json::from_value(serde_json::Value::Object(obj)).expect("valid params")
}

/// Fail the test if `params` make no sense for the protocol on `nodes` nodes.
pub fn assert_sound<P: Protocol>(params: &P::Params, nodes: usize) {
    let problems: Vec<String> = P::param_problems(params)
        .into_iter()
        .chain(P::cluster_problems(params, nodes))
        .map(|(f, m)| format!("{f}: {m}"))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("; "));
}

/// The sequence number each client of a script used last.
#[derive(Default)]
pub struct Clients {
    seqs: BTreeMap<u32, u64>,
}

impl Clients {
    /// A client request from a command's words after the node id: the operation
    /// (`x=4`, `read x`, `cas x 4 5`), then perhaps `client=C` (else client 1) and
    /// `seq=S` (else the client's next; naming an old one makes a retry).
    pub fn request(&mut self, words: &[&str]) -> ClientRequest {
        let (mut client, mut seq, mut rest) = (1, None, Vec::new());
        for w in words {
            if let Some(c) = w.strip_prefix("client=") {
                client = c.parse().expect("client");
            } else if let Some(s) = w.strip_prefix("seq=") {
                seq = Some(s.parse().expect("seq"));
            } else {
                rest.push(*w);
            }
        }
        let op = match rest.as_slice() {
            ["read", k] => Op::Read { key: k.to_string() },
            ["cas", k, e, n] => Op::Cas {
                key: k.to_string(),
                expect: e.parse().expect("int"),
                new: n.parse().expect("int"),
            },
            [kv] => {
                let (k, v) = kv.split_once('=').expect("k=v");
                Op::Write {
                    key: k.to_string(),
                    value: v.parse().expect("int"),
                }
            }
            _ => panic!("`{}`: bad op", words.join(" ")),
        };
        let next = self.seqs.entry(client).or_insert(0);
        let seq = seq.unwrap_or(*next + 1);
        *next = (*next).max(seq);
        ClientRequest { client, seq, op }
    }
}

/// A set of nodes: `{0,1,2}`.
pub fn set(m: &[NodeId]) -> String {
    let v: Vec<String> = m.iter().map(|x| x.to_string()).collect();
    format!("{{{}}}", v.join(","))
}

/// A key-value map: `{x=1 y=2}`.
pub fn kv<'a>(m: impl IntoIterator<Item = (&'a String, &'a Val)>) -> String {
    let v: Vec<String> = m.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", v.join(" "))
}

/// A time in milliseconds, with µs only when there are some: `12`, `12.500`.
pub fn ms(t: Time) -> String {
    if t.is_multiple_of(MS) {
        format!("{}", t / MS)
    } else {
        format!("{}.{:03}", t / MS, t % MS)
    }
}

/// A client's outcome as most transcripts write it; a driver that words some case its
/// own way (a redirect, say) matches that case first and leaves the others to this.
pub fn outcome(o: &Outcome) -> String {
    match o {
        Outcome::Ok { value: None } => "ok".into(),
        Outcome::Ok { value: Some(v) } => format!("ok value={v}"),
        Outcome::Fail { reason } => format!("fail: {reason}"),
        Outcome::Redirect {
            leader: Some(l), ..
        } => format!("redirect to {l}"),
        Outcome::Redirect { leader: None, .. } => "redirect (no leader known)".into(),
        Outcome::Unknown { reason } => format!("unknown: {reason}"),
    }
}

struct Block {
    comments: Vec<String>,
    command: String,
    expected: String,
}

fn parse(text: &str) -> (Vec<Block>, Vec<String>) {
    let mut blocks = Vec::new();
    let mut comments = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        if l.trim().is_empty() {
            if !comments.is_empty() {
                comments.push(String::new());
            }
            continue;
        }
        if l.starts_with('#') {
            comments.push(l.to_string());
            continue;
        }
        let command = l.to_string();
        let sep = lines.next().unwrap_or("");
        assert_eq!(sep, "----", "expected ---- after `{command}`");
        let mut expected = String::new();
        while let Some(o) = lines.peek() {
            if o.trim().is_empty() {
                break;
            }
            expected.push_str(o);
            expected.push('\n');
            lines.next();
        }
        blocks.push(Block {
            comments: std::mem::take(&mut comments),
            command,
            expected,
        });
    }
    (blocks, comments)
}

fn run_file<C: Transcript>(path: &Path, update: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(path).expect("readable");
    let (blocks, trailing) = parse(&text);
    let mut c = C::new();
    let mut rewritten = String::new();
    let mut failures = Vec::new();
    for b in &blocks {
        c.net().out.clear();
        if !net::shared_command(&mut c, &b.command) {
            c.command(&b.command);
        }
        let out = &mut c.net().out;
        if out.is_empty() {
            out.push_str("ok\n");
        }
        let out = out.clone();
        if out != b.expected {
            failures.push(format!(
                "`{}`:\n--- expected\n{}--- actual\n{}",
                b.command, b.expected, out
            ));
        }
        for l in &b.comments {
            rewritten.push_str(l);
            rewritten.push('\n');
        }
        let _ = write!(rewritten, "{}\n----\n{}\n", b.command, out);
    }
    for l in &trailing {
        rewritten.push_str(l);
        rewritten.push('\n');
    }
    if update {
        std::fs::write(path, rewritten.trim_end().to_string() + "\n").expect("writable");
        return Ok(());
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}: {} block(s) differ (UPDATE_GOLDEN=1 rewrites):\n{}",
            path.display(),
            failures.len(),
            failures.join("\n")
        ))
    }
}

/// Run (or, with `UPDATE_GOLDEN=1`, rewrite) every script in `tests/golden/<dir>/`.
pub fn golden_transcripts<C: Transcript>(dir: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(dir);
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("golden dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let errors: Vec<String> = files
        .iter()
        .filter_map(|f| run_file::<C>(f, update).err())
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n\n"));
}
