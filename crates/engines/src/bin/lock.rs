quorumlab_engines::engine!(quorumlab_core::lock::Lock);
