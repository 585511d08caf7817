quorumlab_engines::engine!(quorumlab_core::fd::PhiAccrual);
