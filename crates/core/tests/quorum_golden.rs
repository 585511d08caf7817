//! Golden transcripts for the leaderless quorum store (`quorum-kv`), in the style of
//! `multi_paxos_golden.rs`.
//!
//! A tiny deterministic driver (no simulator): N quorum-store nodes, a FIFO message
//! queue delivered only when a script says so, the one timer (`tick`: request
//! deadlines, sloppy fall-backs, hinted handoff, anti-entropy) fired only when a
//! script says so, and a global clock that moves only when a timer fires (to its
//! deadline) or on `advance`. Each node reads its own local clock, the global one plus
//! an offset a script can jump (`clock`): write timestamps come from the coordinator's
//! clock, which is how skew loses updates under last-writer-wins. The invariant
//! checker runs after every handled event.
//!
//! Versions print as `value@stamp/node`, the stamp being the coordinator's local
//! clock in ms, and with version vectors `[node:counter ...]` after it.
//!
//! Scripts live in `tests/golden/quorum-kv/*.txt` (shared format:
//! `tests/common/mod.rs`). Run with `UPDATE_GOLDEN=1` to rewrite the expected parts.
//!
//! Commands:
//! * `add-nodes N [param=value ...]`: boot N nodes with those parameters.
//! * `where KEY`: the key's preference list and the nodes a sloppy quorum falls back on.
//! * `put I x=4 [client=C]`, `get I x [client=C]`: a client request coordinated by I.
//! * `tick I[,J...]`: fire those nodes' tick. `advance MS`: move the clock.
//! * `clock I +MS|-MS`: node I's clock jumps.
//! * `deliver [A->B]`, `drop A->B`: deliver queued messages (all, repeatedly until
//!   quiet, or only those matching once; `*` matches any node), or drop them.
//! * `crash I`, `restart I [--no-disk]`, `partition 0,1 | 2`, `heal`, `status`.

mod common;

use common::{ms, set, Clients, Net, Transcript};
use quorumlab_core::quorum::{QMsg, QuorumKv, QuorumParams, QuorumTimer, Ver};
use quorumlab_core::{Ctx, Effect, NodeId, Op, Outcome, Protocol, MS};
use std::collections::{BTreeMap, BTreeSet};

fn ver(v: &Ver) -> String {
    let mut s = format!("{}@{}/{}", v.value, ms(v.ts), v.node);
    if !v.vv.is_empty() {
        let vv: Vec<String> = v.vv.iter().map(|(n, c)| format!("{n}:{c}")).collect();
        s.push_str(&format!(" [{}]", vv.join(" ")));
    }
    s
}

fn vers(vs: &[Ver]) -> String {
    if vs.is_empty() {
        return "nil".into();
    }
    let v: Vec<String> = vs.iter().map(ver).collect();
    v.join(" | ")
}

/// A request id as the nodes print it: the coordinator's counter (its low half; the
/// high half is a per-boot nonce).
fn rid(id: u64) -> String {
    format!("#{}", id & 0xFFFF_FFFF)
}

fn msg(m: &QMsg) -> String {
    match m {
        QMsg::Put {
            id,
            key,
            ver: v,
            hint,
        } => {
            let h = hint.map(|h| format!(" (hint for {h})")).unwrap_or_default();
            format!("put {} {key}={}{h}", rid(*id), ver(v))
        }
        QMsg::PutAck { id } => format!("put-ack {}", rid(*id)),
        QMsg::Get { id, key } => format!("get {} {key}", rid(*id)),
        QMsg::GetReply { id, vers: vs } => format!("get-reply {} {}", rid(*id), vers(vs)),
        QMsg::Repair { key, vers: vs } => format!("repair {key}={}", vers(vs)),
        QMsg::Handoff { key, ver: v } => format!("handoff {key}={}", ver(v)),
        QMsg::HandoffAck { key, ver: v } => format!("handoff-ack {key}={}", ver(v)),
        QMsg::Digest { ranges, .. } => {
            let r: Vec<String> = ranges.iter().map(|(r, _)| r.to_string()).collect();
            format!("digest of {} shared ranges [{}]", ranges.len(), r.join(" "))
        }
        QMsg::Versions {
            ranges,
            entries,
            reply,
        } => {
            let r: Vec<String> = ranges.iter().map(|r| r.to_string()).collect();
            let e: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{k}={}", ver(v)))
                .collect();
            format!(
                "versions of differing ranges [{}]: {{{}}}{}",
                r.join(" "),
                e.join(", "),
                if *reply { " (send yours back)" } else { "" }
            )
        }
        QMsg::Members { epoch, members } => {
            format!("members epoch={epoch} {}", set(members))
        }
        QMsg::Transfer { entries } => {
            let e: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{k}={}", ver(v)))
                .collect();
            format!("transfer {{{}}}", e.join(", "))
        }
    }
}

