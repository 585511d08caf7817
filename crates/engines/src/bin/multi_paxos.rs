quorumlab_engines::engine!(quorumlab_core::paxos::multi::MultiPaxos);
