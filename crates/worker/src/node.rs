//! What a node worker does with each message, independent of the browser so it can be
//! unit-tested natively. `main.rs` only moves messages between this and `postMessage`.

use crate::protocol::{FromWorker, ToWorker, PROTOCOL_VERSION};

/// The state of one node worker.
#[derive(Debug)]
pub struct NodeHost {
    node: u32,
}

impl NodeHost {
    pub fn new(node: u32) -> Self {
        NodeHost { node }
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
