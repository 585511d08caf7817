quorumlab_engines::engine!(quorumlab_core::quorum::QuorumKv);
