//! The simulated network: per-link latency, loss, duplication and reordering, and
//! partitions and one-way cuts. Every random choice comes from the network's own
//! seeded stream.

use crate::detmath;
use crate::scenario::{Distribution, LatencySpec, LongDelay, NetworkSpec, Scenario};
use quorumlab_core::{NodeId, Rng, Time};

/// A link's behaviour, in microseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    pub base: Time,
    pub jitter: Time,
    pub dist: Distribution,
    pub loss: f64,
    pub duplicate: f64,
    pub reorder: f64,
    /// Long delays: (probability, least, most extra time).
    pub long: Option<(f64, Time, Time)>,
}

fn us(ms: f64) -> Time {
    (ms * 1000.0).round().max(0.0) as Time
}

impl Link {
    fn from_spec(l: &LatencySpec, loss: f64, duplicate: f64, reorder: f64) -> Link {
        Link {
            base: us(l.base_ms),
            jitter: us(l.jitter_ms),
            dist: l.distribution,
            loss,
            duplicate,
            reorder,
            long: None,
        }
    }
}

fn long_of(l: &LongDelay) -> (f64, Time, Time) {
    let lo = us(l.min_ms);
    (l.probability, lo, us(l.max_ms).max(lo))
}

/// What a `degrade` fault sets on a link (`None`: unchanged).
#[derive(Clone, Copy, Debug, Default)]
pub struct Degradation<'a> {
    pub latency: Option<&'a LatencySpec>,
    pub loss: Option<f64>,
    pub duplicate: Option<f64>,
    pub reorder: Option<f64>,
    pub long_delay: Option<&'a LongDelay>,
}

/// What the network did with one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Cut by a partition.
    Blocked,
    /// Lost.
    Lost,
    /// Arrives at this time, and maybe a second copy at another.
    Arrives(Time, Option<Time>),
}

#[derive(Clone, Debug)]
pub struct Network {
    n: usize,
    /// The scenario's links, `from * n + to`.
    configured: Vec<Link>,
    /// The links now (after `degrade` faults).
    links: Vec<Link>,
    /// `blocked[from * n + to]`: messages from `from` to `to` are dropped.
    blocked: Vec<bool>,
    /// Anything blocked at all (fast path).
    any_blocked: bool,
    rng: Rng,
    /// Fixed latency between a client and its node.
    pub client_latency: Time,
}

impl Network {
    pub fn new(s: &Scenario, rng: Rng) -> Network {
        let n = s.n();
        let NetworkSpec {
            latency,
            loss,
            duplicate,
            reorder,
            client_latency_ms,
            long_delay,
        } = &s.network;
        let mut dflt = Link::from_spec(latency, *loss, *duplicate, *reorder);
        dflt.long = long_delay.as_ref().map(long_of);
        let mut configured = vec![dflt; n * n];
        for l in &s.links {
            let mut apply = |from: NodeId, to: NodeId| {
                let c = &mut configured[from as usize * n + to as usize];
                if let Some(x) = &l.latency {
                    let k = Link::from_spec(x, c.loss, c.duplicate, c.reorder);
                    c.base = k.base;
                    c.jitter = k.jitter;
                    c.dist = k.dist;
                }
                if let Some(x) = l.loss {
                    c.loss = x;
                }
                if let Some(x) = l.duplicate {
                    c.duplicate = x;
                }
                if let Some(x) = l.reorder {
                    c.reorder = x;
                }
                if let Some(x) = &l.long_delay {
                    c.long = Some(long_of(x));
                }
            };
            apply(l.from, l.to);
            if l.both_ways {
                apply(l.to, l.from);
            }
        }
        Network {
            n,
            links: configured.clone(),
            configured,
            blocked: vec![false; n * n],
            any_blocked: false,
            rng,
            client_latency: us(*client_latency_ms),
        }
    }

    /// The simulator's lookahead: the least time in which a node can affect another,
    /// over every link and every link a fault may set. That is the least message latency,
    /// or a round trip through a client (reply, then the client's next request), if
    /// shorter.
    pub fn min_latency(s: &Scenario) -> Time {
        let mut m = us(s.network.latency.base_ms).min(2 * us(s.network.client_latency_ms));
        for l in &s.links {
            if let Some(x) = &l.latency {
                m = m.min(us(x.base_ms));
            }
        }
        for f in &s.faults {
            if let crate::scenario::FaultKind::Degrade {
                latency: Some(x), ..
            } = &f.kind
            {
                m = m.min(us(x.base_ms));
            }
        }
        m.max(1)
    }

    pub fn link(&self, from: NodeId, to: NodeId) -> &Link {
        &self.links[from as usize * self.n + to as usize]
    }

    pub fn is_blocked(&self, from: NodeId, to: NodeId) -> bool {
        self.any_blocked && self.blocked[from as usize * self.n + to as usize]
    }

    fn draw_latency(rng: &mut Rng, l: &Link) -> Time {
        let j = l.jitter;
        let extra = if j == 0 {
            0
        } else {
            match l.dist {
                Distribution::Uniform => rng.below(j + 1),
                Distribution::Normal => {
                    // Irwin-Hall: the sum of 12 uniforms less 6 is close to N(0, 1).
                    let mut s = 0.0;
                    for _ in 0..12 {
                        s += rng.unit();
                    }
                    ((s - 6.0).abs() * j as f64) as Time
                }
                Distribution::Exponential => {
                    let u = 1.0 - rng.unit();
                    ((-detmath::ln(u)) * j as f64).min(1e12) as Time
                }
            }
        };
        l.base + extra
    }

