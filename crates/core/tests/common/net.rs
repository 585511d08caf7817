//! The part of a scripted cluster that every golden driver keeps the same way: the
//! nodes with their disk images, seeded rngs, armed timers and clock offsets; the FIFO
//! queue of messages in flight, which only a script delivers or drops; the partition in
//! force; and the protocol's invariant checker. A driver wraps a [`Net`] and keeps what
//! is its protocol's own: how it prints writes, replies and state, and its commands.
//! The commands every transcript has ([`shared_command`]) ask the driver only for what
//! differs.

use super::{ms, num, set, Transcript};
use quorumlab_core::{Ctx, Effect, NodeId, Protocol, Rng, Time, Timer, TimerId, MS};
use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;

/// A message in flight: sender, receiver, message.
pub type Queued<M> = (NodeId, NodeId, M);

/// The nodes of a scripted cluster and the network between them (see the module's doc).
pub struct Net<P: Protocol> {
    /// Each node's live state; `None` while crashed (or not booted yet).
    pub nodes: Vec<Option<P>>,
    /// Each node's disk image, the fold of every write it persisted; `None` before its
    /// first write and after a restart that lost it.
    pub disks: Vec<Option<P::Disk>>,
    /// Each node's seeded rng, the one the simulator would give it.
    pub rngs: Vec<Rng>,
    /// Each node's armed timers: id to deadline, in global time (as in the simulator,
    /// so a clock jump does not move them).
    pub timers: Vec<BTreeMap<TimerId, Time>>,
    /// How far each node's clock runs ahead of the global one, in µs (negative: behind).
    pub offsets: Vec<i64>,
    /// Messages sent and neither delivered nor dropped yet, oldest first.
    pub queue: VecDeque<Queued<P::Msg>>,
    /// The global clock: it moves only when a timer fires or a script advances it.
    pub now: Time,
    /// The groups of a partition, each able to talk only within itself; `None`: healed.
    pub groups: Option<Vec<Vec<NodeId>>>,
    pub monitor: P::Monitor,
    /// Whether a violation was printed: only the first is (the simulator stops there).
    violated: bool,
    /// The transcript of the command being run.
    pub out: String,
    /// How the driver prints a message.
    msg: fn(&P::Msg) -> String,
}

/// `A->B`, either side `*` for any node: which queued messages a `deliver` or `drop`
/// means.
fn matcher(pattern: &str) -> impl Fn(NodeId, NodeId) -> bool {
    let (a, b) = pattern.split_once("->").expect("A->B");
    let side = |x: &str| -> Option<NodeId> { (x != "*").then(|| x.parse().expect("node id")) };
    let (a, b) = (side(a), side(b));
    move |from, to| a.is_none_or(|a| a == from) && b.is_none_or(|b| b == to)
}

impl<P: Protocol> Net<P> {
    /// No nodes yet; messages will print with `msg`.
    pub fn new(msg: fn(&P::Msg) -> String) -> Self {
        Net {
            nodes: Vec::new(),
            disks: Vec::new(),
            rngs: Vec::new(),
            timers: Vec::new(),
            offsets: Vec::new(),
            queue: VecDeque::new(),
            now: 0,
            groups: None,
            monitor: P::Monitor::default(),
            violated: false,
            out: String::new(),
            msg,
        }
    }

    /// Add one line to the transcript.
    pub fn line(&mut self, s: impl AsRef<str>) {
        self.out.push_str(s.as_ref());
        self.out.push('\n');
    }

    /// The ids of every node booted so far, up or down.
    pub fn ids(&self) -> Range<NodeId> {
        0..self.nodes.len() as NodeId
    }

    /// Node `i`'s state, if it is up.
    pub fn node(&self, i: NodeId) -> Option<&P> {
        self.nodes.get(i as usize).and_then(|n| n.as_ref())
    }

    pub fn is_up(&self, i: NodeId) -> bool {
        self.node(i).is_some()
    }

    /// Node `i`'s own clock: the global one plus its offset.
    pub fn local(&self, i: NodeId) -> Time {
        (self.now as i64 + self.offsets[i as usize]).max(0) as Time
    }