/// The one place client operations and outcomes are written.
fn op(o: &Op) -> String {
    match o {
        Op::Read { key } => format!("get {key}"),
        Op::Write { key, value } => format!("put {key}={value}"),
        other => format!("{other:?}"),
    }
}

fn outcome(o: &Outcome, read: bool) -> String {
    match o {
        Outcome::Ok { value: None } if read => "ok value=nil (never written)".into(),
        Outcome::Redirect { leader, .. } => format!("redirect to {leader:?}"),
        o => common::outcome(o),
    }
}

/// What of a node the transcript follows from one event to the next.
#[derive(PartialEq)]
struct Snap {
    store: BTreeMap<String, Vec<Ver>>,
    hints: BTreeMap<(NodeId, String), Vec<Ver>>,
}

fn snap(q: &QuorumKv) -> Snap {
    Snap {
        store: q.store().clone(),
        hints: q.hints().clone(),
    }
}

struct Cluster {
    params: QuorumParams,
    initial: Vec<NodeId>,
    net: Net<QuorumKv>,
    clients: Clients,
    /// Reads not answered yet, so a reply without a value can say it read nothing.
    reads: BTreeSet<(u32, u64)>,
}

impl Cluster {
    fn line(&mut self, s: impl AsRef<str>) {
        self.net.line(s);
    }

    fn snap(&self, i: NodeId) -> Option<Snap> {
        self.net.node(i).map(snap)
    }

    /// Run one handler on node `i` and report everything it did.
    fn run(&mut self, i: NodeId, f: impl FnOnce(&mut QuorumKv, &mut Ctx<'_, QuorumKv>)) {
        let before = self.snap(i);
        let reads = &mut self.reads;
        let ran = self.net.handle(i, f, |e| match e {
            Effect::Reply(r) => {
                let read = reads.remove(&(r.client, r.seq));
                Some(outcome(&r.outcome, read))
            }
            // What a write changes shows below, in the store and the hints; the disk
            // is kept for restarts. This protocol reports nothing of its own.
            _ => None,
        });
        if !ran {
            return;
        }
        if let (Some(b), Some(a)) = (before, self.snap(i)) {
            self.diff(i, &b, &a);
        }
        self.net.check(i);
    }

    fn diff(&mut self, i: NodeId, b: &Snap, a: &Snap) {
        if a == b {
            return;
        }
        for (k, vs) in &a.store {
            if b.store.get(k) != Some(vs) {
                let was = b.store.get(k).map_or("nil".to_string(), |v| vers(v));
                self.line(format!("  {i} stores {k}: {was} -> {}", vers(vs)));
            }
        }
        for ((owner, k), vs) in &a.hints {
            if b.hints.get(&(*owner, k.clone())) != Some(vs) {
                self.line(format!("  {i} keeps a hint for {owner}: {k}={}", vers(vs)));
            }
        }
        for (owner, k) in b.hints.keys() {
            if !a.hints.contains_key(&(*owner, k.clone())) {
                self.line(format!("  {i} drops its hint for {owner}: {k}"));
            }
        }
    }

    fn boot(&mut self, i: NodeId, disk: bool) {
        self.net.boot(i, &self.initial, &self.params, disk);
        let keys = self.net.node(i).expect("booted").store().len();
        self.line(format!(
            "  {i} boots{}",
            if self.net.disks[i as usize].is_some() {
                format!(" from its disk ({keys} keys)")
            } else {
                String::new()
            }
        ));
        self.run(i, |n, cx| n.start(cx));
    }

    fn tick(&mut self, i: NodeId) {
        if !self.net.is_up(i) {
            self.line(format!("node {i} is down"));
            return;
        }
        let t = QuorumTimer::Tick;
        match self.net.take_timer(i, t) {
            Some(d) if d > self.net.now => {
                self.net.now = d;
                self.line(format!("time {} ms", ms(d)));
            }
            Some(_) => {}
            None => self.line(format!("  ({i}: tick was not armed; firing it anyway)")),
        }
        self.run(i, |n, cx| n.on_timer(cx, t));
    }

    fn request(&mut self, words: &[&str], read: bool) {
        let i: NodeId = words[1].parse().expect("node id");
        let mut op_words = words[2..].to_vec();
        if read {
            // `get I x` asks what `read x` would.
            op_words.insert(0, "read");
        }
        let r = self.clients.request(&op_words);
        if read {
            self.reads.insert((r.client, r.seq));
        }
        self.line(format!("c{}#{} {} at {i}", r.client, r.seq, op(&r.op)));
        self.run(i, |n, cx| n.on_client(cx, r));
    }
}

impl Transcript for Cluster {
    type P = QuorumKv;

