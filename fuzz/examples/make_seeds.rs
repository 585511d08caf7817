//! Writes the seeds that are not plain repository files: share links, `wire` bytes of real
//! jobs and results, JSON Lines histories of real runs. Run from `fuzz/`:
//! `cargo run --release --example make_seeds` (stable is enough). The committed seeds in
//! `seeds/` came from this and from the repository's inputs (see README.md).

use quorumlab_sim::remote::{self, RemoteNode};
use quorumlab_sim::{scenario, url};
use std::fs;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seeds = root.join("seeds");
    let picks = [
        "raft-first-election",
        "raft-nemesis",
        "raft-membership",
        "multi-paxos-nemesis",
        "paxos-dueling-proposers",
        "fd-jitter-phi-accrual",
        "fd-partition",
    ];
    for dir in ["url", "wire", "history_jsonl"] {
        fs::create_dir_all(seeds.join(dir)).unwrap();
    }
    for name in picks {
        let text = fs::read_to_string(root.join(format!("../scenarios/{name}.json"))).unwrap();
        let s = scenario::load(&text).unwrap();
        // A share link, as `quorumlab url` prints it and as a fragment.
        let link = url::encode(&s);
        fs::write(
            seeds.join(format!("url/{name}.txt")),
            format!("https://quorumlab.example/#{link}"),
        )
        .unwrap();
        fs::write(seeds.join(format!("url/{name}-fragment.txt")), &link).unwrap();

        // Wire bytes: the first byte says protocol and kind (see `quorumlab_fuzz::wire`).
        let p = quorumlab_sim::PROTOCOLS
            .iter()
            .position(|n| *n == s.protocol.name)
            .unwrap() as u8;
        let k = quorumlab_sim::PROTOCOLS.len() as u8;
        let params = remote::encode_params(&s).unwrap();
        fs::write(
            seeds.join(format!("wire/{name}-params.bin")),
            [&[p + 2 * k][..], &params].concat(),
        )
        .unwrap();
        let mut c = remote::coordinator(&s, 7, 0).unwrap();
        let mut nodes: Vec<Box<dyn RemoteNode>> = (0..s.n())
            .map(|_| remote::remote_node(&s).unwrap())
            .collect();
        let (mut jobs_kept, mut windows) = (0, 0);
        loop {
            for i in c.take_crashed() {
                nodes[i as usize] = remote::remote_node(&s).unwrap();
            }
            match c.begin() {
                Err(()) => break,
                Ok(None) => {}
                Ok(Some(jobs)) => {
                    windows += 1;
                    let mut results = Vec::new();
                    for (i, job) in jobs {
                        let r = nodes[i as usize].run(&job).unwrap();
                        // Keep a few small and a few bigger jobs and results.
                        if jobs_kept < 4
                            && (windows % 97 == 3)
                            && job.len() < 3000
                            && r.len() < 3000
                        {
                            jobs_kept += 1;
                            fs::write(
                                seeds.join(format!("wire/{name}-job{jobs_kept}.bin")),
                                [&[p][..], &job].concat(),
                            )
                            .unwrap();
                            fs::write(
                                seeds.join(format!("wire/{name}-result{jobs_kept}.bin")),
                                [&[p + k][..], &r].concat(),
                            )
                            .unwrap();
                            if let Some(v) = nodes[i as usize].view_bytes() {
                                fs::write(
                                    seeds.join(format!("wire/{name}-view{jobs_kept}.bin")),
                                    [&[p + 3 * k][..], &v].concat(),
                                )
                                .unwrap();
                            }
                        }
                        results.push((i, r));
                    }
                    c.finish(results).unwrap();
                }
            }
            if c.engine().now() > 3_000_000 {
                break;
            }
        }
        // A history of the run, cut to a few dozen lines.
        let h = c.engine().history().to_jsonl();
        let short: String = h.lines().take(40).map(|l| format!("{l}\n")).collect();
        if !short.is_empty() {
            fs::write(seeds.join(format!("history_jsonl/{name}.jsonl")), short).unwrap();
        }
    }
}
