//! Golden transcripts for Basic Paxos (single-decree, one instance per key), in the
//! style of `raft_golden.rs`: a FIFO message queue delivered only when a script says so,
//! timers fired only when it says so, the invariant checker after every event.
//!
//! Scripts live in `tests/golden/paxos/*.txt` (`UPDATE_GOLDEN=1` rewrites them).
//! Commands: `add-nodes N [param=value ...]`; `propose I x=4 | read x [client=C]`;
//! `tick I` (fire node I's round timer); `deliver [A->B]`; `drop A->B`; `crash I`;
//! `restart I`; `status`.

mod common;

use common::{parse_pat, Flat, Transcript};
use quorumlab_core::paxos::basic::{
    Paxos, PaxosDisk, PaxosMsg, PaxosParams, PaxosWrite, TIMER_ROUND,
};
use quorumlab_core::paxos::PaxosMonitor;
use quorumlab_core::{
    ClientReply, ClientRequest, Ctx, Effect, NodeId, Op, Outcome, Protocol, Rng, Time, Timer,
    TimerId,
};
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

fn msg(m: &PaxosMsg) -> String {
    match m {
        PaxosMsg::Prepare { key, ballot } => format!("prepare {key} ballot={ballot}"),
        PaxosMsg::Promise {
            key,
            ballot,
            accepted,
        } => match accepted {
            Some(a) => format!(
                "promise {key} ballot={ballot} accepted={} in {}",
                a.value, a.ballot
            ),
            None => format!("promise {key} ballot={ballot} accepted=none"),
        },
        PaxosMsg::Accept { key, ballot, value } => {
            format!("accept {key} ballot={ballot} value={value}")
        }
        PaxosMsg::Accepted { key, ballot } => format!("accepted {key} ballot={ballot}"),
        PaxosMsg::Reject {
            key,
            ballot,
            promised,
        } => format!("reject {key} ballot={ballot} promised={promised}"),
        PaxosMsg::Chosen { key, value } => format!("chosen {key}={value}"),
    }
}

fn outcome(o: &Outcome) -> String {
    match o {
        Outcome::Ok { value: None } => "ok".into(),
        Outcome::Ok { value: Some(v) } => format!("ok value={v}"),
        Outcome::Fail { reason } => format!("fail: {reason}"),
        Outcome::Redirect { .. } => "redirect".into(),
        Outcome::Unknown { reason } => format!("unknown: {reason}"),
    }
}

struct Cluster {
    params: PaxosParams,
    initial: Vec<NodeId>,
    nodes: Vec<Option<Paxos>>,
    disks: Vec<Option<PaxosDisk>>,
    rngs: Vec<Rng>,
    timers: Vec<BTreeMap<TimerId, Time>>,
    queue: VecDeque<(NodeId, NodeId, PaxosMsg)>,
    now: Time,
    monitor: PaxosMonitor,
    violated: bool,
    seqs: BTreeMap<u32, u64>,
    out: String,
}

impl Cluster {
    fn new() -> Self {
        Cluster {
            params: PaxosParams::default(),
            initial: Vec::new(),
            nodes: Vec::new(),
            disks: Vec::new(),
            rngs: Vec::new(),
            timers: Vec::new(),
            queue: VecDeque::new(),
            now: 0,
            monitor: PaxosMonitor::default(),
            violated: false,
            seqs: BTreeMap::new(),
            out: String::new(),
        }
    }

    fn line(&mut self, s: impl AsRef<str>) {
        self.out.push_str(s.as_ref());
        self.out.push('\n');
    }

    fn view(&self, i: NodeId) -> Option<Flat> {
        self.nodes
            .get(i as usize)
            .and_then(|n| n.as_ref())
            .map(|n| Flat::from(n.view()))
    }

