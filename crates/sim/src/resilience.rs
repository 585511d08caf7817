//! Client-side resilience patterns, as small deterministic state machines the
//! workload's clients (and, for rate limiting, the nodes' front doors) run: which node
//! to send to (a load balancer with health checks), how long to wait before a retry
//! (fixed or exponential back-off with jitter) and whether a retry is allowed at all
//! (a retry budget), a circuit breaker per client per node, and a token bucket. On the
//! nodes' side, a capacity: each node serves client requests one at a time from a
//! bounded queue, so that load (and every retry) costs the node time.
//!
//! Everything is in integer microseconds and draws only from the RNG it is handed, so
//! a run stays the same natively, in the page and in workers.

use quorumlab_core::{NodeId, Rng, Time, MS, SEC};
use serde::{Deserialize, Serialize};

// ---- load balancing ------------------------------------------------------------------

/// How a client picks the node for an attempt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Balance {
    /// Follow the newest leader hint and redirects (what a smart client library does).
    #[default]
    LeaderAware,
    /// Each attempt to the next node in turn; redirects are not followed.
    RoundRobin,
    /// Each attempt to a node drawn at random.
    Random,
    /// At random, in proportion to per-node weights.
    Weighted,
    /// To the node with the fewest operations outstanding from all clients (ties: the
    /// lowest id after the last pick, so that load spreads).
    LeastOutstanding,
}

/// A load balancer in front of the nodes, shared by every client of a run: it counts
/// what is outstanding per node and takes a node out of rotation after `eject_after`
/// failures in a row, for `eject_for`.
#[derive(Clone, Debug)]
pub struct Balancer {
    pub balance: Balance,
    weights: Vec<u32>,
    eject_after: u32,
    eject_for: Time,
    next: usize,
    outstanding: Vec<u32>,
    failures: Vec<u32>,
    ejected_until: Vec<Time>,
}

impl Balancer {
    /// `weights`: per node (missing ones weigh 1); `eject_after` 0: no health checks.
    pub fn new(
        balance: Balance,
        nodes: usize,
        weights: &[u32],
        eject_after: u32,
        eject_for: Time,
    ) -> Self {
        Balancer {
            balance,
            weights: (0..nodes)
                .map(|i| weights.get(i).copied().unwrap_or(1))
                .collect(),
            eject_after,
            eject_for,
            next: 0,
            outstanding: vec![0; nodes],
            failures: vec![0; nodes],
            ejected_until: vec![0; nodes],
        }
    }

    fn grow(&mut self, node: NodeId) {
        let n = node as usize + 1;
        if self.outstanding.len() < n {
            self.outstanding.resize(n, 0);
            self.failures.resize(n, 0);
            self.ejected_until.resize(n, 0);
            self.weights.resize(n, 1);
        }
    }

    /// Whether health checks have taken `node` out of rotation at `now`.
    pub fn ejected(&self, node: NodeId, now: Time) -> bool {
        self.ejected_until
            .get(node as usize)
            .is_some_and(|t| *t > now)
    }

    /// The node for an attempt among `members` at `now`, or `None` when the policy is
    /// leader-aware (the client's own choice stands). Ejected nodes are skipped while
    /// any node is left; with every node ejected, all are candidates again.
    pub fn pick(&mut self, members: &[NodeId], now: Time, rng: &mut Rng) -> Option<NodeId> {
        if self.balance == Balance::LeaderAware || members.is_empty() {
            return None;
        }
        let healthy: Vec<NodeId> = members
            .iter()
            .copied()
            .filter(|m| !self.ejected(*m, now))
            .collect();
        let pool: &[NodeId] = if healthy.is_empty() {
            members
        } else {
            &healthy
        };
        let pick = match self.balance {
            Balance::LeaderAware => return None,
            Balance::RoundRobin => {
                // The next member in id order after the last pick, among the pool.
                let i = pool
                    .iter()
                    .position(|m| *m as usize >= self.next)
                    .unwrap_or(0);
                pool[i]
            }
            Balance::Random => pool[rng.below(pool.len() as u64) as usize],
            Balance::Weighted => {
                let w = |m: NodeId| self.weights.get(m as usize).copied().unwrap_or(1) as u64;
                let total: u64 = pool.iter().map(|m| w(*m)).sum();
                if total == 0 {
                    pool[rng.below(pool.len() as u64) as usize]
                } else {
                    let mut x = rng.below(total);
                    let mut chosen = pool[pool.len() - 1];
                    for m in pool {
                        if x < w(*m) {
                            chosen = *m;
                            break;
                        }
                        x -= w(*m);
                    }
                    chosen
                }
            }
            Balance::LeastOutstanding => {
                let load = |m: NodeId| self.outstanding.get(m as usize).copied().unwrap_or(0);
                let least = pool.iter().map(|m| load(*m)).min().unwrap_or(0);
                let tied: Vec<NodeId> =
                    pool.iter().copied().filter(|m| load(*m) == least).collect();
                let i = tied
                    .iter()
                    .position(|m| *m as usize >= self.next)
                    .unwrap_or(0);
                tied[i]
            }
        };
        self.next = pick as usize + 1;
        Some(pick)
    }

