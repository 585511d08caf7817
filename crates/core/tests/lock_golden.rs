//! Golden transcripts for the lock services (Redis with failover, Redlock, a
//! ZooKeeper recipe) and the storage node that may check fencing tokens, in the style
//! of `multi_paxos_golden.rs`.
//!
//! A tiny deterministic driver (no simulator): the nodes of one lock cluster (servers
//! `0..servers`, the storage, every other node a lock client), a FIFO message queue
//! delivered only when a script says so, timers fired only when a script says so, and
//! a global clock that moves only when a timer fires (to its deadline) or on `advance`.
//! Each node reads its own local clock: the global one plus an offset a script can
//! jump (`clock`), which is how a clock jump breaks Redlock. A timer's deadline is in
//! global time, as in the simulator, so a jump does not move armed timers. A GC pause
//! needs no command: the script simply leaves a node's timers and messages alone while
//! time passes, then fires them late. The invariant checker runs after every handled
//! event.
//!
//! Two clients believing they hold the lock at once is not one of the lock family's
//! invariants (it is what the unsafe services teach, measured by the simulator), so
//! the driver points it out itself, on a `** clients {..} all believe they hold the
//! lock` line, whenever the set of believers changes to more than one.
//!
//! Scripts live in `tests/golden/lock/*.txt` (shared format: `tests/common/mod.rs`).
//! Run with `UPDATE_GOLDEN=1` to rewrite the expected parts.
//!
//! Commands:
//! * `add-nodes N [param=value ...]`: boot N nodes with those lock parameters.
//! * `fire I[,J...] TIMER`: fire a timer of each node: `tick` (servers), `think`,
//!   `work`, `lease-end`, `retry`, `heartbeat` (clients).
//! * `advance MS`: move the clock. `clock I +MS|-MS`: node I's clock jumps.
//! * `deliver [A->B]`, `drop A->B`: deliver queued messages (all, repeatedly until
//!   quiet, or only those matching once; `*` matches any node), or drop them.
//! * `crash I`, `restart I [--no-disk]`, `partition 0,1 | 2`, `heal`, `status`.

mod common;

use common::{parse_pat, Transcript};
use quorumlab_core::lock::{Lock, LockDisk, LockMonitor, LockMsg, LockParams, LockTimer, Part};
use quorumlab_core::{
    ClientReply, Ctx, Effect, NodeId, NodeView, OpEnd, Outcome, Protocol, Report, Rng, Time, Timer,
    TimerId, Val, MS,
};
use std::collections::{BTreeMap, VecDeque};

fn set(m: &[NodeId]) -> String {
    let v: Vec<String> = m.iter().map(|x| x.to_string()).collect();
    format!("{{{}}}", v.join(","))
}

/// A token as the services hand it out: a Redis token is `epoch << 32 | grant`,
/// written `epoch.grant`; Redlock's grant counters and ZooKeeper's creation indexes
/// are plain numbers. An ensemble's session ids pack the Raft term the same way.
fn token(t: u64) -> String {
    match t >> 32 {
        0 => t.to_string(),
        e => format!("{e}.{}", t & 0xffff_ffff),
    }
}

/// `text` with every number too big to be anything but a packed Redis token written as
/// one (the views print the raw `u64`).
fn tokens_in(text: &str) -> String {
    let mut out = String::new();
    let mut digits = String::new();
    let flush = |d: &mut String, out: &mut String| {
        match d.parse::<u64>() {
            Ok(t) if t >> 32 != 0 => out.push_str(&token(t)),
            _ => out.push_str(d),
        }
        d.clear();
    };
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
        } else {
            flush(&mut digits, &mut out);
            out.push(ch);
        }
    }
    flush(&mut digits, &mut out);
    out
}

fn ms(t: Time) -> String {
    if t.is_multiple_of(MS) {
        format!("{} ms", t / MS)
    } else {
        format!("{}.{:03} ms", t / MS, t % MS)
    }
}

