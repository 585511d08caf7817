quorumlab_engines::engine!(quorumlab_core::paxos::basic::Paxos);
