//! What the worker runtime (`crate::runtime`, browser-only) reports, and the query
//! settings it reads: compiled natively too, so the UI that shows them is tested without a
//! browser, and the runtime does not depend on the UI.

use quorumlab_core::Time;

/// The most `lane_kib` may ask for (16 MiB).
pub const MAX_LANE_KIB: u32 = 16 * 1024;

/// `lane_kib=N` in the query: the room (KiB) for a job on each worker's shared buffer;
/// bigger jobs and results go by postMessage. For testing that fall-back. `Ok(None)` when
/// absent; an error to show (the default is used) when not a number from 1 to 16384.
pub fn lane_kib_from_query(query: &str) -> Result<Option<u32>, String> {
    let Some(v) = query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("lane_kib="))
        .next_back()
    else {
        return Ok(None);
    };
    match v.parse::<u32>() {
        Ok(k) if (1..=MAX_LANE_KIB).contains(&k) => Ok(Some(k)),
        _ => Err(format!(
            "?lane_kib={v} is not a size for the workers' shared buffers: give 1 to \
             {MAX_LANE_KIB} (KiB); using the default"
        )),
    }
}

/// Where the workers' run stands, as the page shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkerStatus {
    /// Simulated time the workers' run has reached.
    pub now: Time,
    pub events: u64,
    pub trace_hash: String,
    /// The run has reached the scenario's end.
    pub done: bool,
    /// Workers started so far (a crash and restart starts another).
    pub workers_started: u32,
    /// Workers running now.
    pub live: u32,
    pub error: Option<String>,
    /// The nodes' views as their workers reported them, and the run's time then.
    pub views: Vec<Option<quorumlab_core::NodeView>>,
    pub views_at: Option<Time>,
    /// Windows whose jobs went over the workers' shared buffers (not `postMessage`).
    pub shared_windows: u64,
    /// Windows that needed `postMessage` (no shared memory, a worker not listening on its
    /// buffer yet, or a job or result too big for it).
    pub posted_windows: u64,
    /// The page may share memory with its workers (it is cross-origin isolated).
    pub shared_memory: bool,
    /// Wall-clock milliseconds from the run's start until its first window was finished
    /// (its workers started, loaded their WebAssembly and booted their nodes), and the
    /// events by then: what a run pays once, before it runs at speed.
    pub startup_ms: Option<f64>,
    pub startup_events: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_sizes_the_lanes() {
        assert_eq!(
            lane_kib_from_query("runtime=workers&lane_kib=1"),
            Ok(Some(1))
        );
        assert_eq!(lane_kib_from_query("lane_kib=16384"), Ok(Some(16384)));
        assert_eq!(lane_kib_from_query(""), Ok(None));
        assert_eq!(lane_kib_from_query("runtime=inline"), Ok(None));
        for bad in ["0", "16385", "99999", "x", "", "-1"] {
            let e = lane_kib_from_query(&format!("lane_kib={bad}")).unwrap_err();
            assert!(e.contains(&format!("?lane_kib={bad} ")), "{e}");
            assert!(e.contains("1 to 16384"), "{e}");
        }
    }
}