    /// An attempt went to `node`.
    pub fn sent(&mut self, node: NodeId) {
        self.grow(node);
        self.outstanding[node as usize] += 1;
    }

    /// An attempt to `node` is no longer outstanding.
    pub fn release(&mut self, node: NodeId) {
        if let Some(x) = self.outstanding.get_mut(node as usize) {
            *x = x.saturating_sub(1);
        }
    }

    /// The attempt to `node` ended: answered (`ok`: the node was healthy, whatever the
    /// operation's outcome) or failed (timed out, refused, rate limited) at `now`.
    pub fn ended(&mut self, node: NodeId, ok: bool, now: Time) {
        self.release(node);
        self.health(node, ok, now);
    }

    /// What an answer (`ok`) or a failure of `node` says of its health.
    pub fn health(&mut self, node: NodeId, ok: bool, now: Time) {
        self.grow(node);
        let i = node as usize;
        if ok {
            self.failures[i] = 0;
        } else {
            self.failures[i] += 1;
            if self.eject_after > 0 && self.failures[i] >= self.eject_after {
                self.ejected_until[i] = now + self.eject_for;
                self.failures[i] = 0;
            }
        }
    }
}

// ---- the clients' guard -------------------------------------------------------------

/// Every pattern of a run's workload (`workload.client` in the scenario), with the
/// state of each client: the shared balancer, a breaker per client per node, a retry
/// budget per client, and the attempt each client has outstanding. Console clients
/// (the user's own requests) are not guarded.
#[derive(Clone, Debug)]
pub struct Guard {
    pub policy: crate::scenario::ClientPolicy,
    pub balancer: Balancer,
    breakers: Vec<Vec<Breaker>>,
    budgets: Vec<RetryBudget>,
    open: Vec<Option<NodeId>>,
    /// Reads answered from a client's cache.
    pub degraded: u64,
    /// Attempts not sent because every circuit was open.
    pub short_circuited: u64,
    /// Retries the budget refused.
    pub budget_refused: u64,
}

impl Guard {
    pub fn new(policy: &crate::scenario::ClientPolicy, nodes: usize) -> Self {
        Guard {
            policy: policy.clone(),
            balancer: Balancer::new(
                policy.balance,
                nodes,
                &policy.weights,
                policy.eject_after,
                ms(policy.eject_ms),
            ),
            breakers: Vec::new(),
            budgets: Vec::new(),
            open: Vec::new(),
            degraded: 0,
            short_circuited: 0,
            budget_refused: 0,
        }
    }

    fn grow(&mut self, c: usize, nodes: usize) {
        if self.open.len() <= c {
            self.open.resize(c + 1, None);
            let p = &self.policy;
            self.budgets
                .resize(c + 1, RetryBudget::new(p.retry_budget.unwrap_or(0.0), 3));
            let b = p
                .breaker
                .as_ref()
                .map(|b| Breaker::new(b.failures, ms(b.cool_down_ms), b.trials));
            self.breakers
                .resize(c + 1, b.map(|b| vec![b; nodes]).unwrap_or_default());
        }
    }

    /// Whether the balancer, not the client, picks nodes.
    pub fn balanced(&self) -> bool {
        self.policy.balance != Balance::LeaderAware
    }

    /// Client `c`'s breaker for `node` is open at `now`.
    pub fn circuit_open(&self, c: usize, node: NodeId, now: Time) -> bool {
        self.breakers
            .get(c)
            .and_then(|b| b.get(node as usize))
            .is_some_and(|b| b.is_open(now))
    }