    fn new() -> Self {
        Cluster {
            params: QuorumParams::default(),
            initial: Vec::new(),
            net: Net::new(msg),
            clients: Clients::default(),
            reads: BTreeSet::new(),
        }
    }

    fn net(&mut self) -> &mut Net<QuorumKv> {
        &mut self.net
    }

    fn command(&mut self, line: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let num = |k| common::num(line, k);
        match words[0] {
            "add-nodes" => {
                let n = num(1);
                self.params = common::params::<QuorumKv>(&words[2..]);
                common::assert_sound::<QuorumKv>(&self.params, n as usize);
                self.initial = (0..n).collect();
                for i in 0..n {
                    self.boot(i, false);
                }
            }
            "where" => {
                let k = words[1];
                let any = self.net.nodes.iter().flatten().next().expect("a node");
                let ring = any.ring();
                let walk = ring.walk(k);
                let n = self.params.n as usize;
                let rest: Vec<String> = walk[n.min(walk.len())..]
                    .iter()
                    .map(|x| x.to_string())
                    .collect();
                let reps: Vec<String> = walk[..n.min(walk.len())]
                    .iter()
                    .map(|x| x.to_string())
                    .collect();
                let s = format!(
                    "{k}: replicas [{}] (ring range {}), then {}",
                    reps.join(","),
                    ring.range_of(k),
                    if rest.is_empty() {
                        "nobody".to_string()
                    } else {
                        rest.join(", ")
                    }
                );
                self.line(s);
            }
            "put" => self.request(&words, false),
            "get" => self.request(&words, true),
            "tick" => {
                for i in words[1].split(',') {
                    self.tick(i.parse().expect("node id"));
                }
            }
            "advance" => {
                self.net.now += num(1) as u64 * MS;
                self.line(format!("time {} ms", ms(self.net.now)));
            }
            "clock" => self.net.jump_clock(num(1), words[2]),
            w => panic!("unknown command {w}"),
        }
    }

    fn receive(&mut self, from: NodeId, to: NodeId, m: QMsg) {
        self.run(to, |n, cx| n.on_message(cx, from, m));
    }

    fn restart(&mut self, i: NodeId, keep_disk: bool) {
        self.boot(i, keep_disk);
    }

    fn status(&mut self, i: NodeId) {
        let Some(q) = self.net.node(i) else {
            self.line(format!("{i}: down"));
            return;
        };
        let p = q.params();
        let clock = match self.net.offsets[i as usize] {
            0 => String::new(),
            _ => format!(" (local clock {} ms)", ms(self.net.local(i))),
        };
        let store: Vec<String> = q
            .store()
            .iter()
            .map(|(k, vs)| format!("{k}={}", vers(vs)))
            .collect();
        let mut s = format!(
            "{i}:{clock} {{{}}}",
            if store.is_empty() {
                String::new()
            } else {
                store.join(", ")
            }
        );
        let hints: Vec<String> = q
            .hints()
            .iter()
            .map(|((o, k), vs)| format!("{k}={} for {o}", vers(vs)))
            .collect();
        if !hints.is_empty() {
            s.push_str(&format!("\n   hints: {}", hints.join(", ")));
        }
        let st = &q.stats;
        let mut counts = Vec::new();
        for (label, x) in [
            ("coordinating", q.pending().len() as u64),
            ("read repairs", st.repairs),
            ("hints handed off", st.handed_off),
            ("timed out", st.unavailable),
            ("reads with siblings", st.sibling_reads),
        ] {
            if x > 0 {
                counts.push(format!("{label} {x}"));
            }
        }
        if p.anti_entropy_ms > 0 {
            counts.push(format!(
                "anti-entropy rounds {}, keys exchanged {}",
                st.ae_rounds, st.ae_keys
            ));
        }
        if !counts.is_empty() {
            s.push_str(&format!("\n   {}", counts.join("; ")));
        }
        self.line(s);
    }
}

#[test]
fn golden_transcripts() {
    common::golden_transcripts::<Cluster>("quorum-kv");
}
