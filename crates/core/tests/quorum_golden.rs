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

use common::{parse_pat, Transcript};
use quorumlab_core::quorum::{
    QDisk, QMsg, QuorumKv, QuorumMonitor, QuorumParams, QuorumTimer, Ver,
};
use quorumlab_core::{
    ClientReply, ClientRequest, Ctx, Effect, NodeId, Op, Outcome, Protocol, Rng, Time, Timer,
    TimerId, MS,
};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

fn set(m: &[NodeId]) -> String {
    let v: Vec<String> = m.iter().map(|x| x.to_string()).collect();
    format!("{{{}}}", v.join(","))
}

fn ms(t: Time) -> String {
    if t.is_multiple_of(MS) {
        format!("{}", t / MS)
    } else {
        format!("{}.{:03}", t / MS, t % MS)
    }
}

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
        Outcome::Ok { value: None } => "ok".into(),
        Outcome::Ok { value: Some(v) } => format!("ok value={v}"),
        Outcome::Fail { reason } => format!("fail: {reason}"),
        Outcome::Redirect { leader, .. } => format!("redirect to {leader:?}"),
        Outcome::Unknown { reason } => format!("unknown: {reason}"),
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
    nodes: Vec<Option<QuorumKv>>,
    disks: Vec<Option<QDisk>>,
    rngs: Vec<Rng>,
    timers: Vec<BTreeMap<TimerId, Time>>,
    offsets: Vec<i64>,
    queue: VecDeque<(NodeId, NodeId, QMsg)>,
    now: Time,
    groups: Option<Vec<Vec<NodeId>>>,
    monitor: QuorumMonitor,
    violated: bool,
    seqs: BTreeMap<u32, u64>,
    /// Reads not answered yet, so a reply without a value can say it read nothing.
    reads: BTreeSet<(u32, u64)>,
    out: String,
}

impl Cluster {
    fn line(&mut self, s: impl AsRef<str>) {
        self.out.push_str(s.as_ref());
        self.out.push('\n');
    }

    fn local(&self, i: NodeId) -> Time {
        (self.now as i64 + self.offsets[i as usize]).max(0) as Time
    }

    fn snap(&self, i: NodeId) -> Option<Snap> {
        self.nodes
            .get(i as usize)
            .and_then(|n| n.as_ref())
            .map(snap)
    }

