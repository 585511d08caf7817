quorumlab_engines::engine!(quorumlab_core::raft::Raft);
