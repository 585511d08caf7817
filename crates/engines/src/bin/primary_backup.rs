quorumlab_engines::engine!(quorumlab_core::pb::PrimaryBackup);
