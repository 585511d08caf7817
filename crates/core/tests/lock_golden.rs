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

use common::{set, Net, Transcript};
use quorumlab_core::lock::{Lock, LockMsg, LockParams, LockTimer, Part};
use quorumlab_core::{
    Ctx, Effect, NodeId, NodeView, OpEnd, Outcome, Protocol, Report, Time, Val, MS,
};

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
    format!("{} ms", common::ms(t))
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
        Outcome::Redirect { leader, .. } => format!("redirect to {leader:?}"),
        o => common::outcome(o),
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
    net: Net<Lock>,
    /// The clients that believed they held the lock after the last event.
    holders: Vec<NodeId>,
}

impl Cluster {
    fn line(&mut self, s: impl AsRef<str>) {
        self.net.line(s);
    }

    fn view(&self, i: NodeId) -> Option<NodeView> {
        self.net.node(i).map(|n| n.view())
    }

    /// Run one handler on node `i` and report everything it did.
    fn run(&mut self, i: NodeId, f: impl FnOnce(&mut Lock, &mut Ctx<'_, Lock>)) {
        let before = self.view(i);
        let ran = self.net.handle(i, f, |e| match e {
            Effect::Reply(r) => Some(outcome(&r.outcome)),
            // What the history and the lock timeline are built from.
            Effect::Report(r) => Some(report(r)),
            // What a write changes shows in the node's view; the disk is kept for
            // restarts.
            _ => None,
        });
        if !ran {
            return;
        }
        if let (Some(b), Some(a)) = (before, self.view(i)) {
            self.diff(i, &b, &a);
        }
        self.net.check(i);
        let holders: Vec<NodeId> = self
            .net
            .ids()
            .filter(|&n| self.net.node(n).is_some_and(|n| n.is_leader()))
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
        let members: Vec<NodeId> = (0..self.params.servers as NodeId).collect();
        self.net.boot(i, &members, &self.params, disk);
        let v = self.view(i).expect("booted");
        self.line(format!(
            "  {i} boots as {}: {}",
            v.role.label, v.last_change
        ));
        self.run(i, |n, cx| n.start(cx));
    }

    fn fire(&mut self, i: NodeId, timer: LockTimer) {
        if !self.net.is_up(i) {
            self.line(format!("node {i} is down"));
            return;
        }
        let now = self.net.now;
        match self.net.take_timer(i, timer) {
            Some(t) if t > now => {
                self.net.now = t;
                self.line(format!("time {}", ms(t)));
            }
            Some(t) if t < now => self.line(format!(
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
}

impl Transcript for Cluster {
    type P = Lock;

    fn new() -> Self {
        Cluster {
            params: LockParams::default(),
            net: Net::new(msg),
            holders: Vec::new(),
        }
    }

    fn net(&mut self) -> &mut Net<Lock> {
        &mut self.net
    }

    fn command(&mut self, line: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let num = |k| common::num(line, k);
        match words[0] {
            "add-nodes" => {
                let n = num(1);
                self.params = common::params::<Lock>(&words[2..]);
                common::assert_sound::<Lock>(&self.params, n as usize);
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
                self.net.now += num(1) as u64 * MS;
                self.line(format!("time {}", ms(self.net.now)));
            }
            "clock" => self.net.jump_clock(num(1), words[2]),
            w => panic!("unknown command {w}"),
        }
    }

    fn receive(&mut self, from: NodeId, to: NodeId, m: LockMsg) {
        self.run(to, |n, cx| n.on_message(cx, from, m));
    }

    fn restart(&mut self, i: NodeId, keep_disk: bool) {
        self.boot(i, keep_disk);
    }

    fn status(&mut self, i: NodeId) {
        let Some(n) = self.net.node(i) else {
            self.line(format!("{i}: down"));
            return;
        };
        let v = n.view();
        let clock = match self.net.offsets[i as usize] {
            0 => String::new(),
            _ => format!(" (local clock {})", ms(self.net.local(i))),
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

#[test]
fn golden_transcripts() {
    common::golden_transcripts::<Cluster>("lock");
}
