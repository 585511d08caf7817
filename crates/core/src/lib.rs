//! The pure protocol core of quorumlab.
//!
//! Every protocol is a deterministic state machine. It reacts to a start, a message, a
//! timer or a client request, and records what it wants done (send, set or cancel a
//! timer, persist, reply) as [`Effect`]s in a [`Ctx`]. It never does I/O, never reads a
//! wall clock and never draws randomness except from the seeded [`Rng`] the context lends
//! it. The simulator (`quorumlab-sim`) owns time, the network and the disk; this crate
//! owns only the protocols and the vocabulary they share with it.
//!
//! A crash is the instance being dropped. A restart builds a fresh instance with
//! [`Protocol::boot`] from the node's disk, which is exactly the sum of the
//! [`Protocol::Write`]s it asked to persist (or nothing, if the disk was lost).

pub mod datatype;
pub(crate) mod digest;
pub mod params;
pub mod rng;
pub mod types;
pub mod view;

pub mod fd;
pub mod lock;
pub mod paxos;
pub mod pb;
pub mod quorum;
pub mod raft;
pub mod shard;

pub use datatype::{DataType, OpKind};
pub use params::{ParamKind, ParamSpec};
pub use rng::Rng;
pub use types::*;
pub use view::*;

use core::fmt::Debug;
use core::hash::Hash;
use serde::{de::DeserializeOwned, Serialize};

/// A message a protocol sends between nodes.
pub trait Message: Clone + Debug + Hash + Serialize + DeserializeOwned + 'static {
    /// A short, stable name of the kind of message ("vote", "append", "heartbeat", ...),
    /// used by the page to label messages in flight and by the trace.
    fn kind(&self) -> &'static str;
    /// A short label of this very message for the picture and the console: its kind
    /// and what matters in it ("append 12-14 t3", "promise b7.1"). Read only for
    /// display (never hashed); the default is the kind.
    fn describe(&self) -> String {
        self.kind().to_string()
    }
}

/// A message label from a template: each `{}` takes the next of `nums`, `{-}` too as
/// the end of a range (nothing when it equals the number before), `{k}` takes `key`
/// (`label("append {}{-} t{}", "", &[12, 14, 3])` is "append 12-14 t3"). One
/// formatter for every protocol's [`Message::describe`]: the page pays for it once,
/// and each message variant only for its template and numbers.
#[inline(never)]
pub fn label(template: &str, key: &str, nums: &[i64]) -> String {
    use core::fmt::Write;
    let mut s = String::with_capacity(template.len() + 8);
    let (mut nums, mut last) = (nums.iter(), None);
    let mut parts = template.split('{');
    s.push_str(parts.next().unwrap_or(""));
    for part in parts {
        let (hole, text) = part.split_once('}').unwrap_or(("", part));
        match hole {
            "k" => s.push_str(key),
            "-" => {
                let n = nums.next();
                if let Some(n) = n.filter(|_| n != last) {
                    let _ = write!(s, "-{n}");
                }
            }
            _ => {
                last = nums.next();
                if let Some(n) = last {
                    let _ = write!(s, "{n}");
                }
            }
        }
        s.push_str(text);
    }
    s
}

/// A protocol's timers, typed: an enum of its own. Each has a stable id ([`TimerId`]),
/// which is what the simulator keeps, folds into the trace hash and hands to workers.
pub trait Timer: Copy + Debug + PartialEq + 'static {
    fn id(self) -> TimerId;
    /// The timer with id `id`, if the protocol has one.
    fn from_id(id: TimerId) -> Option<Self>;
}

/// Typed timers for a protocol: `timers!(RaftTimer { Election = 1, Heartbeat = 2 })`
/// defines the enum (ids as discriminants) and its [`Timer`] impl.
#[macro_export]
macro_rules! timers {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $id:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $v = $id),+
        }
        impl $crate::Timer for $name {
            fn id(self) -> $crate::TimerId {
                self as $crate::TimerId
            }
            fn from_id(id: $crate::TimerId) -> Option<Self> {
                match id {
                    $($id => Some($name::$v),)+
                    _ => None,
                }
            }
        }
    };
}