    /// The members client `c` may send to at `now` (its circuit to them not open).
    pub fn usable(&self, c: usize, members: &[NodeId], now: Time) -> Vec<NodeId> {
        members
            .iter()
            .copied()
            .filter(|m| !self.circuit_open(c, *m, now))
            .collect()
    }

    /// Client `c` starts an operation: the budget earns its share.
    pub fn started(&mut self, c: usize, nodes: usize) {
        self.grow(c, nodes);
        self.budgets[c].deposit();
    }

    /// Client `c` is about to send to `node` at `now`: whether its breaker lets it
    /// (a half-open one lets one trial through).
    pub fn allow(&mut self, c: usize, node: NodeId, now: Time, nodes: usize) -> bool {
        self.grow(c, nodes);
        match self.breakers[c].get_mut(node as usize) {
            Some(b) => b.allow(now),
            None => true,
        }
    }

    /// Client `c` sent an attempt to `node`.
    pub fn sent(&mut self, c: usize, node: NodeId, nodes: usize) {
        self.grow(c, nodes);
        if let Some(prev) = self.open[c].replace(node) {
            self.balancer.release(prev);
        }
        self.balancer.sent(node);
    }

    /// `node` answered client `c` (`ok`: a real answer, whatever the outcome) or its
    /// attempt failed (timed out, outcome unknown, turned away) at `now`.
    pub fn ended(&mut self, c: usize, node: NodeId, ok: bool, now: Time, nodes: usize) {
        self.grow(c, nodes);
        if self.open[c] == Some(node) {
            self.open[c] = None;
            self.balancer.release(node);
        }
        self.balancer.health(node, ok, now);
        if let Some(b) = self.breakers[c].get_mut(node as usize) {
            if ok {
                b.success();
            } else {
                b.failure(now);
            }
        }
    }

    /// Client `c`'s operation is over: nothing of it is outstanding.
    pub fn finished(&mut self, c: usize) {
        if let Some(prev) = self.open.get_mut(c).and_then(Option::take) {
            self.balancer.release(prev);
        }
    }

    /// Whether client `c` may retry now (the budget pays for it).
    pub fn may_retry(&mut self, c: usize, nodes: usize) -> bool {
        if self.policy.retry_budget.is_none() {
            return true;
        }
        self.grow(c, nodes);
        let ok = self.budgets[c].withdraw();
        self.budget_refused += !ok as u64;
        ok
    }

    /// The wait before retry number `retry`, or `None` with no back-off set (the
    /// client's own rule applies).
    pub fn wait(&self, retry: u32, rng: &mut Rng) -> Option<Time> {
        let p = &self.policy;
        match p.backoff {
            BackoffKind::None => None,
            k => Some(retry_wait(
                k,
                ms(p.backoff_ms),
                ms(p.backoff_max_ms),
                p.jitter,
                retry,
                rng,
            )),
        }
    }

    /// Client `c`'s breakers, by node (for the page).
    pub fn breakers(&self, c: usize) -> &[Breaker] {
        self.breakers.get(c).map_or(&[], Vec::as_slice)
    }
}

// ---- retries -------------------------------------------------------------------------

/// How long to wait between attempts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackoffKind {
    /// Retry at once (today's behaviour after a timeout).
    #[default]
    None,
    /// The same wait every time.
    Fixed,
    /// Doubling from the base up to the cap.
    Exponential,
}

/// The wait before retry number `retry` (1 for the first retry): `base` fixed, or
/// doubled per retry up to `cap`; with `jitter`, a uniform draw in `[0, wait]` ("full
/// jitter": clients that failed together do not retry together).
pub fn retry_wait(
    kind: BackoffKind,
    base: Time,
    cap: Time,
    jitter: bool,
    retry: u32,
    rng: &mut Rng,
) -> Time {
    let wait = match kind {
        BackoffKind::None => return 0,
        BackoffKind::Fixed => base,
        BackoffKind::Exponential => {
            let shift = retry.saturating_sub(1).min(30);
            base.saturating_mul(1 << shift).min(cap.max(base))
        }
    };
    if jitter {
        rng.below(wait + 1)
    } else {
        wait
    }
}

