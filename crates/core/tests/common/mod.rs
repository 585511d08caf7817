//! The golden-transcript format the protocols' scripted tests share: a script is blocks
//! of a command line, a `----` line and the expected output, with `#` comments between
//! them; a protocol's test supplies the cluster that runs the commands.

use quorumlab_core::{LogEntryView, NodeId, NodeView, ProgressView};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A scripted cluster: it runs one command line, writing what happened to `out`.
pub trait Transcript {
    fn new() -> Self;
    fn command(&mut self, line: &str);
    fn out(&mut self) -> &mut String;
}

/// The parts of a node's generic view that the transcripts print, flattened into the
/// shape they were written against (so the transcripts read the same as before the view
/// became generic).
#[allow(dead_code)]
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

/// `A->B` with `*` for any node.
pub fn parse_pat(p: &str) -> (Option<NodeId>, Option<NodeId>) {
    let (a, b) = p.split_once("->").expect("A->B");
    let f = |x: &str| {
        if x == "*" {
            None
        } else {
            Some(x.parse().expect("node id"))
        }
    };
    (f(a), f(b))
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
        c.out().clear();
        c.command(&b.command);
        if c.out().is_empty() {
            c.out().push_str("ok\n");
        }
        let out = c.out().clone();
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
