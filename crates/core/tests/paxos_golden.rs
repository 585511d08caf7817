//! Golden transcripts for Basic Paxos (single-decree, one instance per key), in the
//! style of `raft_golden.rs`: a FIFO message queue delivered only when a script says so,
//! timers fired only when it says so, the invariant checker after every event.
//!
//! Scripts live in `tests/golden/paxos/*.txt` (`UPDATE_GOLDEN=1` rewrites them).
//! Commands: `add-nodes N [param=value ...]`; `propose I x=4 | read x [client=C]`;
//! `tick I` (fire node I's round timer); and those every transcript has
//! (`tests/common`): `deliver [A->B]`; `drop A->B`; `crash I`; `restart I
//! [--no-disk]`; `partition 0,1 | 2`; `heal`; `status`.

mod common;

use common::{kv, Clients, Flat, Net, Transcript};
use quorumlab_core::paxos::basic::{Paxos, PaxosMsg, PaxosParams, PaxosWrite, TIMER_ROUND};
use quorumlab_core::{Ctx, Effect, NodeId, Outcome, Protocol};
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
        Outcome::Redirect { .. } => "redirect".into(),
        o => common::outcome(o),
    }
}

fn write(w: &PaxosWrite) -> String {
    match w {
        PaxosWrite::Promise { key, ballot } => format!("promise {key} {ballot}"),
        PaxosWrite::Accept { key, accepted } => {
            format!("accept {key}={} in {}", accepted.value, accepted.ballot)
        }
    }
}

struct Cluster {
    params: PaxosParams,
    initial: Vec<NodeId>,
    net: Net<Paxos>,
    clients: Clients,
}

impl Cluster {
    fn line(&mut self, s: impl AsRef<str>) {
        self.net.line(s);
    }

    fn view(&self, i: NodeId) -> Option<Flat> {
        self.net.node(i).map(|n| Flat::from(n.view()))
    }

    fn run(&mut self, i: NodeId, f: impl FnOnce(&mut Paxos, &mut Ctx<'_, Paxos>)) {
        let before = self.view(i);
        let ran = self.net.handle(i, f, |e| match e {
            Effect::Persist(w) => Some(write(w)),
            Effect::Reply(r) => Some(outcome(&r.outcome)),
            // This protocol reports nothing of its own.
            _ => None,
        });
        if !ran {
            return;
        }
        if let (Some(b), Some(a)) = (before, self.view(i)) {
            if a.role != b.role {
                self.line(format!("  {i} {} -> {}", b.role, a.role));
            }
            if a.kv != b.kv {
                self.line(format!("  {i} learned {}", kv(&a.kv)));
            }
        }
        self.net.check(i);
    }

    fn boot(&mut self, i: NodeId, disk: bool) {
        self.net.boot(i, &self.initial, &self.params, disk);
        let v = self.view(i).expect("booted");
        self.line(format!("  {i} boots as {}: {}", v.role, v.last_change));
        self.run(i, |r, cx| r.start(cx));
    }
}

impl Transcript for Cluster {
    type P = Paxos;

    fn new() -> Self {
        Cluster {
            params: PaxosParams::default(),
            initial: Vec::new(),
            net: Net::new(msg),
            clients: Clients::default(),
        }
    }

    fn net(&mut self) -> &mut Net<Paxos> {
        &mut self.net
    }

    fn command(&mut self, line: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let num = |k| common::num(line, k);
        match words[0] {
            "add-nodes" => {
                let n = num(1);
                self.params = common::params::<Paxos>(&words[2..]);
                self.initial = (0..n).collect();
                for i in 0..n {
                    self.boot(i, false);
                }
            }
            "tick" => {
                // In words of its own: the time to the µs, and for a down node only
                // that its timer is not armed (a crash disarmed it).
                let i = num(1);
                match self.net.take_timer(i, TIMER_ROUND) {
                    Some(t) => {
                        let now = self.net.now.max(t);
                        self.net.now = now;
                        self.line(format!("time {}.{:03} ms", now / 1000, now % 1000));
                    }
                    None => self.line(format!("  ({i}: the round timer was not armed)")),
                }
                self.run(i, |r, cx| r.on_timer(cx, TIMER_ROUND));
            }
            "propose" => {
                let req = self.clients.request(&words[2..]);
                self.run(num(1), |r, cx| r.on_client(cx, req));
            }
            w => panic!("unknown command {w}"),
        }
    }

    fn receive(&mut self, from: NodeId, to: NodeId, m: PaxosMsg) {
        self.run(to, |r, cx| r.on_message(cx, from, m));
    }

    fn restart(&mut self, i: NodeId, keep_disk: bool) {
        self.boot(i, keep_disk);
    }

    fn status(&mut self, i: NodeId) {
        let Some(v) = self.view(i) else {
            self.line(format!("{i}: down"));
            return;
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

#[test]
fn golden_transcripts() {
    common::golden_transcripts::<Cluster>("paxos");
}
