//! The runtime setting and the page's handle on a Web Worker run.
//!
//! With `?runtime=workers` (the default) every node of the run also lives in its own Web
//! Worker, driven by the coordinator in `crate::runtime`: it follows the playhead, and
//! the trace hash the page shows is the workers' run. The picture and scrubbing use the
//! page's own replica of the run (it keeps checkpoints for going back in time), and the
//! page checks that the two agree: a disagreement would be a determinism bug and is
//! shown as one. With `?runtime=inline` everything runs on the page's thread.

#[cfg(not(target_arch = "wasm32"))]
use quorumlab_core::Time;

/// Where the nodes run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// One Web Worker per node.
    Workers,
    /// On the page's own thread.
    Inline,
}

/// The runtime a query string asks for (`runtime=workers|inline`); the default is
/// workers. An unknown value is an error to show (and the default applies).
pub fn runtime_from_query(query: &str) -> Result<Runtime, String> {
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k != "runtime" {
            continue;
        }
        return match v {
            "workers" | "worker" => Ok(Runtime::Workers),
            "inline" | "main" | "single" => Ok(Runtime::Inline),
            other => Err(format!(
                "?runtime={other} is not a runtime: use ?runtime=workers (one Web Worker per node) or ?runtime=inline (the page's own thread); running with workers"
            )),
        };
    }
    Ok(Runtime::Workers)
}

pub use crate::run_status::WorkerStatus;

#[cfg(target_arch = "wasm32")]
pub use wasm::Mirror;

#[cfg(target_arch = "wasm32")]
mod wasm {
    use super::WorkerStatus;
    use crate::runtime::{Progress, WorkerRun};
    use quorumlab_core::Time;
    use quorumlab_sim::Scenario;
    use yew::Callback;

    /// A run of the page's scenario in Web Workers.
    pub struct Mirror {
        run: WorkerRun,
        revision: u64,
        target: Time,
    }

    fn status(p: &Progress) -> WorkerStatus {
        WorkerStatus {
            now: p.run.now.min(p.end),
            ..p.run.clone()
        }
    }

    impl Mirror {
        /// Start on `scenario`, the page's run number `revision`.
        pub fn start(
            scenario: &Scenario,
            revision: u64,
            on_status: Callback<WorkerStatus>,
        ) -> Result<Mirror, String> {
            let run = WorkerRun::new(scenario, move |p: &Progress| on_status.emit(status(p)))?;
            Ok(Mirror {
                run,
                revision,
                target: 0,
            })
        }

        /// The page's run this one follows.
        pub fn revision(&self) -> u64 {
            self.revision
        }

        /// The furthest time asked for.
        pub fn target(&self) -> Time {
            self.target
        }

        /// Start over with `scenario` (run `revision`) from time 0, keeping the workers.
        pub fn restart(&mut self, scenario: &Scenario, revision: u64) -> Result<(), String> {
            self.run.restart(scenario)?;
            self.revision = revision;
            self.target = 0;
            Ok(())
        }

        /// Ask the workers for their nodes' views (reported through the status callback).
        pub fn refresh_views(&self) -> bool {
            self.run.refresh_views()
        }

        /// Stop the workers' run at the violation the page's run met.
        pub fn stop_at(&self, found: &quorumlab_sim::engine::Found) {
            self.run.stop_at(found);
        }

        /// Run the workers up to `t` (asynchronously; the status callback reports).
        pub fn run_until(&mut self, t: Time) {
            if t > self.target {
                self.target = t;
                self.run.run_until(t);
            }
        }
    }
}

/// Natively there are no workers: the page logic is tested with the inline runtime.
#[cfg(not(target_arch = "wasm32"))]
pub struct Mirror {
    revision: u64,
    target: Time,
}

#[cfg(not(target_arch = "wasm32"))]
impl Mirror {
    pub fn start(
        _scenario: &quorumlab_sim::Scenario,
        _revision: u64,
        _on_status: yew::Callback<WorkerStatus>,
    ) -> Result<Mirror, String> {
        Err("Web Workers exist only in the browser".into())
    }
    pub fn revision(&self) -> u64 {
        self.revision
    }
    pub fn target(&self) -> Time {
        self.target
    }
    pub fn restart(
        &mut self,
        _scenario: &quorumlab_sim::Scenario,
        revision: u64,
    ) -> Result<(), String> {
        self.revision = revision;
        self.target = 0;
        Ok(())
    }
    pub fn run_until(&mut self, t: Time) {
        self.target = self.target.max(t);
    }
    pub fn refresh_views(&self) -> bool {
        false
    }
    pub fn stop_at(&self, _found: &quorumlab_sim::engine::Found) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_picks_the_runtime() {
        assert_eq!(runtime_from_query(""), Ok(Runtime::Workers));
        assert_eq!(runtime_from_query("runtime=inline"), Ok(Runtime::Inline));
        assert_eq!(
            runtime_from_query("a=1&runtime=workers"),
            Ok(Runtime::Workers)
        );
        assert_eq!(runtime_from_query("x=runtime"), Ok(Runtime::Workers));
        let e = runtime_from_query("runtime=gpu").unwrap_err();
        assert!(
            e.contains("?runtime=gpu") && e.contains("?runtime=inline"),
            "{e}"
        );
    }
}
