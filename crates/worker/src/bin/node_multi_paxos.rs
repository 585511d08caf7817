quorumlab_worker::node_worker!(quorumlab_core::paxos::multi::MultiPaxos);