    /// Run one handler on node `i` and report everything it did.
    fn run(&mut self, i: NodeId, f: impl FnOnce(&mut QuorumKv, &mut Ctx<'_, QuorumKv>)) {
        let before = self.snap(i);
        let iu = i as usize;
        let local = self.local(i);
        let mut effects = Vec::new();
        {
            let Some(n) = self.nodes[iu].as_mut() else {
                return;
            };
            let mut cx = Ctx::new(i, local, &mut self.rngs[iu], &mut effects);
            f(n, &mut cx);
        }
        for e in effects {
            match e {
                Effect::Send { to, msg: m } => {
                    self.line(format!("  send {i}->{to} {}", msg(&m)));
                    self.queue.push_back((i, to, m));
                }
                Effect::SetTimer { timer, after } => {
                    self.timers[iu].insert(timer, self.now + after);
                }
                Effect::CancelTimer { timer } => {
                    self.timers[iu].remove(&timer);
                }
                // The store and hint changes show below; the disk is kept for restarts.
                Effect::Persist(w) => {
                    QuorumKv::apply_write(self.disks[iu].get_or_insert_with(QDisk::default), w)
                }
                // This protocol reports nothing of its own.
                Effect::Report(_) => {}
                Effect::Reply(ClientReply {
                    client,
                    seq,
                    outcome: o,
                    ..
                }) => {
                    let read = self.reads.remove(&(client, seq));
                    self.line(format!(
                        "  {i} reply c{client}#{seq}: {}",
                        outcome(&o, read)
                    ));
                }
            }
        }
        if let (Some(b), Some(a)) = (before, self.snap(i)) {
            self.diff(i, &b, &a);
        }
        if !self.violated {
            if let Err(v) = QuorumKv::check(&mut self.monitor, i, &self.nodes, local) {
                self.violated = true;
                self.line(format!("  VIOLATION {v}"));
            }
        }
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
        let iu = i as usize;
        while self.nodes.len() <= iu {
            self.nodes.push(None);
            self.disks.push(None);
            self.rngs.push(Rng::derive(7, self.rngs.len() as u64));
            self.timers.push(BTreeMap::new());
            self.offsets.push(0);
        }
        if !disk {
            self.disks[iu] = None;
        }
        self.timers[iu].clear();
        let n = QuorumKv::boot(i, &self.initial, &self.params, self.disks[iu].as_ref());
        let keys = n.store().len();
        self.nodes[iu] = Some(n);
        self.line(format!(
            "  {i} boots{}",
            if disk && self.disks[iu].is_some() {
                format!(" from its disk ({keys} keys)")
            } else {
                String::new()
            }
        ));
        self.run(i, |n, cx| n.start(cx));
    }

    fn tick(&mut self, i: NodeId) {
        let iu = i as usize;
        if self.nodes.get(iu).is_none_or(|n| n.is_none()) {
            self.line(format!("node {i} is down"));
            return;
        }
        let t = QuorumTimer::Tick;
        match self.timers[iu].remove(&t.id()) {
            Some(d) if d > self.now => {
                self.now = d;
                self.line(format!("time {} ms", ms(self.now)));
            }
            Some(_) => {}
            None => self.line(format!("  ({i}: tick was not armed; firing it anyway)")),
        }
        self.run(i, |n, cx| n.on_timer(cx, t));
    }

    fn connected(&self, a: NodeId, b: NodeId) -> bool {
        match &self.groups {
            None => true,
            Some(g) => g.iter().any(|grp| grp.contains(&a) && grp.contains(&b)),
        }
    }

    fn deliver_one(&mut self, from: NodeId, to: NodeId, m: QMsg) {
        let text = format!("{from}->{to} {}", msg(&m));
        if self.nodes.get(to as usize).is_none_or(|n| n.is_none()) {
            self.line(format!("{text}  (dropped: node {to} is down)"));
        } else if !self.connected(from, to) {
            self.line(format!("{text}  (dropped: partitioned)"));
        } else {
            self.line(text);
            self.run(to, |n, cx| n.on_message(cx, from, m));
        }
    }

    fn request(&mut self, words: &[&str], read: bool) {
        let i: NodeId = words[1].parse().expect("node id");
        let mut client = 1;
        let mut key = None;
        for w in &words[2..] {
            match w.strip_prefix("client=") {
                Some(c) => client = c.parse().expect("client"),
                None => key = Some(*w),
            }
        }
        let key = key.expect("a key");
        let o = if read {
            Op::Read { key: key.into() }
        } else {
            let (k, v) = key.split_once('=').expect("k=v");
            Op::Write {
                key: k.into(),
                value: v.parse().expect("int"),
            }
        };
        let seq = {
            let s = self.seqs.entry(client).or_insert(0);
            *s += 1;
            *s
        };
        if read {
            self.reads.insert((client, seq));
        }
        self.line(format!("c{client}#{seq} {} at {i}", op(&o)));
        self.run(i, |n, cx| {
            n.on_client(cx, ClientRequest { client, seq, op: o })
        });
    }

    fn command(&mut self, line: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let num = |k: usize| -> u32 {
            words
                .get(k)
                .and_then(|w| w.parse().ok())
                .unwrap_or_else(|| panic!("`{line}`: argument {k}"))
        };
        match words[0] {
            "add-nodes" => {
                let n = num(1);
                let mut obj = serde_json::Map::new();
                for w in &words[2..] {
                    let (k, v) = w.split_once('=').expect("param=value");
                    let v =
                        serde_json::from_str(v).unwrap_or(serde_json::Value::String(v.to_string()));
                    obj.insert(k.to_string(), v);
                }
                self.params =
                    serde_json::from_value(serde_json::Value::Object(obj)).expect("valid params");
                let problems: Vec<String> = self
                    .params
                    .problems()
                    .into_iter()
                    .chain(self.params.cluster_problems(n as usize))
                    .map(|(f, m)| format!("{f}: {m}"))
                    .collect();
                assert!(problems.is_empty(), "{}", problems.join("; "));
                self.initial = (0..n).collect();
                for i in 0..n {
                    self.boot(i, false);
                }
            }
            "where" => {
                let k = words[1];
                let ring = self.nodes.iter().flatten().next().expect("a node").ring();
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
                self.now += num(1) as u64 * MS;
                self.line(format!("time {} ms", ms(self.now)));
            }
            "clock" => {
                let i = num(1);
                let d: i64 = words[2]
                    .trim_start_matches('+')
                    .parse()
                    .expect("+MS or -MS");
                self.offsets[i as usize] += d * MS as i64;
                self.line(format!(
                    "  {i}'s clock jumps {}{d} ms: it reads {} ms while the true time is {} ms",
                    if d >= 0 { "+" } else { "" },
                    ms(self.local(i)),
                    ms(self.now)
                ));
            }
            "deliver" => {
                if let Some(pat) = words.get(1) {
                    let (a, b) = parse_pat(pat);
                    let all: Vec<_> = self.queue.drain(..).collect();
                    let (hit, keep): (Vec<_>, Vec<_>) = all.into_iter().partition(|(f, t, _)| {
                        a.is_none_or(|a| a == *f) && b.is_none_or(|b| b == *t)
                    });
                    self.queue.extend(keep);
                    for (f, t, m) in hit {
                        self.deliver_one(f, t, m);
                    }
                } else {
                    while let Some((f, t, m)) = self.queue.pop_front() {
                        self.deliver_one(f, t, m);
                    }
                }
            }
            "drop" => {
                let (a, b) = parse_pat(words[1]);
                let all: Vec<_> = self.queue.drain(..).collect();
                for (f, t, m) in all {
                    if a.is_none_or(|a| a == f) && b.is_none_or(|b| b == t) {
                        self.line(format!("{f}->{t} {}  (dropped)", msg(&m)));
                    } else {
                        self.queue.push_back((f, t, m));
                    }
                }
            }
            "crash" => {
                let i = num(1);
                self.nodes[i as usize] = None;
                self.timers[i as usize].clear();
                self.line(format!("  {i} crashed"));
            }
            "restart" => {
                let i = num(1);
                let disk = !words.contains(&"--no-disk");
                self.boot(i, disk);
            }
            "partition" => {
                let rest = words[1..].join(" ");
                let groups: Vec<Vec<NodeId>> = rest
                    .split('|')
                    .map(|g| {
                        g.split(',')
                            .map(|x| x.trim().parse().expect("node id"))
                            .collect()
                    })
                    .collect();
                self.line(format!(
                    "  partition {}",
                    groups
                        .iter()
                        .map(|g| set(g))
                        .collect::<Vec<_>>()
                        .join(" | ")
                ));
                self.groups = Some(groups);
            }
            "heal" => {
                self.groups = None;
                self.line("  network healed");
            }
            "status" => {
                for i in 0..self.nodes.len() as NodeId {
                    self.status(i);
                }
            }
            w => panic!("unknown command {w}"),
        }
    }

    fn status(&mut self, i: NodeId) {
        let Some(q) = self.nodes[i as usize].as_ref() else {
            self.line(format!("{i}: down"));
            return;
        };
        let p = q.params();
        let clock = match self.offsets[i as usize] {
            0 => String::new(),
            _ => format!(" (local clock {} ms)", ms(self.local(i))),
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

impl Transcript for Cluster {
    fn new() -> Self {
        Cluster {
            params: QuorumParams::default(),
            initial: Vec::new(),
            nodes: Vec::new(),
            disks: Vec::new(),
            rngs: Vec::new(),
            timers: Vec::new(),
            offsets: Vec::new(),
            queue: VecDeque::new(),
            now: 0,
            groups: None,
            monitor: QuorumMonitor::default(),
            violated: false,
            seqs: BTreeMap::new(),
            reads: BTreeSet::new(),
            out: String::new(),
        }
    }
    fn command(&mut self, line: &str) {
        Cluster::command(self, line)
    }
    fn out(&mut self) -> &mut String {
        &mut self.out
    }
}

#[test]
fn golden_transcripts() {
    common::golden_transcripts::<Cluster>("quorum-kv");
}