    /// Decide the fate of a message sent now from `from` to `to`.
    pub fn route(&mut self, from: NodeId, to: NodeId, now: Time) -> Fate {
        if self.is_blocked(from, to) {
            return Fate::Blocked;
        }
        let l = &self.links[from as usize * self.n + to as usize];
        let rng = &mut self.rng;
        if rng.chance(l.loss) {
            return Fate::Lost;
        }
        let mut lat = Self::draw_latency(rng, l);
        if rng.chance(l.reorder) {
            lat += rng.below(3 * lat + 1);
        }
        // Drawn only where configured: other runs' random streams stay as they were.
        if let Some((p, lo, hi)) = l.long {
            if rng.chance(p) {
                lat += lo + rng.below(hi - lo + 1);
            }
        }
        let dup = if rng.chance(l.duplicate) {
            Some(now + Self::draw_latency(rng, l) + rng.below(l.base + l.jitter + 1))
        } else {
            None
        };
        Fate::Arrives(now + lat, dup)
    }

    /// A client's request to `node`. A client runs beside its home node: the hop
    /// between them takes the client latency and is never lost; to any other node the
    /// request then crosses the node network from `home` to `node` (its latency, loss,
    /// partitions and cuts). `None`: lost or blocked. Duplicates are not made.
    pub fn route_client(&mut self, home: NodeId, node: NodeId, now: Time) -> Option<Time> {
        self.client_hop(node, home, now, true)
    }

    /// A node's reply to a client: the way back of [`Network::route_client`], over the
    /// network from `node` to `home` (so a one-way cut `node -> home` stops replies, not
    /// requests), then the client latency.
    pub fn route_to_client(&mut self, node: NodeId, home: NodeId, now: Time) -> Option<Time> {
        self.client_hop(node, home, now, false)
    }

    fn client_hop(&mut self, node: NodeId, home: NodeId, now: Time, request: bool) -> Option<Time> {
        if home == node {
            return Some(now + self.client_latency);
        }
        let fate = if request {
            self.route(home, node, now)
        } else {
            self.route(node, home, now)
        };
        match fate {
            Fate::Arrives(t, _) => Some(t + self.client_latency),
            _ => None,
        }
    }

    /// Partition into groups; nodes in no group form one more group.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) {
        let n = self.n;
        let mut g = vec![usize::MAX; n];
        for (i, grp) in groups.iter().enumerate() {
            for &x in grp {
                if (x as usize) < n {
                    g[x as usize] = i;
                }
            }
        }
        for a in 0..n {
            for b in 0..n {
                if g[a] != g[b] {
                    self.blocked[a * n + b] = true;
                }
            }
        }
        self.any_blocked = self.blocked.iter().any(|b| *b);
    }

    /// Cut one direction of one link.
    pub fn cut(&mut self, from: NodeId, to: NodeId) {
        self.blocked[from as usize * self.n + to as usize] = true;
        self.any_blocked = true;
    }

    /// Cut every link to and from `node`, both ways.
    pub fn isolate(&mut self, node: NodeId) {
        let (n, x) = (self.n, node as usize);
        if x >= n {
            return;
        }
        for o in (0..n).filter(|&o| o != x) {
            self.blocked[x * n + o] = true;
            self.blocked[o * n + x] = true;
        }
        self.any_blocked = self.blocked.iter().any(|b| *b);
    }

    /// Unblock every link to and from `node`; cuts between other nodes stay.
    pub fn reconnect(&mut self, node: NodeId) {
        let (n, x) = (self.n, node as usize);
        if x >= n {
            return;
        }
        for o in 0..n {
            self.blocked[x * n + o] = false;
            self.blocked[o * n + x] = false;
        }
        self.any_blocked = self.blocked.iter().any(|b| *b);
    }

    /// Remove every partition and cut.
    pub fn heal(&mut self) {
        self.blocked.iter_mut().for_each(|b| *b = false);
        self.any_blocked = false;
    }

    /// Change the link `from -> to`: what `d` sets, the rest as it is.
    pub fn degrade(&mut self, from: NodeId, to: NodeId, d: &Degradation<'_>) {
        let l = &mut self.links[from as usize * self.n + to as usize];
        if let Some(x) = d.latency {
            l.base = us(x.base_ms);
            l.jitter = us(x.jitter_ms);
            l.dist = x.distribution;
        }
        if let Some(x) = d.loss {
            l.loss = x;
        }
        if let Some(x) = d.duplicate {
            l.duplicate = x;
        }
        if let Some(x) = d.reorder {
            l.reorder = x;
        }
        if let Some(x) = d.long_delay {
            l.long = Some(long_of(x));
        }
    }

    /// Set loss and duplication on every link (the nemesis' "bad network" spell);
    /// `None` puts back the scenario's values.
    /// Override loss, duplication and reordering on every link (`None`: as configured).
    pub fn set_all(&mut self, loss: Option<f64>, duplicate: Option<f64>, reorder: Option<f64>) {
        for (l, c) in self.links.iter_mut().zip(&self.configured) {
            l.loss = loss.unwrap_or(c.loss);
            l.duplicate = duplicate.unwrap_or(c.duplicate);
            l.reorder = reorder.unwrap_or(c.reorder);
        }
    }

    pub fn restore(&mut self, from: NodeId, to: NodeId) {
        let i = from as usize * self.n + to as usize;
        self.links[i] = self.configured[i].clone();
    }

    /// Pairs `(from, to)` cut right now, for the picture.
    pub fn blocked_pairs(&self) -> Vec<(NodeId, NodeId)> {
        let mut v = Vec::new();
        if self.any_blocked {
            for a in 0..self.n {
                for b in 0..self.n {
                    if self.blocked[a * self.n + b] {
                        v.push((a as NodeId, b as NodeId));
                    }
                }
            }
        }
        v
    }

    /// True when nothing is cut and every link is as configured.
    pub fn is_healthy(&self) -> bool {
        !self.any_blocked && self.links == self.configured
    }
}
