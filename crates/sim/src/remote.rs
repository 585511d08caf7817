//! Running nodes somewhere else (one Web Worker per node), with the simulator on the
//! page's side. Both halves speak bytes ([`crate::wire`]), so that whatever carries them
//! (`postMessage`, a shared buffer, a test harness) needs to know nothing about
//! protocols.
//!
//! - [`RemoteNode`] is what a worker holds: one node's protocol state. It runs the
//!   [`Job`]s the simulator sends and answers with [`JobResult`]s.
//! - [`Coordinator`] is the simulator seen from the page: it hands out the jobs of each
//!   window and takes the results back, in any order.
//!
//! The simulator keeps the node's disk, timers and clock; the worker keeps only the
//! protocol state, so a crash may terminate the worker and a restart start a new one.

use crate::engine::{Found, Sim};
use crate::host::{run_job, Job, JobResult};
use crate::run::Engine;
use crate::scenario::{Scenario, ScenarioError};
use quorumlab_core::{NodeId, NodeView, Protocol};

/// One node hosted away from the simulator.
pub trait RemoteNode {
    /// Run one job (an encoded `Job`, see [`encode`]), answering with an encoded
    /// `JobResult`.
    fn run(&mut self, job: &[u8]) -> Result<Vec<u8>, String>;
    /// The node's view, if it is up.
    fn view(&self) -> Option<NodeView>;
    /// The node's view, encoded (see [`encode`]), if it is up.
    fn view_bytes(&self) -> Option<Vec<u8>> {
        self.view().and_then(|v| encode(&v).ok())
    }
}

struct Hosted<P: Protocol> {
    state: Vec<Option<P>>,
    params: P::Params,
}

impl<P: Protocol> RemoteNode for Hosted<P> {
    fn run(&mut self, job: &[u8]) -> Result<Vec<u8>, String> {
        let job: Job<P> = decode(job).map_err(|e| format!("a job that does not decode: {e}"))?;
        let r = run_job(&mut self.state, 0, &self.params, job, &mut |_, _, _| Ok(()));
        encode(&r).map_err(|e| format!("a result that does not encode: {e}"))
    }
    fn view(&self) -> Option<NodeView> {
        self.state
            .first()
            .and_then(|s| s.as_ref())
            .map(|p| p.view())
    }
}

/// How jobs and results cross to a worker ([`crate::wire`]).
pub fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, String> {
    crate::wire::to_vec(value).map_err(|e| e.to_string())
}

/// The other way of [`encode`].
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    crate::wire::from_slice(bytes).map_err(|e| e.to_string())
}

/// Host a node of the scenario's protocol (the node's state starts empty; its first job
/// boots it).
pub fn remote_node(s: &Scenario) -> Result<Box<dyn RemoteNode>, ScenarioError> {
    remote_node_for(&s.protocol.name, &encode_params(s)?)
}

/// A scenario's protocol parameters the way a worker takes them: read (and checked) here,
/// then encoded (see [`encode`]), so the worker needs no JSON at all, which keeps its
/// bundle small.
pub fn encode_params(s: &Scenario) -> Result<Vec<u8>, ScenarioError> {
    crate::registry::encode_params(s)
}

/// Host a node of protocol `name` with its parameters from [`encode_params`]: all a
/// worker needs to know of the scenario (so it carries no scenario parser).
pub fn remote_node_for(name: &str, params: &[u8]) -> Result<Box<dyn RemoteNode>, ScenarioError> {
    crate::registry::remote(name, params)
}

/// A node of protocol `P` with encoded parameters (what the registry builds for
/// [`remote_node_for`]).
pub fn hosted<P: Protocol>(params: &[u8]) -> Result<Box<dyn RemoteNode>, ScenarioError> {
    let params: P::Params = decode(params).map_err(|e| ScenarioError::new("protocol.params", e))?;
    Ok(Box::new(Hosted::<P> {
        state: vec![None],
        params,
    }))
}

/// Encoded jobs or results, one per node with work in a window.
pub type Encoded = Vec<(NodeId, Vec<u8>)>;

/// The simulator with its nodes hosted elsewhere.
pub trait Coordinator {
    /// Start the next step: `Ok(None)` when it was a control event (handled at once),
    /// `Ok(Some(jobs))` for a window (each node's job, encoded), `Err(())` at the end.
    #[allow(clippy::result_unit_err)]
    fn begin(&mut self) -> Result<Option<Encoded>, ()>;
    /// Hand back the window's results (any order).
    fn finish(&mut self, results: Encoded) -> Result<(), String>;
    /// Nodes that crashed since the last call (their workers may be terminated).
    fn take_crashed(&mut self) -> Vec<NodeId>;
    /// Stop at the violation a replica holding every node's state met (see
    /// [`Sim::stop_at`]): workers hold one node each, so they check no invariant.
    fn stop_at(&mut self, found: &Found) -> bool;
    /// The run, for everything that does not need node state (time, hash, history,
    /// metrics). Its `views()` are empty: ask the workers.
    fn engine(&self) -> &dyn Engine;
    fn engine_mut(&mut self) -> &mut dyn Engine;
}

