quorumlab_worker::node_worker!(quorumlab_core::paxos::basic::Paxos);