/// One protocol: a deterministic state machine run on every node of a cluster.
pub trait Protocol: Sized + Clone + Debug + 'static {
    /// Stable protocol name, as it appears in scenario files.
    const NAME: &'static str;
    /// Whether the protocol elects a leader (then a healed cluster must have one, and
    /// every member must apply what the leader committed).
    const HAS_LEADER: bool = false;
    /// Whether every node accepts writes at once by design (a leaderless quorum store):
    /// then two nodes acknowledging writes together is no split brain, and the run does
    /// not record who served writes for that anomaly.
    const LEADERLESS: bool = false;
    /// One line for the protocol picker and `quorumlab protocols`.
    const SUMMARY: &'static str = "";
    /// A description of every field of [`Protocol::Params`], in order: type, range,
    /// unit and help text. The scenario schema and the page's editor are derived from
    /// it (the simulator's registry test checks it names exactly the fields).
    const PARAMS: &'static [ParamSpec] = &[];
    /// What its clients may ask of it ([`DataType::CAS_REGISTER`], [`DataType::LOCK`],
    /// or [`DataType::NONE`] for a protocol that serves no client operations): the
    /// workload makes only these operations, and the history is checked against this
    /// type's sequential specification.
    const DATA_TYPE: DataType;
    /// Further data types it serves, which a scenario chooses with its `data_type`
    /// (the protocols that apply a log of commands to the shared key-value store also
    /// serve [`DataType::KV`], its strings grown by append). A run uses one type
    /// throughout, so its history is checked against one specification.
    const ALSO_SERVES: &'static [DataType] = &[];
    /// The data type of the operations its own nodes report as clients
    /// ([`Report::Op`]): a lock service's clients are nodes, and their acquires and
    /// releases make the run's history. `NONE`: its nodes report none.
    const NODE_CLIENTS: DataType = DataType::NONE;
    /// Parameters a user can change (timeouts, switches).
    type Params: Clone + Debug + Default + Serialize + DeserializeOwned + 'static;
    /// What nodes say to each other.
    type Msg: Message;
    /// What survives a crash: the node's disk.
    type Disk: Clone + Debug + Default + Serialize + DeserializeOwned + 'static;
    /// One durable write; the disk is the fold of all writes with [`Protocol::apply_write`].
    type Write: Clone + Debug + Serialize + DeserializeOwned + 'static;
    /// Ghost state kept by the invariant checker across the whole run (for example, who
    /// was leader in which term). It never influences the protocol.
    type Monitor: Clone + Default + Debug + 'static;
    /// Its timers ([`timers!`]).
    type Timer: Timer;

    /// How long clients may wait with nothing committing before the timeline marks the
    /// spell as a stall: about the time the protocol itself takes to notice a dead
    /// leader and replace it (its longest election timeout), so that a mark means
    /// "longer than a failover".
    fn patience(_params: &Self::Params) -> Time {
        SEC
    }

    /// Problems with parameters that their types cannot express (a minimum above its
    /// maximum, say), as `(field, message)` pairs; empty when they make sense.
    fn param_problems(_params: &Self::Params) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Problems with parameters on a cluster of `nodes` nodes (more backups asked for
    /// than there are, say), as `(field, message)` pairs; empty when they make sense.
    fn cluster_problems(_params: &Self::Params, _nodes: usize) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Problems with parameters on all of a scenario's `nodes`, spares included (the
    /// sharded store's spares form the groups that join later, and a group short of
    /// members could never elect a leader), as `(field, message)` pairs.
    fn all_nodes_problems(_params: &Self::Params, _nodes: usize) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Apply one durable write to a disk image.
    fn apply_write(disk: &mut Self::Disk, write: Self::Write);

    /// Build the state of node `id` in a cluster whose initial members are `members`.
    /// `disk` is `None` on first boot and after a restart that lost the disk.
    fn boot(
        id: NodeId,
        members: &[NodeId],
        params: &Self::Params,
        disk: Option<&Self::Disk>,
    ) -> Self;

    /// Called once right after boot: arm timers, send greetings.
    fn start(&mut self, cx: &mut Ctx<'_, Self>);

    /// A message from another node arrived.
    fn on_message(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: Self::Msg);

    /// A timer armed with [`Ctx::set_timer`] fired.
    fn on_timer(&mut self, cx: &mut Ctx<'_, Self>, timer: Self::Timer);

    /// A client request arrived at this node. Every request must eventually get a
    /// [`Ctx::reply`] or be dropped (the client then times out).
    fn on_client(&mut self, cx: &mut Ctx<'_, Self>, req: ClientRequest);

    /// The public, serialisable picture of this node, for the page and the CLI.
    fn view(&self) -> NodeView;

    /// [`Protocol::view`] with only the log entries `window` keeps. The page asks for
    /// the few it draws; a protocol with long logs describes only those (the default
    /// describes every entry, then drops the others).
    fn view_window(&self, window: LogWindow) -> NodeView {
        let mut v = self.view();
        window.trim(&mut v);
        v
    }

    /// Names of the invariants [`Protocol::check`] enforces.
    fn invariants() -> &'static [&'static str];

    /// Check the protocol's invariants after node `changed` handled an event. `nodes`
    /// holds every node's live state (`None` while crashed). Implementations should do
    /// work proportional to what changed, since this runs after every simulated event.
    fn check(
        monitor: &mut Self::Monitor,
        changed: NodeId,
        nodes: &[Option<Self>],
        now: Time,
    ) -> Result<(), Violation>;

    /// Whether this node currently leads (cheap: the simulator asks after every event,
    /// so that a nemesis can aim at leaders). Leaderless protocols keep the default.
    fn is_leader(&self) -> bool {
        false
    }

    /// The node's epoch number: Raft's term, a Paxos ballot's round, a view number; 0
    /// where the protocol has none. Cheap: asked after every event, so that a scenario
    /// can expect "the term does not change" in any runtime.
    fn epoch(&self) -> u64 {
        0
    }

    /// How many entries the node's log holds (its last index); 0 without a log. Cheap,
    /// asked after every event: faults aimed at "the node with the longest log" use it.
    fn log_len(&self) -> u64 {
        0
    }

    /// The peers this node suspects of having failed now, as a bit set (bit `i`: node
    /// `i`; nodes from 64 up are not shown); 0 for protocols without a failure detector.
    /// Cheap, asked after every event: expectations about suspicion use it.
    fn suspects(&self) -> u64 {
        0
    }

    /// Membership change requested by the user or the scenario (add or remove a node).
    /// Protocols without membership change answer with an explanation.
    fn change_membership(
        &mut self,
        _cx: &mut Ctx<'_, Self>,
        _change: MembershipChange,
    ) -> Result<(), String> {
        Err(format!("{} does not support membership change", Self::NAME))
    }
}

/// One thing a protocol asks for while handling an event.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
#[serde(bound = "")]
pub enum Effect<P: Protocol> {
    Send {
        to: NodeId,
        msg: P::Msg,
    },
    SetTimer {
        timer: TimerId,
        after: Time,
    },
    CancelTimer {
        timer: TimerId,
    },
    Persist(P::Write),
    Reply(ClientReply),
    /// Something for the run's record rather than for another node ([`Report`]).
    Report(Report),
}

/// What a node reports for the run's record: nothing in the run depends on it, but the
/// history and the page are built from it. A lock service's clients are nodes of the
/// cluster, not the simulator's workload clients, so they report their own operations
/// (which then enter the history, checked by the lock's sequential specification like
/// a workload's), and its storage reports each write it took or refused.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub enum Report {
    /// This node, acting as a client, invoked `op` (`outcome: None`) or learned how it
    /// ended: it is process `node` in the history. An acquire's `Ok` carries its
    /// fencing token.
    Op { op: Op, outcome: Option<OpEnd> },
    /// This node, a storage service, took (`accepted`) or refused a write from `from`
    /// carrying fencing token `token`; `corrupted`: it took it although it had already
    /// taken a higher token (an older holder's write landing on a newer one's).
    StorageWrite {
        from: NodeId,
        token: u64,
        accepted: bool,
        corrupted: bool,
    },
}

/// How a reported operation ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub enum OpEnd {
    /// It happened; an acquire's fencing token, a read's value.
    Ok(Option<Val>),
    /// It certainly did not happen.
    Fail,
    /// It may or may not have happened.
    Unknown,
}