impl<P: Protocol> Coordinator for Sim<P> {
    fn begin(&mut self) -> Result<Option<Encoded>, ()> {
        let jobs = self.begin_step()?;
        Ok(jobs.map(|jobs| {
            jobs.into_iter()
                .map(|(i, j)| (i, encode(&j).unwrap_or_default()))
                .collect()
        }))
    }
    fn finish(&mut self, results: Encoded) -> Result<(), String> {
        let mut parsed = Vec::with_capacity(results.len());
        for (i, r) in results {
            let r: JobResult<P> = decode(&r)
                .map_err(|e| format!("node {i} sent back a result that does not decode: {e}"))?;
            parsed.push((i, r));
        }
        self.finish_window(parsed);
        Ok(())
    }
    fn take_crashed(&mut self) -> Vec<NodeId> {
        Sim::take_crashed(self)
    }
    fn stop_at(&mut self, found: &Found) -> bool {
        Sim::stop_at(self, found)
    }
    fn engine(&self) -> &dyn Engine {
        self
    }
    fn engine_mut(&mut self) -> &mut dyn Engine {
        self
    }
}

pub use crate::registry::coordinator;

/// Run a whole scenario the way the worker runtime does, but in this thread: for tests
/// and for comparing runtimes. Returns the trace hash.
pub fn run_remote_here(s: &Scenario, seed: u64) -> Result<u64, String> {
    run_remote_here_with_expectations(s, seed).map(|r| r.0)
}

/// [`run_remote_here`], with where each of the scenario's expectations stands at the
/// end (decided by the coordinator from what crosses the boundary, as on the page).
pub fn run_remote_here_with_expectations(
    s: &Scenario,
    seed: u64,
) -> Result<(u64, Vec<crate::expect::ExpectOutcome>), String> {
    let c = run_remote_coordinator(s, seed)?;
    Ok((c.engine().trace_hash(), c.engine().expectations()))
}

/// [`run_remote_here`], handing back the finished coordinator (its engine has the
/// run's time, events, violation, history and metrics; no node state).
///
/// When the scenario checks invariants, a replica of the run with every node's state
/// here runs just ahead of the coordinator, as the page's own run does beside the
/// workers: each window is checked by the replica before the workers run it, and a
/// violation it meets stops the coordinator at the same event.
pub fn run_remote_coordinator(s: &Scenario, seed: u64) -> Result<Box<dyn Coordinator>, String> {
    let c = coordinator(s, seed, 0).map_err(|e| e.to_string())?;
    let replica = match s.checks.invariants {
        true => Some(crate::build(s, seed, 0).map_err(|e| e.to_string())?),
        false => None,
    };
    run_remote_with(c, replica, s)
}

/// [`run_remote_coordinator`] with a given coordinator and replica (any [`Engine`]:
/// a `Sim<P>` or a run in an engine module, [`crate::link::Proxy`]).
pub fn run_remote_with(
    mut c: Box<dyn Coordinator>,
    mut replica: Option<Box<dyn crate::Engine>>,
    s: &Scenario,
) -> Result<Box<dyn Coordinator>, String> {
    let n = s.n();
    let fresh = || remote_node(s).map_err(|e| e.to_string());
    let mut nodes: Vec<Box<dyn RemoteNode>> = (0..n).map(|_| fresh()).collect::<Result<_, _>>()?;
    loop {
        for i in c.take_crashed() {
            nodes[i as usize] = fresh()?;
        }
        if let Some(r) = replica.as_mut() {
            if let Some(t) = c.engine().next_time() {
                r.run_until(t);
            }
            if let Some(f) = r.violation() {
                if !c.stop_at(f) {
                    return Err(format!(
                        "the replica met a violation at event {} that the coordinator has passed",
                        f.event
                    ));
                }
                replica = None;
            }
        }
        match c.begin() {
            Err(()) => break,
            Ok(None) => {}
            Ok(Some(jobs)) => {
                let mut results = Vec::with_capacity(jobs.len());
                for (i, job) in jobs.into_iter().rev() {
                    results.push((i, nodes[i as usize].run(&job)?));
                }
                c.finish(results)?;
            }
        }
    }
    Ok(c)
}
