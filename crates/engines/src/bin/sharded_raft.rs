quorumlab_engines::engine!(quorumlab_core::shard::ShardedRaft);
