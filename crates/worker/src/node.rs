//! What a node worker does with each message, independent of the browser so it can be
//! unit-tested natively. `main.rs` only moves messages between this and `postMessage`.

use crate::protocol::{FromWorker, ToWorker, PROTOCOL_VERSION};
use quorumlab_sim::remote::RemoteNode;

/// How a node worker hosts a node of a protocol (by name) with its encoded parameters.
/// A node worker binary is built for one protocol ([`hosts`]): it links only that
/// protocol's code.
pub type Builder = fn(&str, &[u8]) -> Result<Box<dyn RemoteNode>, String>;

/// The [`Builder`] of a node worker for protocol `P`, which refuses any other.
pub fn hosts<P: quorumlab_core::Protocol>(
    name: &str,
    params: &[u8],
) -> Result<Box<dyn RemoteNode>, String> {
    if name != P::NAME {
        return Err(format!(
            "this is the {} node worker; the page asked it for a node of {name}",
            P::NAME
        ));
    }
    quorumlab_sim::remote::hosted::<P>(params).map_err(|e| e.to_string())
}

/// Any protocol of the catalogue (natively: tests).
pub fn any_protocol(name: &str, params: &[u8]) -> Result<Box<dyn RemoteNode>, String> {
    quorumlab_sim::remote::remote_node_for(name, params).map_err(|e| e.to_string())
}

/// The state of one node worker: the node's protocol state, once the page has said
/// which scenario it belongs to.
pub struct NodeHost {
    node: u32,
    build: Builder,
    hosted: Option<Box<dyn RemoteNode>>,
}

impl NodeHost {
    /// A node worker hosting any protocol of the catalogue.
    pub fn new(node: u32) -> Self {
        NodeHost::with(node, any_protocol)
    }

    /// A node worker hosting what `build` can build.
    pub fn with(node: u32, build: Builder) -> Self {
        NodeHost {
            node,
            build,
            hosted: None,
        }
    }

    pub fn node(&self) -> u32 {
        self.node
    }

    /// The handshake message, posted once when the worker has started.
    pub fn ready(&self) -> FromWorker {
        FromWorker::Ready {
            node: self.node,
            protocol: PROTOCOL_VERSION,
            worker_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// Handle one message from the page, returning the replies in order.
    pub fn handle(&mut self, msg: ToWorker) -> Vec<FromWorker> {
        match msg {
            ToWorker::Ping { seq } => vec![FromWorker::Pong {
                seq,
                node: self.node,
                digest: digest(seq, self.node),
            }],
            ToWorker::Init { protocol, params } => match (self.build)(&protocol, &params) {
                Ok(h) => {
                    self.hosted = Some(h);
                    vec![FromWorker::Hosting { node: self.node }]
                }
                Err(e) => vec![self.error(format!("cannot host the scenario: {e}"))],
            },
            ToWorker::Job { id, job } => match self.hosted.as_mut() {
                None => vec![self.error("a job arrived before the scenario".into())],
                Some(h) => match h.run(&job) {
                    Ok(result) => vec![FromWorker::Done {
                        id,
                        node: self.node,
                        result,
                    }],
                    Err(e) => vec![self.error(e)],
                },
            },
            ToWorker::View => {
                let view = self.hosted.as_ref().and_then(|h| h.view_bytes());
                vec![FromWorker::View {
                    node: self.node,
                    view,
                }]
            }
        }
    }

    fn error(&self, message: String) -> FromWorker {
        FromWorker::Error {
            message: format!("node {}: {message}", self.node),
        }
    }
}

/// The node id a worker was given through its name (`new Worker(url, { name: "node-3" })`).
pub fn node_from_worker_name(name: &str) -> Option<u32> {
    name.strip_prefix("node-")?.parse().ok()
}

/// FNV-1a over the little-endian bytes of `seq` then `node`.
pub fn digest(seq: u32, node: u32) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in seq.to_le_bytes().into_iter().chain(node.to_le_bytes()) {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_is_answered_with_matching_pong() {
        let mut host = NodeHost::new(3);
        let out = host.handle(ToWorker::Ping { seq: 7 });
        assert_eq!(
            out,
            vec![FromWorker::Pong {
                seq: 7,
                node: 3,
                digest: digest(7, 3)
            }]
        );
        assert_ne!(digest(7, 3), digest(3, 7));
    }

    /// The worker protocol end to end, without a browser: a page-side coordinator and
    /// one `NodeHost` per node exchanging the very messages `postMessage` carries, with a
    /// node's host replaced by a fresh one when it crashes. Same trace as the simulator.
    #[test]
    fn hosts_run_jobs_like_the_simulator() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scenarios/raft-leader-crash.json"
        ))
        .unwrap();
        let s = quorumlab_sim::scenario::load(&text).unwrap();
        let mut c = quorumlab_sim::remote::coordinator(&s, s.seed, 0).unwrap();
        let fresh = |i: usize| {
            let mut h = NodeHost::new(i as u32);
            let out = h.handle(ToWorker::Init {
                protocol: s.protocol.name.clone(),
                params: quorumlab_sim::remote::encode_params(&s).unwrap(),
            });
            assert_eq!(out, vec![FromWorker::Hosting { node: i as u32 }]);
            h
        };
        let mut hosts: Vec<NodeHost> = (0..s.n()).map(fresh).collect();
        let mut id = 0;
        loop {
            for i in c.take_crashed() {
                hosts[i as usize] = fresh(i as usize);
            }
            match c.begin() {
                Err(()) => break,
                Ok(None) => {}
                Ok(Some(jobs)) => {
                    let mut results = Vec::new();
                    for (i, job) in jobs {
                        id += 1;
                        match hosts[i as usize].handle(ToWorker::Job { id, job }).pop() {
                            Some(FromWorker::Done { result, .. }) => results.push((i, result)),
                            other => panic!("{other:?}"),
                        }
                    }
                    c.finish(results).unwrap();
                }
            }
        }
        let mut e = quorumlab_sim::build(&s, s.seed, 0).unwrap();
        e.run_to_end();
        assert_eq!(c.engine().trace_hash(), e.trace_hash());
        assert!(matches!(
            hosts[0].handle(ToWorker::View).pop(),
            Some(FromWorker::View { view: Some(_), .. })
        ));
        let bad = hosts[0].handle(ToWorker::Job {
            id: 1,
            job: b"{".to_vec(),
        });
        assert!(matches!(bad.as_slice(), [FromWorker::Error { .. }]));
    }

    #[test]
    fn worker_names_carry_the_node_id() {
        assert_eq!(node_from_worker_name("node-0"), Some(0));
        assert_eq!(node_from_worker_name("node-12"), Some(12));
        assert_eq!(node_from_worker_name("worker"), None);
        assert_eq!(node_from_worker_name(""), None);
    }

    #[test]
    fn messages_have_the_documented_json_shape() {
        let ping: ToWorker = serde_json::from_str(r#"{"type":"ping","seq":1}"#).unwrap();
        assert_eq!(ping, ToWorker::Ping { seq: 1 });
        let pong = serde_json::to_value(FromWorker::Pong {
            seq: 1,
            node: 0,
            digest: 5,
        })
        .unwrap();
        assert_eq!(
            pong,
            serde_json::json!({"type": "pong", "seq": 1, "node": 0, "digest": 5})
        );
        let ready = serde_json::to_value(NodeHost::new(2).ready()).unwrap();
        assert_eq!(ready["type"], "ready");
        assert_eq!(ready["node"], 2);
        assert_eq!(ready["protocol"], PROTOCOL_VERSION);
    }
}