/// A retry budget: retries may add at most `ratio` of the first attempts (plus a few
/// to start with), so that when a service fails, clients do not multiply its load.
/// Each first attempt deposits `ratio` tokens (in thousandths), each retry takes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryBudget {
    /// Thousandths of a retry earned per first attempt.
    per_mille: u64,
    /// Thousandths of a retry in the budget.
    balance: u64,
    cap: u64,
}

impl RetryBudget {
    /// `ratio` retries per first attempt (0.1: one retry per ten requests), with
    /// `initial` retries available at the start (and at most that many saved up,
    /// beyond what the ratio earns over ten requests).
    pub fn new(ratio: f64, initial: u32) -> Self {
        let per_mille = (ratio.clamp(0.0, 10.0) * 1000.0).round() as u64;
        RetryBudget {
            per_mille,
            balance: initial as u64 * 1000,
            cap: initial as u64 * 1000 + per_mille * 10,
        }
    }

    /// A first attempt was made.
    pub fn deposit(&mut self) {
        self.balance = (self.balance + self.per_mille).min(self.cap);
    }

    /// Whether a retry may go now (and if so, it is paid for).
    pub fn withdraw(&mut self) -> bool {
        if self.balance >= 1000 {
            self.balance -= 1000;
            true
        } else {
            false
        }
    }
}

// ---- circuit breaker -----------------------------------------------------------------

/// A circuit breaker's state, as the page draws it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum BreakerState {
    /// Requests flow; `failures` in a row so far.
    Closed { failures: u32 },
    /// Requests fail fast until `until`.
    Open { until: Time },
    /// A few trial requests test the node; `passed` of them succeeded so far, and one
    /// is in flight when `trying`.
    HalfOpen { passed: u32, trying: bool },
}

/// A circuit breaker per client per node: opens after `threshold` failures in a row,
/// stays open for `cool_down`, then lets trial requests through one at a time and
/// closes after `trials` of them succeed (one failure opens it again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breaker {
    pub state: BreakerState,
    threshold: u32,
    cool_down: Time,
    trials: u32,
    /// How many times it opened.
    pub opened: u32,
}

impl Breaker {
    pub fn new(threshold: u32, cool_down: Time, trials: u32) -> Self {
        Breaker {
            state: BreakerState::Closed { failures: 0 },
            threshold: threshold.max(1),
            cool_down,
            trials: trials.max(1),
            opened: 0,
        }
    }

    /// Whether a request may go to the node at `now` (a half-open breaker lets one
    /// trial through at a time; an open one whose cool-down is over turns half-open).
    pub fn allow(&mut self, now: Time) -> bool {
        match self.state {
            BreakerState::Closed { .. } => true,
            BreakerState::Open { until } if now >= until => {
                self.state = BreakerState::HalfOpen {
                    passed: 0,
                    trying: true,
                };
                true
            }
            BreakerState::Open { .. } => false,
            BreakerState::HalfOpen { passed, trying } => {
                if trying {
                    false
                } else {
                    self.state = BreakerState::HalfOpen {
                        passed,
                        trying: true,
                    };
                    true
                }
            }
        }
    }

    /// Whether it lets requests through without asking (for a balancer's choice).
    pub fn is_open(&self, now: Time) -> bool {
        matches!(self.state, BreakerState::Open { until } if now < until)
    }

    pub fn success(&mut self) {
        self.state = match self.state {
            BreakerState::HalfOpen { passed, .. } if passed + 1 < self.trials => {
                BreakerState::HalfOpen {
                    passed: passed + 1,
                    trying: false,
                }
            }
            _ => BreakerState::Closed { failures: 0 },
        };
    }

    pub fn failure(&mut self, now: Time) {
        let open = match self.state {
            BreakerState::Closed { failures } if failures + 1 >= self.threshold => true,
            BreakerState::Closed { failures } => {
                self.state = BreakerState::Closed {
                    failures: failures + 1,
                };
                false
            }
            BreakerState::HalfOpen { .. } => true,
            BreakerState::Open { .. } => false,
        };
        if open {
            self.opened += 1;
            self.state = BreakerState::Open {
                until: now + self.cool_down,
            };
        }
    }
}

// ---- rate limiting -------------------------------------------------------------------

/// A token bucket at a node's front door: `rate` requests a second on average, bursts
/// of up to `burst`. A token is [`TOKEN`] units, so that refills per microsecond are
/// whole numbers down to a rate of one request in a thousand seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenBucket {
    /// Units added per microsecond.
    per_us: u64,
    cap: u64,
    tokens: u64,
    last: Time,
    /// Requests turned away.
    pub rejected: u64,
}

