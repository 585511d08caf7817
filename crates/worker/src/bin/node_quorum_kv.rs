quorumlab_worker::node_worker!(quorumlab_core::quorum::QuorumKv);
