//! The browser's worker runtime, natively: every node in its own OS thread, the
//! simulator on the calling thread. For each window the simulator writes each node's
//! job into that node's slot and wakes its thread, then spins until every result is
//! there, as the page does with its workers' shared buffers (`web/src/runtime.rs`).
//!
//! It exists to measure what that design can reach on a machine (`quorumlab bench
//! --threads`): the browser adds its own costs, but cannot beat thread wake-ups. And a
//! crashed node's thread really ends; its restart runs on a new one.

use quorumlab_core::NodeId;
use quorumlab_sim::remote::{coordinator, encode_params, remote_node_for};
use quorumlab_sim::Scenario;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

/// Told to a node's thread instead of a job number: end.
const STOP: u64 = u64::MAX;

/// What one run on threads gave.
pub struct Threaded {
    pub trace_hash: u64,
    pub events: u64,
    pub windows: u64,
    /// Threads started (a restart after a crash starts another).
    pub threads: u64,
    pub secs: f64,
}

/// A node's slot: the page's lane, in memory both threads see.
struct Slot {
    /// The job number posted last, and the last one finished.
    posted: AtomicU64,
    done: AtomicU64,
    job: Mutex<Vec<u8>>,
    result: Mutex<Result<Vec<u8>, String>>,
}

struct NodeThread {
    slot: Arc<Slot>,
    handle: JoinHandle<()>,
}

impl NodeThread {
    /// A thread hosting a fresh node of protocol `name` (parameters as a worker gets
    /// them, [`encode_params`]).
    fn spawn(name: String, params: Vec<u8>, id: usize) -> Result<Self, String> {
        let slot = Arc::new(Slot {
            posted: AtomicU64::new(0),
            done: AtomicU64::new(0),
            job: Mutex::new(Vec::new()),
            result: Mutex::new(Ok(Vec::new())),
        });
        let mine = slot.clone();
        let handle = std::thread::Builder::new()
            .name(format!("node-{id}"))
            .spawn(move || {
                let mut node = remote_node_for(&name, &params).map_err(|e| e.to_string());
                let mut seen = 0;
                loop {
                    let posted = mine.posted.load(Ordering::Acquire);
                    if posted == seen {
                        std::thread::park();
                        continue;
                    }
                    if posted == STOP {
                        return;
                    }
                    seen = posted;
                    let job = std::mem::take(&mut *lock(&mine.job));
                    *lock(&mine.result) = match node.as_mut() {
                        Ok(node) => node.run(&job),
                        Err(e) => Err(e.clone()),
                    };
                    mine.done.store(seen, Ordering::Release);
                }
            })
            .map_err(|e| format!("cannot start node {id}'s thread: {e}"))?;
        Ok(NodeThread { slot, handle })
    }

    fn post(&self, number: u64, job: Vec<u8>) {
        *lock(&self.slot.job) = job;
        self.slot.posted.store(number, Ordering::Release);
        self.handle.thread().unpark();
    }

    fn wait(&self, number: u64) -> Result<Vec<u8>, String> {
        let mut spins = 0u32;
        while self.slot.done.load(Ordering::Acquire) != number {
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(1 << 16) && self.handle.is_finished() {
                return Err(format!(
                    "the thread of {} ended without answering",
                    self.handle.thread().name().unwrap_or("a node")
                ));
            }
            std::hint::spin_loop();
        }
        std::mem::replace(&mut *lock(&self.slot.result), Ok(Vec::new()))
    }

    fn stop(self) {
        self.slot.posted.store(STOP, Ordering::Release);
        self.handle.thread().unpark();
        let _ = self.handle.join();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Run `s` with `seed` to its end, one thread per node.
pub fn run(s: &Scenario, seed: u64) -> Result<Threaded, String> {
    let start = Instant::now();
    let mut c = coordinator(s, seed, 0).map_err(|e| e.to_string())?;
    let params = encode_params(s).map_err(|e| e.to_string())?;
    let fresh = |i: usize| NodeThread::spawn(s.protocol.name.clone(), params.clone(), i);
    let mut nodes: Vec<Option<NodeThread>> = (0..s.n()).map(|_| None).collect();
    let (mut windows, mut threads, mut number) = (0u64, 0u64, 0u64);
    let outcome = loop {
        for i in c.take_crashed() {
            // A crash is a real crash: the node's thread ends.
            if let Some(t) = nodes.get_mut(i as usize).and_then(Option::take) {
                t.stop();
            }
        }
        let jobs = match c.begin() {
            Err(()) => break Ok(()),
            Ok(None) => continue,
            Ok(Some(jobs)) => jobs,
        };
        windows += 1;
        number += 1;
        let mut failed = None;
        let ids: Vec<NodeId> = jobs.iter().map(|(i, _)| *i).collect();
        for (i, job) in jobs {
            let slot = &mut nodes[i as usize];
            if slot.is_none() {
                match fresh(i as usize) {
                    Ok(t) => *slot = Some(t),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
                threads += 1;
            }
            if let Some(t) = slot {
                t.post(number, job);
            }
        }
        if let Some(e) = failed {
            break Err(e);
        }
        let mut results = Vec::with_capacity(ids.len());
        for i in ids {
            match nodes[i as usize].as_ref().map(|t| t.wait(number)) {
                Some(Ok(r)) => results.push((i, r)),
                Some(Err(e)) => failed = Some(format!("node {i}: {e}")),
                None => failed = Some(format!("node {i} has no thread")),
            }
        }
        if let Some(e) = failed {
            break Err(e);
        }
        if let Err(e) = c.finish(results) {
            break Err(e);
        }
    };
    for t in nodes.into_iter().flatten() {
        t.stop();
    }
    outcome?;
    let e = c.engine();
    Ok(Threaded {
        trace_hash: e.trace_hash(),
        events: e.events(),
        windows,
        threads,
        secs: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorumlab_sim::scenario;

    fn preset(name: &str) -> Scenario {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../scenarios")
            .join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        scenario::load(&text).unwrap()
    }

    #[test]
    fn a_thread_per_node_gives_the_single_thread_run() {
        for name in [
            "raft-leader-crash.json",
            "raft-minority-partition.json",
            "raft-snapshot-catchup.json",
            "raft-membership.json",
            "raft-nemesis.json",
        ] {
            let s = preset(name);
            for seed in [s.seed, s.seed + 1] {
                let mut alone = quorumlab_sim::build(&s, seed, 0).unwrap();
                alone.run_to_end();
                let t = run(&s, seed).unwrap();
                assert_eq!(t.trace_hash, alone.trace_hash(), "{name} seed {seed}");
                assert_eq!(t.events, alone.events(), "{name} seed {seed}");
                assert!(t.windows > 0);
                assert!(t.threads >= s.n() as u64, "{name}: {} threads", t.threads);
            }
        }
    }

    #[test]
    fn a_crash_ends_the_node_thread_and_a_restart_starts_another() {
        let s = preset("raft-leader-crash.json");
        let t = run(&s, s.seed).unwrap();
        assert!(
            t.threads > s.n() as u64,
            "{} threads for {} nodes",
            t.threads,
            s.n()
        );
    }
}