/// Units in one token.
pub const TOKEN: u64 = 1_000_000_000;

impl TokenBucket {
    /// `rate` tokens a second (whole or fractional), `burst` at most; starts full.
    pub fn new(rate: f64, burst: u32) -> Self {
        let cap = burst.max(1) as u64 * TOKEN;
        TokenBucket {
            // rate tokens per 10^6 us = rate * 1000 units per us.
            per_us: (rate.clamp(0.0, 1e6) * (TOKEN / SEC) as f64).round() as u64,
            cap,
            tokens: cap,
            last: 0,
            rejected: 0,
        }
    }

    /// Whether a request arriving at `now` may pass (it takes a token).
    pub fn take(&mut self, now: Time) -> bool {
        let dt = now.saturating_sub(self.last);
        self.last = self.last.max(now);
        self.tokens = self
            .tokens
            .saturating_add(dt.saturating_mul(self.per_us))
            .min(self.cap);
        if self.tokens >= TOKEN {
            self.tokens -= TOKEN;
            true
        } else {
            self.rejected += 1;
            false
        }
    }
}

// ---- capacity ------------------------------------------------------------------------

/// A node's capacity for client requests (`workload.capacity`): one request at a time,
/// each taking `service`, from a FIFO queue holding at most `limit` requests (waiting
/// or being served). A request arriving at a full queue is turned away at once. The
/// node serves what it admitted whether or not its client still waits for it: that is
/// the work a retry storm wastes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceQueue {
    service: Time,
    limit: usize,
    /// When each request held (waiting or being served) will have been served, in
    /// order of arrival (so in increasing order).
    ends: std::collections::VecDeque<Time>,
    /// Requests served (handed to the protocol).
    pub served: u64,
    /// Of those, requests whose client no longer waited for them.
    pub wasted: u64,
    /// Requests turned away because the queue was full.
    pub rejected: u64,
    /// The most requests held at once.
    pub peak: usize,
    /// Crashes so far: a request admitted before the latest one is gone with it.
    pub incarnation: u32,
}

impl ServiceQueue {
    /// `rate` requests a second (the service time is its inverse, in whole
    /// microseconds, at least one), at most `limit` held.
    pub fn new(rate: f64, limit: u32) -> Self {
        ServiceQueue {
            service: (SEC as f64 / rate.clamp(1e-3, 1e6)).round().max(1.0) as Time,
            limit: limit.max(1) as usize,
            ends: Default::default(),
            served: 0,
            wasted: 0,
            rejected: 0,
            peak: 0,
            incarnation: 0,
        }
    }

    /// How long one request takes.
    pub fn service(&self) -> Time {
        self.service
    }

    /// Requests held at `now` (waiting or being served). Times must not go back.
    pub fn held(&mut self, now: Time) -> usize {
        while self.ends.front().is_some_and(|e| *e <= now) {
            self.ends.pop_front();
        }
        self.ends.len()
    }

    /// A request arrives at `now`: when the node will have served it (after those
    /// ahead of it), or `None` when the queue is full and it is turned away.
    pub fn admit(&mut self, now: Time) -> Option<Time> {
        if self.held(now) >= self.limit {
            self.rejected += 1;
            return None;
        }
        let start = self.ends.back().map_or(now, |e| (*e).max(now));
        let end = start + self.service;
        self.ends.push_back(end);
        self.peak = self.peak.max(self.ends.len());
        Some(end)
    }

    /// The node crashed: what it held is gone.
    pub fn clear(&mut self) {
        self.ends.clear();
        self.incarnation += 1;
    }
}

/// A client request on its way through a node's queue: whose attempt it is, when it
/// reached the node, and whether the queue admitted it (it is then due to the protocol
/// when its service ends, unless the node crashed meanwhile: `incarnation` is the
/// queue's when it was admitted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub client: u32,
    pub attempt: u32,
    pub arrived: Time,
    pub admitted: bool,
    pub incarnation: u32,
}

/// Every node's queue, and the tickets of the client requests on their way, by the
/// sequence number of their place in the simulator's input queue.
#[derive(Clone, Debug)]
pub struct Capacity {
    pub queues: Vec<ServiceQueue>,
    tickets: std::collections::BTreeMap<u64, Ticket>,
}