fn msg(m: &LockMsg) -> String {
    match m {
        LockMsg::Acquire { attempt, session } => {
            if *session == 0 {
                format!("acquire #{attempt}")
            } else {
                format!("acquire #{attempt} session={}", token(*session))
            }
        }
        LockMsg::Granted { attempt, token: t } => format!("granted #{attempt} token={}", token(*t)),
        LockMsg::Refused { attempt, master } => match master {
            Some(m) => format!("refused #{attempt} (master is {m})"),
            None => format!("refused #{attempt}"),
        },
        LockMsg::Release { attempt } => format!("release #{attempt}"),
        LockMsg::Replicate {
            epoch,
            counter,
            key,
        } => {
            let k = match key {
                Some((owner, attempt, t, left)) => format!(
                    "client {owner} #{attempt} token={} ({} left)",
                    token(*t),
                    ms(*left)
                ),
                None => "none".into(),
            };
            format!("replicate epoch={epoch} grants={counter} key={k}")
        }
        LockMsg::Heartbeat { seq, session } => {
            format!("heartbeat #{seq} session={}", token(*session))
        }
        LockMsg::HeartbeatAck { seq, session: 0 } => {
            format!("heartbeat-ack #{seq} session=0 (expired)")
        }
        LockMsg::HeartbeatAck { seq, session } => {
            format!("heartbeat-ack #{seq} session={}", token(*session))
        }
        LockMsg::Turn { attempt, token: t } => format!("turn #{attempt} token={}", token(*t)),
        LockMsg::Queued { attempt, token: t } => {
            format!("queued #{attempt} token={}", token(*t))
        }
        LockMsg::Write { attempt, token: t } => format!("write #{attempt} token={}", token(*t)),
        LockMsg::WriteAck { attempt, accepted } => format!(
            "write-ack #{attempt} {}",
            if *accepted { "accepted" } else { "refused" }
        ),
        LockMsg::Raft { msg } => format!("raft {}", quorumlab_core::Message::describe(msg)),
    }
}

/// The one place a client outcome is written (the lock clients are nodes, so only a
/// workload request sent by mistake would get one).
fn outcome(o: &Outcome) -> String {
    match o {
        Outcome::Ok { value: None } => "ok".into(),
        Outcome::Ok { value: Some(v) } => format!("ok value={v}"),
        Outcome::Fail { reason } => format!("fail: {reason}"),
        Outcome::Redirect { leader, .. } => format!("redirect to {leader:?}"),
        Outcome::Unknown { reason } => format!("unknown: {reason}"),
    }
}

/// A report as the transcript shows it: `acquire asked`, `acquire ok t1.2`,
/// `release ok`, `write by 3 t1.1 refused`.
fn report(r: &Report) -> String {
    match r {
        Report::Op { op, outcome } => {
            let what = op.kind().name();
            match outcome {
                None => format!("{what} asked"),
                Some(OpEnd::Ok(Some(Val::Int(t)))) => {
                    format!("{what} ok t{}", quorumlab_core::lock::token_text(*t as u64))
                }
                Some(OpEnd::Ok(_)) => format!("{what} ok"),
                Some(OpEnd::Fail) => format!("{what} failed"),
                Some(OpEnd::Unknown) => format!("{what} unknown"),
            }
        }
        Report::StorageWrite {
            from,
            token,
            accepted,
            corrupted,
        } => format!(
            "write by {from} t{} {}",
            quorumlab_core::lock::token_text(*token),
            match (accepted, corrupted) {
                (true, true) => "taken, CORRUPTED",
                (true, false) => "taken",
                _ => "refused",
            }
        ),
    }
}

fn timer_name(t: LockTimer) -> &'static str {
    match t {
        LockTimer::Tick => "tick",
        LockTimer::Think => "think",
        LockTimer::Work => "work",
        LockTimer::LeaseEnd => "lease-end",
        LockTimer::Retry => "retry",
        LockTimer::Heartbeat => "heartbeat",
        LockTimer::RaftElection => "raft-election",
        LockTimer::RaftHeartbeat => "raft-heartbeat",
        LockTimer::RaftCheckQuorum => "raft-check-quorum",
    }
}

fn parse_timer(w: &str) -> LockTimer {
    [
        LockTimer::Tick,
        LockTimer::Think,
        LockTimer::Work,
        LockTimer::LeaseEnd,
        LockTimer::Retry,
        LockTimer::Heartbeat,
        LockTimer::RaftElection,
        LockTimer::RaftHeartbeat,
        LockTimer::RaftCheckQuorum,
    ]
    .into_iter()
    .find(|t| timer_name(*t) == w)
    .unwrap_or_else(|| panic!("unknown timer {w}"))
}