    fn run(&mut self, i: NodeId, f: impl FnOnce(&mut Paxos, &mut Ctx<'_, Paxos>)) {
        let before = self.view(i);
        let iu = i as usize;
        let mut effects = Vec::new();
        {
            let Some(r) = self.nodes[iu].as_mut() else {
                return;
            };
            let mut cx = Ctx::new(i, self.now, &mut self.rngs[iu], &mut effects);
            f(r, &mut cx);
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
                Effect::Persist(w) => {
                    let text = match &w {
                        PaxosWrite::Promise { key, ballot } => format!("promise {key} {ballot}"),
                        PaxosWrite::Accept { key, accepted } => {
                            format!("accept {key}={} in {}", accepted.value, accepted.ballot)
                        }
                    };
                    self.line(format!("  {i} persist {text}"));
                    Paxos::apply_write(self.disks[iu].get_or_insert_with(PaxosDisk::default), w);
                }
                // This protocol reports nothing of its own.
                Effect::Report(_) => {}
                Effect::Reply(ClientReply {
                    client,
                    seq,
                    outcome: o,
                    ..
                }) => {
                    self.line(format!("  {i} reply c{client}#{seq}: {}", outcome(&o)));
                }
            }
        }
        if let (Some(b), Some(a)) = (before, self.view(i)) {
            if a.role != b.role {
                self.line(format!("  {i} {} -> {}", b.role, a.role));
            }
            if a.kv != b.kv {
                let v: Vec<String> = a.kv.iter().map(|(k, v)| format!("{k}={v}")).collect();
                self.line(format!("  {i} learned {{{}}}", v.join(" ")));
            }
        }
        if !self.violated {
            if let Err(v) = Paxos::check(&mut self.monitor, i, &self.nodes, self.now) {
                self.violated = true;
                self.line(format!("  VIOLATION {v}"));
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
        }
        if !disk {
            self.disks[iu] = None;
        }
        self.timers[iu].clear();
        let r = Paxos::boot(i, &self.initial, &self.params, self.disks[iu].as_ref());
        self.nodes[iu] = Some(r);
        let v = self.view(i).expect("booted");
        self.line(format!("  {i} boots as {}: {}", v.role, v.last_change));
        self.run(i, |r, cx| r.start(cx));
    }

    fn deliver_one(&mut self, from: NodeId, to: NodeId, m: PaxosMsg) {
        let text = format!("{from}->{to} {}", msg(&m));
        if self.nodes.get(to as usize).is_none_or(|n| n.is_none()) {
            self.line(format!("{text}  (dropped: node {to} is down)"));
        } else {
            self.line(text);
            self.run(to, |r, cx| r.on_message(cx, from, m));
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
                self.initial = (0..n).collect();
                for i in 0..n {
                    self.boot(i, false);
                }
            }
            "tick" => {
                let i = num(1);
                match self.timers[i as usize].remove(&TIMER_ROUND.id()) {
                    Some(t) => {
                        self.now = self.now.max(t);
                        self.line(format!(
                            "time {}.{:03} ms",
                            self.now / 1000,
                            self.now % 1000
                        ));
                    }
                    None => self.line(format!("  ({i}: the round timer was not armed)")),
                }
                self.run(i, |r, cx| r.on_timer(cx, TIMER_ROUND));
            }
            "propose" => {
                let i = num(1);
                let mut client = 1;
                let mut rest = Vec::new();
                for w in &words[2..] {
                    if let Some(c) = w.strip_prefix("client=") {
                        client = c.parse().expect("client");
                    } else {
                        rest.push(*w);
                    }
                }
                let op = match rest.as_slice() {
                    ["read", k] => Op::Read { key: k.to_string() },
                    [kv] => {
                        let (k, v) = kv.split_once('=').expect("k=v");
                        Op::Write {
                            key: k.to_string(),
                            value: v.parse().expect("int"),
                        }
                    }
                    _ => panic!("`{line}`: bad op"),
                };
                let next = self.seqs.entry(client).or_insert(0);
                *next += 1;
                let seq = *next;
                self.run(i, |r, cx| {
                    r.on_client(cx, ClientRequest { client, seq, op })
                });
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
                self.boot(i, true);
            }
            "status" => {
                for i in 0..self.nodes.len() as NodeId {
                    let Some(v) = self.view(i) else {
                        self.line(format!("{i}: down"));
                        continue;
                    };
                    let mut s = format!("{i}: {} highest round seen {}", v.role, v.term);
                    for e in &v.log {
                        let _ = write!(s, "\n   {}", e.what);
                    }
                    for (k, x) in &v.notes {
                        let _ = write!(s, "\n   {k}: {x}");
                    }
                    self.line(s);
                }
            }
            w => panic!("unknown command {w}"),
        }
    }
}

impl Transcript for Cluster {
    fn new() -> Self {
        Cluster::new()
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
    common::golden_transcripts::<Cluster>("paxos");
}