    /// (Re)build node `i` from its disk image (`keep_disk` false: the disk is lost
    /// first), with no timers armed; a node id past the last one grows the cluster.
    /// The driver then prints how it booted and runs its `start`.
    pub fn boot(&mut self, i: NodeId, members: &[NodeId], params: &P::Params, keep_disk: bool) {
        let iu = i as usize;
        while self.nodes.len() <= iu {
            self.nodes.push(None);
            self.disks.push(None);
            self.rngs.push(Rng::derive(7, self.rngs.len() as u64));
            self.timers.push(BTreeMap::new());
            self.offsets.push(0);
        }
        if !keep_disk {
            self.disks[iu] = None;
        }
        self.timers[iu].clear();
        self.nodes[iu] = Some(P::boot(i, members, params, self.disks[iu].as_ref()));
    }

    /// `crash I`: the node's state and timers are gone; its disk stays.
    pub fn crash(&mut self, i: NodeId) {
        self.nodes[i as usize] = None;
        self.timers[i as usize].clear();
        self.line(format!("  {i} crashed"));
    }

    /// Run one handler on node `i` at its local clock, and do with its effects, in
    /// the order it asked for them, what every driver does: print a send as `  send
    /// I->J MSG` and queue it, arm or cancel a timer, apply a write to the node's disk
    /// image. What a persist, a reply or a report says is the driver's: `say` gives it,
    /// or `None` to print nothing, and it prints as `  I persist TEXT`, `  I reply
    /// cC#S: TEXT` or `  I reports TEXT`. False if the node is down: nothing ran.
    pub fn handle(
        &mut self,
        i: NodeId,
        f: impl FnOnce(&mut P, &mut Ctx<'_, P>),
        mut say: impl FnMut(&Effect<P>) -> Option<String>,
    ) -> bool {
        let iu = i as usize;
        let local = self.local(i);
        let mut effects = Vec::new();
        let Some(node) = self.nodes[iu].as_mut() else {
            return false;
        };
        let mut cx = Ctx::new(i, local, &mut self.rngs[iu], &mut effects);
        f(node, &mut cx);
        for e in effects {
            let line = match &e {
                Effect::Send { to, msg } => Some(format!("  send {i}->{to} {}", (self.msg)(msg))),
                Effect::Persist(_) => say(&e).map(|s| format!("  {i} persist {s}")),
                Effect::Reply(r) => {
                    say(&e).map(|s| format!("  {i} reply c{}#{}: {s}", r.client, r.seq))
                }
                Effect::Report(_) => say(&e).map(|s| format!("  {i} reports {s}")),
                Effect::SetTimer { .. } | Effect::CancelTimer { .. } => None,
            };
            if let Some(l) = line {
                self.line(l);
            }
            match e {
                Effect::Send { to, msg } => self.queue.push_back((i, to, msg)),
                Effect::SetTimer { timer, after } => {
                    self.timers[iu].insert(timer, self.now + after);
                }
                Effect::CancelTimer { timer } => {
                    self.timers[iu].remove(&timer);
                }
                Effect::Persist(w) => {
                    P::apply_write(self.disks[iu].get_or_insert_with(Default::default), w)
                }
                Effect::Reply(_) | Effect::Report(_) => {}
            }
        }
        true
    }

    /// The protocol's invariant checker, after node `i` handled an event.
    pub fn check(&mut self, i: NodeId) {
        if self.violated {
            return;
        }
        let now = self.local(i);
        if let Err(v) = P::check(&mut self.monitor, i, &self.nodes, now) {
            self.violated = true;
            self.line(format!("  VIOLATION {v}"));
        }
    }

    /// Disarm node `i`'s `timer`, to fire it: its deadline, if it was armed.
    pub fn take_timer(&mut self, i: NodeId, timer: P::Timer) -> Option<Time> {
        self.timers[i as usize].remove(&timer.id())
    }

    /// Get node `i`'s `timer` ready to fire, the clock moving on to its deadline if that
    /// is later; a timer not armed fires all the same, with a note. False, having said
    /// so, if the node is down.
    pub fn due(&mut self, i: NodeId, timer: P::Timer) -> bool {
        if !self.is_up(i) {
            self.line(format!("node {i} is down"));
            return false;
        }
        match self.take_timer(i, timer) {
            Some(t) => self.now = self.now.max(t),
            None => self.line(format!(
                "  ({i}: that timer was not armed; firing it anyway)"
            )),
        }
        true
    }

    /// Take out of the queue, in order, every message `pattern` (`A->B`, `*` for any
    /// node) matches: what `deliver A->B` hands over (once; what they cause stays
    /// queued).
    pub fn take(&mut self, pattern: &str) -> Vec<Queued<P::Msg>> {
        let hit = matcher(pattern);
        let (taken, kept): (Vec<_>, Vec<_>) =
            self.queue.drain(..).partition(|(f, t, _)| hit(*f, *t));
        self.queue.extend(kept);
        taken
    }

    /// Take out of the queue the oldest message whose ends `pick` accepts.
    pub fn take_first(&mut self, pick: impl Fn(NodeId, NodeId) -> bool) -> Option<Queued<P::Msg>> {
        let k = self.queue.iter().position(|(f, t, _)| pick(*f, *t))?;
        self.queue.remove(k)
    }

    /// `drop A->B`: lose every queued message the pattern matches, each with a line.
    pub fn drop_matching(&mut self, pattern: &str) {
        for (f, t, m) in self.take(pattern) {
            self.line(format!("{f}->{t} {}  (dropped)", (self.msg)(&m)));
        }
    }

    /// Print a message as it is delivered, and say whether it arrives: not at a node
    /// that is down, nor across the partition (either is noted on its line).
    pub fn arrives(&mut self, from: NodeId, to: NodeId, m: &P::Msg) -> bool {
        let text = format!("{from}->{to} {}", (self.msg)(m));
        if !self.is_up(to) {
            self.line(format!("{text}  (dropped: node {to} is down)"));
        } else if !self.connected(from, to) {
            self.line(format!("{text}  (dropped: partitioned)"));
        } else {
            self.line(text);
            return true;
        }
        false
    }

    fn connected(&self, a: NodeId, b: NodeId) -> bool {
        match &self.groups {
            None => true,
            Some(g) => g.iter().any(|grp| grp.contains(&a) && grp.contains(&b)),
        }
    }

    /// `partition 0,1 | 2`, its words after the command: from now on only nodes of one
    /// group reach each other.
    pub fn partition(&mut self, words: &[&str]) {
        let groups: Vec<Vec<NodeId>> = words
            .join(" ")
            .split('|')
            .map(|g| {
                g.split(',')
                    .map(|x| x.trim().parse().expect("node id"))
                    .collect()
            })
            .collect();
        let text: Vec<String> = groups.iter().map(|g| set(g)).collect();
        self.line(format!("  partition {}", text.join(" | ")));
        self.groups = Some(groups);
    }

    /// `heal`: every node reaches every other again.
    pub fn heal(&mut self) {
        self.groups = None;
        self.line("  network healed");
    }

    /// `clock I +MS|-MS`: node `i`'s clock jumps by `by` milliseconds; the global clock
    /// and the armed timers stay where they are.
    pub fn jump_clock(&mut self, i: NodeId, by: &str) {
        let d: i64 = by.trim_start_matches('+').parse().expect("+MS or -MS");
        self.offsets[i as usize] += d * MS as i64;
        self.line(format!(
            "  {i}'s clock jumps {}{d} ms: it reads {} ms while the true time is {} ms",
            if d >= 0 { "+" } else { "" },
            ms(self.local(i)),
            ms(self.now)
        ));
    }
}

/// Run `line` if it is one of the commands every transcript has, and say whether it
/// was:
/// * `deliver [A->B]`: deliver queued messages: all of them, and what they cause, until
///   none is left; or once each message the pattern matches (`*` for any node).
/// * `drop A->B`: lose the queued messages the pattern matches.
/// * `crash I`, `restart I [--no-disk]`, `partition 0,1 | 2`, `heal`, `status`.
pub fn shared_command<D: Transcript>(d: &mut D, line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words[0] {
        "deliver" => match words.get(1) {
            Some(pattern) => {
                for (f, t, m) in d.net().take(pattern) {
                    d.deliver(f, t, m);
                }
            }
            None => {
                while let Some((f, t, m)) = d.net().queue.pop_front() {
                    d.deliver(f, t, m);
                }
            }
        },
        "drop" => d.net().drop_matching(words[1]),
        "crash" => d.net().crash(num(line, 1)),
        "restart" => d.restart(num(line, 1), !words.contains(&"--no-disk")),
        "partition" => d.net().partition(&words[1..]),
        "heal" => d.net().heal(),
        "status" => {
            for i in d.net().ids() {
                d.status(i);
            }
        }
        _ => return false,
    }
    true
}