/// Fields of a node's view the transcript leaves out of its diffs: constant, or
/// repeated by another line (a holder's role already says it holds).
const QUIET: &[&str] = &["service", "recent writes", "acquired", "believes until"];

fn field<'a>(v: &'a NodeView, label: &str) -> &'a str {
    v.fields
        .iter()
        .find(|(l, _)| l == label)
        .map(|(_, x)| x.as_str())
        .unwrap_or("")
}

struct Cluster {
    params: LockParams,
    nodes: Vec<Option<Lock>>,
    disks: Vec<Option<LockDisk>>,
    rngs: Vec<Rng>,
    timers: Vec<BTreeMap<TimerId, Time>>,
    /// Each node's clock, ahead of (or behind) the global one, in µs.
    offsets: Vec<i64>,
    queue: VecDeque<(NodeId, NodeId, LockMsg)>,
    now: Time,
    groups: Option<Vec<Vec<NodeId>>>,
    monitor: LockMonitor,
    violated: bool,
    /// The clients that believed they held the lock after the last event.
    holders: Vec<NodeId>,
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

    fn view(&self, i: NodeId) -> Option<NodeView> {
        self.nodes
            .get(i as usize)
            .and_then(|n| n.as_ref())
            .map(|n| n.view())
    }

    /// Run one handler on node `i` and report everything it did.
    fn run(&mut self, i: NodeId, f: impl FnOnce(&mut Lock, &mut Ctx<'_, Lock>)) {
        let before = self.view(i);
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
                // What a write changes shows in the node's view; the disk is kept for
                // restarts.
                Effect::Persist(w) => {
                    Lock::apply_write(self.disks[iu].get_or_insert_with(LockDisk::default), w)
                }
                Effect::Reply(ClientReply {
                    client,
                    seq,
                    outcome: o,
                    ..
                }) => self.line(format!("  {i} reply c{client}#{seq}: {}", outcome(&o))),
                // What the history and the lock timeline are built from.
                Effect::Report(r) => self.line(format!("  {i} reports {}", report(&r))),
            }
        }
        if let (Some(b), Some(a)) = (before, self.view(i)) {
            self.diff(i, &b, &a);
        }
        if !self.violated {
            let local = self.local(i);
            if let Err(v) = Lock::check(&mut self.monitor, i, &self.nodes, local) {
                self.violated = true;
                self.line(format!("  VIOLATION {v}"));
            }
        }
        let holders: Vec<NodeId> = (0..self.nodes.len() as NodeId)
            .filter(|&n| {
                self.nodes[n as usize]
                    .as_ref()
                    .is_some_and(|n| n.is_leader())
            })
            .collect();
        if holders != self.holders && holders.len() > 1 {
            self.line(format!(
                "  ** clients {} all believe they hold the lock",
                set(&holders)
            ));
        }
        self.holders = holders;
    }

    fn diff(&mut self, i: NodeId, b: &NodeView, a: &NodeView) {
        let role_changed = a.role.label != b.role.label;
        if role_changed {
            let why = if a.last_change != b.last_change {
                format!(": {}", tokens_in(&a.last_change))
            } else {
                String::new()
            };
            self.line(format!("  {i} {} -> {}{why}", b.role.label, a.role.label));
        } else if a.last_change != b.last_change {
            self.line(format!("  {i} {}", tokens_in(&a.last_change)));
        }
        if a.term != b.term {
            let t = |v: &NodeView| {
                if v.epoch_text.is_empty() {
                    v.term.to_string()
                } else {
                    v.epoch_text.clone()
                }
            };
            self.line(format!("  {i} {} {} -> {}", a.epoch_label, t(b), t(a)));
        }
        for (label, now) in &a.fields {
            // A client's role already tells its phase when the role changes.
            if QUIET.contains(&label.as_str()) || (role_changed && label == "phase") {
                continue;
            }
            let was = field(b, label);
            if was != now {
                let show = |x: &str| {
                    if x.is_empty() {
                        "(none)".to_string()
                    } else {
                        tokens_in(x)
                    }
                };
                self.line(format!("  {i} {label}: {} -> {}", show(was), show(now)));
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
        let members: Vec<NodeId> = (0..self.params.servers as NodeId).collect();
        let n = Lock::boot(i, &members, &self.params, self.disks[iu].as_ref());
        self.nodes[iu] = Some(n);
        let v = self.view(i).expect("booted");
        self.line(format!(
            "  {i} boots as {}: {}",
            v.role.label, v.last_change
        ));
        self.run(i, |n, cx| n.start(cx));
    }

    fn fire(&mut self, i: NodeId, timer: LockTimer) {
        let iu = i as usize;
        if self.nodes.get(iu).is_none_or(|n| n.is_none()) {
            self.line(format!("node {i} is down"));
            return;
        }
        match self.timers[iu].remove(&timer.id()) {
            Some(t) if t > self.now => {
                self.now = t;
                self.line(format!("time {}", ms(self.now)));
            }
            Some(t) if t < self.now => self.line(format!(
                "  ({i}: its {} timer was due at {}; it fires now)",
                timer_name(timer),
                ms(t)
            )),
            Some(_) => {}
            None => self.line(format!(
                "  ({i}: {} was not armed; firing it anyway)",
                timer_name(timer)
            )),
        }
        self.run(i, |n, cx| n.on_timer(cx, timer));
    }

    fn connected(&self, a: NodeId, b: NodeId) -> bool {
        match &self.groups {
            None => true,
            Some(g) => g.iter().any(|grp| grp.contains(&a) && grp.contains(&b)),
        }
    }

    fn deliver_one(&mut self, from: NodeId, to: NodeId, m: LockMsg) {
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
                let problems = self.params.problems();
                let problems = problems
                    .iter()
                    .chain(self.params.cluster_problems(n as usize).iter())
                    .map(|(f, m)| format!("{f}: {m}"))
                    .collect::<Vec<_>>();
                assert!(problems.is_empty(), "{}", problems.join("; "));
                for i in 0..n {
                    self.boot(i, false);
                }
            }
            "fire" => {
                let timer = parse_timer(words.get(2).expect("a timer"));
                for i in words[1].split(',') {
                    self.fire(i.parse().expect("node id"), timer);
                }
            }
            "advance" => {
                self.now += num(1) as u64 * MS;
                self.line(format!("time {}", ms(self.now)));
            }
            "clock" => {
                let i = num(1);
                let d: i64 = words[2]
                    .trim_start_matches('+')
                    .parse()
                    .expect("+MS or -MS");
                self.offsets[i as usize] += d * MS as i64;
                self.line(format!(
                    "  {i}'s clock jumps {}{d} ms: it reads {} while the true time is {}",
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
        let Some(n) = self.nodes[i as usize].as_ref() else {
            self.line(format!("{i}: down"));
            return;
        };
        let v = n.view();
        let clock = match self.offsets[i as usize] {
            0 => String::new(),
            _ => format!(" (local clock {})", ms(self.local(i))),
        };
        let mut s = format!("{i}: {}{clock}", v.role.label);
        let fields: Vec<String> = match &n.part {
            // A client's token is its field; the others' epoch is theirs.
            Part::Client(c) => {
                let mut f = vec![format!("token {}", token(c.token))];
                if c.holding {
                    f.push(format!("believes until local {}", ms(c.lease_end)));
                }
                f
            }
            _ if v.epoch_label.is_empty() => Vec::new(),
            _ => vec![format!(
                "{} {}",
                v.epoch_label,
                if v.epoch_text.is_empty() {
                    v.term.to_string()
                } else {
                    v.epoch_text.clone()
                }
            )],
        };
        let rest = v
            .fields
            .iter()
            .filter(|(l, x)| {
                !matches!(
                    l.as_str(),
                    "service" | "believes until" | "acquired" | "raft term"
                ) && !x.is_empty()
            })
            .map(|(l, x)| format!("{l} {}", tokens_in(x)));
        let all: Vec<String> = fields.into_iter().chain(rest).collect();
        if !all.is_empty() {
            s.push_str(&format!("\n   {}", all.join("; ")));
        }
        self.line(s);
    }
}

impl Transcript for Cluster {
    fn new() -> Self {
        Cluster {
            params: LockParams::default(),
            nodes: Vec::new(),
            disks: Vec::new(),
            rngs: Vec::new(),
            timers: Vec::new(),
            offsets: Vec::new(),
            queue: VecDeque::new(),
            now: 0,
            groups: None,
            monitor: LockMonitor::default(),
            violated: false,
            holders: Vec::new(),
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
    common::golden_transcripts::<Cluster>("lock");
}