/// The context a protocol handler runs in: who it is, the node's local clock, the
/// node's seeded RNG, and the list of effects it has asked for.
pub struct Ctx<'a, P: Protocol> {
    id: NodeId,
    now: Time,
    rng: &'a mut Rng,
    effects: &'a mut Vec<Effect<P>>,
}

impl<'a, P: Protocol> Ctx<'a, P> {
    /// Make a context. Used by drivers (the simulator, the golden-transcript harness).
    pub fn new(id: NodeId, now: Time, rng: &'a mut Rng, effects: &'a mut Vec<Effect<P>>) -> Self {
        Ctx {
            id,
            now,
            rng,
            effects,
        }
    }
    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }
    /// The node's local clock in microseconds (subject to the node's skew and drift).
    pub fn now(&self) -> Time {
        self.now
    }
    /// The node's seeded random number generator.
    pub fn rng(&mut self) -> &mut Rng {
        self.rng
    }
    /// Send `msg` to node `to` over the simulated network.
    pub fn send(&mut self, to: NodeId, msg: P::Msg) {
        self.effects.push(Effect::Send { to, msg });
    }
    /// Arm (or re-arm, replacing the earlier deadline) timer `timer` to fire after
    /// `after` microseconds of the node's local clock.
    pub fn set_timer(&mut self, timer: P::Timer, after: Time) {
        self.effects.push(Effect::SetTimer {
            timer: timer.id(),
            after,
        });
    }
    /// Disarm timer `timer`; a disarmed timer never fires.
    pub fn cancel_timer(&mut self, timer: P::Timer) {
        self.effects.push(Effect::CancelTimer { timer: timer.id() });
    }
    /// Make `write` durable. It is on disk before any message sent by this handler
    /// leaves the node.
    pub fn persist(&mut self, write: P::Write) {
        self.effects.push(Effect::Persist(write));
    }
    /// Answer a client.
    pub fn reply(&mut self, reply: ClientReply) {
        self.effects.push(Effect::Reply(reply));
    }
    /// Report something for the run's record ([`Report`]).
    pub fn report(&mut self, report: Report) {
        self.effects.push(Effect::Report(report));
    }
}

#[cfg(test)]
mod label_tests {
    use super::*;

    #[test]
    fn labels_read_as_written() {
        assert_eq!(
            label("append {}{-} t{}", "", &[12, 14, 3]),
            "append 12-14 t3"
        );
        assert_eq!(label("append {}{-} t{}", "", &[12, 12, 3]), "append 12 t3");
        assert_eq!(label("prepare {k} b{}.{}", "x", &[3, 1]), "prepare x b3.1");
        assert_eq!(label("a {} {} {}", "", &[-1]), "a -1  ");
        let m = raft::RaftMsg::VoteReply {
            term: 4,
            granted: false,
        };
        assert_eq!(m.describe(), "vote-reply no t4");
        let p = paxos::basic::PaxosMsg::Reject {
            key: "x".into(),
            ballot: paxos::Ballot::new(2, 1),
            promised: paxos::Ballot::new(3, 0),
        };
        assert_eq!(p.describe(), "reject b2.1");
    }
}