impl Capacity {
    pub fn new(rate: f64, limit: u32, nodes: usize) -> Self {
        Capacity {
            queues: vec![ServiceQueue::new(rate, limit); nodes],
            tickets: Default::default(),
        }
    }

    /// Client `client`'s attempt `attempt` reaches its node at `arrives`, queued as
    /// input `seq`.
    pub fn sent(&mut self, seq: u64, client: u32, attempt: u32, arrives: Time) {
        self.tickets.insert(
            seq,
            Ticket {
                client,
                attempt,
                arrived: arrives,
                admitted: false,
                incarnation: 0,
            },
        );
    }

    /// The ticket of input `seq`, taken out.
    pub fn take(&mut self, seq: u64) -> Option<Ticket> {
        self.tickets.remove(&seq)
    }

    /// Input `seq` is queued again as `new` (`admitted`: due to the protocol then, by
    /// node `node`'s queue; else it arrives again, as after a pause).
    pub fn requeue(&mut self, mut t: Ticket, new: u64, admitted: Option<usize>) {
        t.admitted = admitted.is_some();
        if let Some(q) = admitted.and_then(|n| self.queues.get(n)) {
            t.incarnation = q.incarnation;
        }
        self.tickets.insert(new, t);
    }

    /// Input `old`, held while its node was paused, comes back as `new` and queues
    /// again.
    pub fn resumed(&mut self, old: u64, new: u64) {
        if let Some(t) = self.take(old) {
            self.requeue(t, new, None);
        }
    }
}

