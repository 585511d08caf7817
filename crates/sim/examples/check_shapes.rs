//! Write the checker's benchmark shapes as JSON Lines histories into a directory
//! (default `target/shapes`), to feed `quorumlab check` by hand:
//! `cargo run --release -p quorumlab-sim --example check_shapes -- DIR`.

use quorumlab_sim::check::gen::shapes;

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "target/shapes".into());
    std::fs::create_dir_all(&dir).expect("create the directory");
    let out = [
        ("many-keys-one-bad", shapes::many_keys_one_bad(1)),
        ("many-clients-few-keys", shapes::many_clients_few_keys(3000, 1)),
        ("large-20000", shapes::large(20_000, false, 1)),
        ("large-20000-bad", shapes::large(20_000, true, 1)),
        ("large-50000", shapes::large(50_000, false, 1)),
        ("large-50000-bad", shapes::large(50_000, true, 1)),
    ];
    for (name, h) in out {
        let path = format!("{dir}/{name}.jsonl");
        std::fs::write(&path, h.to_jsonl()).expect("write");
        println!("{path}: {} events", h.events.len());
    }
}
