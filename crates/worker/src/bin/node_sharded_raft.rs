quorumlab_worker::node_worker!(quorumlab_core::shard::ShardedRaft);