/// Milliseconds to microseconds, for the specs' `_ms` fields.
pub fn ms(x: u64) -> Time {
    x.saturating_mul(MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_cycles_and_skips_ejected_nodes() {
        let members = [0, 1, 2];
        let mut rng = Rng::derive(1, 1);
        let mut b = Balancer::new(Balance::RoundRobin, 3, &[], 2, ms(100));
        let picks: Vec<_> = (0..4)
            .map(|_| b.pick(&members, 0, &mut rng).unwrap())
            .collect();
        assert_eq!(picks, vec![0, 1, 2, 0]);
        // Node 1 fails twice: out for 100 ms.
        b.sent(1);
        b.ended(1, false, ms(10));
        b.sent(1);
        b.ended(1, false, ms(20));
        assert!(b.ejected(1, ms(50)));
        let picks: Vec<_> = (0..4)
            .map(|_| b.pick(&members, ms(50), &mut rng).unwrap())
            .collect();
        assert_eq!(picks, vec![2, 0, 2, 0]);
        // Back in rotation after the ejection ends.
        assert!(!b.ejected(1, ms(120)));
        assert_eq!(b.pick(&members, ms(120), &mut rng), Some(1));
        // Leader-aware: the balancer leaves the choice to the client.
        let mut la = Balancer::new(Balance::LeaderAware, 3, &[], 0, 0);
        assert_eq!(la.pick(&members, 0, &mut rng), None);
    }

    #[test]
    fn least_outstanding_and_weighted_spread_load_as_asked() {
        let members = [0, 1, 2];
        let mut rng = Rng::derive(2, 1);
        let mut b = Balancer::new(Balance::LeastOutstanding, 3, &[], 0, 0);
        b.sent(0);
        b.sent(0);
        b.sent(1);
        assert_eq!(b.pick(&members, 0, &mut rng), Some(2));
        b.sent(2);
        assert_eq!(b.pick(&members, 0, &mut rng), Some(1));
        let mut w = Balancer::new(Balance::Weighted, 3, &[1, 0, 3], 0, 0);
        let mut count = [0u32; 3];
        for _ in 0..4000 {
            count[w.pick(&members, 0, &mut rng).unwrap() as usize] += 1;
        }
        assert_eq!(count[1], 0);
        let ratio = count[2] as f64 / count[0] as f64;
        assert!((2.6..3.4).contains(&ratio), "{count:?}");
    }

    #[test]
    fn backoff_is_fixed_or_doubles_to_its_cap_and_jitter_stays_below_it() {
        let mut rng = Rng::derive(3, 1);
        assert_eq!(
            retry_wait(BackoffKind::None, ms(10), ms(80), false, 3, &mut rng),
            0
        );
        assert_eq!(
            retry_wait(BackoffKind::Fixed, ms(10), ms(80), false, 5, &mut rng),
            ms(10)
        );
        let waits: Vec<_> = (1..=6)
            .map(|r| retry_wait(BackoffKind::Exponential, ms(10), ms(80), false, r, &mut rng) / MS)
            .collect();
        assert_eq!(waits, vec![10, 20, 40, 80, 80, 80]);
        let mut distinct = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let w = retry_wait(BackoffKind::Exponential, ms(10), ms(80), true, 4, &mut rng);
            assert!(w <= ms(80));
            distinct.insert(w);
        }
        assert!(distinct.len() > 40);
    }

    #[test]
    fn a_retry_budget_lets_through_about_its_ratio() {
        let mut b = RetryBudget::new(0.2, 2);
        // Two to start with.
        assert!(b.withdraw() && b.withdraw() && !b.withdraw());
        let mut allowed = 0;
        for _ in 0..100 {
            b.deposit();
            // Every request fails and wants a retry.
            allowed += b.withdraw() as u32;
        }
        assert_eq!(allowed, 20);
    }

    #[test]
    fn a_breaker_opens_fails_fast_then_tests_the_node_before_closing() {
        let mut b = Breaker::new(3, ms(100), 2);
        for t in 0..2 {
            assert!(b.allow(ms(t)));
            b.failure(ms(t));
        }
        assert!(matches!(b.state, BreakerState::Closed { failures: 2 }));
        b.failure(ms(5));
        assert_eq!(b.state, BreakerState::Open { until: ms(105) });
        assert!(!b.allow(ms(50)) && b.is_open(ms(50)));
        // Cool-down over: one trial at a time.
        assert!(b.allow(ms(105)));
        assert!(!b.allow(ms(106)));
        b.success();
        assert!(b.allow(ms(110)));
        b.success();
        assert_eq!(b.state, BreakerState::Closed { failures: 0 });
        // A failed trial opens it again.
        for t in 0..3 {
            b.failure(ms(200 + t));
        }
        assert!(b.allow(ms(400)));
        b.failure(ms(400));
        assert_eq!(b.state, BreakerState::Open { until: ms(500) });
        assert_eq!(b.opened, 3);
        // A success in the closed state resets the count.
        let mut c = Breaker::new(2, ms(10), 1);
        c.failure(0);
        c.success();
        c.failure(1);
        assert!(matches!(c.state, BreakerState::Closed { failures: 1 }));
    }

    #[test]
    fn a_service_queue_serves_in_turn_and_turns_away_beyond_its_limit() {
        // 100 requests a second: 10 ms each; at most 3 held.
        let mut q = ServiceQueue::new(100.0, 3);
        assert_eq!(q.service(), ms(10));
        // An idle node serves at once.
        assert_eq!(q.admit(0), Some(ms(10)));
        // Three at once: each waits for those ahead.
        assert_eq!(q.admit(ms(1)), Some(ms(20)));
        assert_eq!(q.admit(ms(2)), Some(ms(30)));
        assert_eq!(q.held(ms(2)), 3);
        assert_eq!(q.admit(ms(3)), None);
        assert_eq!(q.rejected, 1);
        // The first is served at 10 ms: room for one more, behind the others.
        assert_eq!(q.admit(ms(10)), Some(ms(40)));
        assert_eq!(q.peak, 3);
        // Idle again later: no wait.
        assert_eq!(q.held(ms(100)), 0);
        assert_eq!(q.admit(ms(100)), Some(ms(110)));
        q.clear();
        assert_eq!(q.held(ms(101)), 0);
        // Fractional service times round to whole microseconds.
        assert_eq!(ServiceQueue::new(3.0, 1).service(), 333_333);
    }

    #[test]
    fn a_token_bucket_passes_its_burst_then_its_rate() {
        let mut b = TokenBucket::new(10.0, 5);
        // A burst of 5 at once, then nothing until a token refills (every 100 ms).
        let passed = (0..8).filter(|_| b.take(0)).count();
        assert_eq!(passed, 5);
        assert!(!b.take(ms(99)));
        assert!(b.take(ms(100)));
        // Over 10 s of a request every 10 ms (100/s), about 10/s pass.
        let mut n = 0;
        for i in 0..1000u64 {
            n += b.take(ms(200 + i * 10)) as u32;
        }
        assert!((99..=106).contains(&n), "{n}");
        assert!(b.rejected > 800);
    }
}
