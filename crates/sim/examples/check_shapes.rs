//! Write the checker's benchmark shapes as JSON Lines histories into a directory
//! (default `target/shapes`), to feed `quorumlab check` by hand:
//! `cargo run --release -p quorumlab-sim --example check_shapes -- DIR`.

use quorumlab_sim::check::gen::shapes;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/shapes".into());
    std::fs::create_dir_all(&dir).expect("create the directory");
    let kv = quorumlab_sim::check::gen::GenSpec {
        model: quorumlab_sim::check::Model::Kv,
        clients: 50,
        ops: 4000,
        keys: 8,
        max_latency: 3000,
        max_think: 500,
        unknown_per_mille: 10,
    };
    let out = [
        (
            "kv-4000",
            quorumlab_sim::check::gen::linearizable_history(&kv, 1),
        ),
        ("many-keys-one-bad", shapes::many_keys_one_bad(1)),
        (
            "many-clients-few-keys",
            shapes::many_clients_few_keys(3000, 1),
        ),
        (
            "many-clients-few-keys-squashed",
            shapes::many_clients_few_keys_squashed(3000, 1),
        ),
        ("large-20000", shapes::large(20_000, false, 1)),
        ("large-20000-bad", shapes::large(20_000, true, 1)),
        ("large-50000", shapes::large(50_000, false, 1)),
        ("large-50000-bad", shapes::large(50_000, true, 1)),
    ];
    if let Ok(dir) = std::env::var("LAYOUT_AB") {
        // Time the Jepsen etcd corpus in DIR with each memo layout, alternately.
        use quorumlab_sim::check::{self, MemoLayout, Model, Options};
        let files: Vec<String> = std::fs::read_dir(&dir)
            .expect("a directory")
            .filter_map(|e| e.ok())
            .map(|e| e.path().to_string_lossy().into_owned())
            .filter(|p| p.ends_with(".log"))
            .collect();
        let parsed: Vec<_> = files
            .iter()
            .map(|f| check::parse_jepsen_log(&std::fs::read_to_string(f).unwrap()).unwrap())
            .collect();
        for round in 0..4 {
            for layout in [MemoLayout::Full, MemoLayout::Auto] {
                let t = std::time::Instant::now();
                let mut opts = Options::new(Model::CasRegister);
                opts.memo_layout = layout;
                for p in &parsed {
                    check::check_parsed(p, &opts, &mut || false).unwrap();
                }
                println!(
                    "round {round} {layout:?}: {:.1} ms",
                    t.elapsed().as_secs_f64() * 1e3
                );
            }
        }
        let squashed = shapes::many_clients_few_keys_squashed(3000, 1);
        let kvh = quorumlab_sim::check::gen::linearizable_history(&kv, 1);
        for round in 0..3 {
            for (name, h, model) in [
                ("squashed", &squashed, Model::Register),
                ("kv", &kvh, Model::Kv),
            ] {
                for layout in [MemoLayout::Full, MemoLayout::Auto] {
                    let t = std::time::Instant::now();
                    let mut opts = Options::new(model);
                    opts.memo_layout = layout;
                    let (v, st) = check::check_with(h, None, &opts, &mut || false).unwrap();
                    println!(
                        "round {round} {name} {layout:?}: {:.1} ms, {} held, {:?}",
                        t.elapsed().as_secs_f64() * 1e3,
                        st.peak_bytes,
                        v.exit_code()
                    );
                }
            }
        }
        return;
    }
    if let Ok(pick) = std::env::var("KV_STALE") {
        // The kv history with one read cut back to drop its last appended piece.
        let mut h = quorumlab_sim::check::gen::linearizable_history(&kv, 1);
        let pick: usize = pick.parse().expect("a number");
        let reads: Vec<usize> = (0..h.events.len())
            .filter(|&i| {
                let e = &h.events[i];
                e.kind == quorumlab_sim::history::EventType::Ok
                    && e.f == quorumlab_sim::history::Func::Read
                    && matches!(&e.value, quorumlab_sim::history::Value::Str(s) if s.ends_with(']'))
            })
            .collect();
        let i = reads[pick % reads.len()];
        if let quorumlab_sim::history::Value::Str(s) = &mut h.events[i].value {
            let cut = s.rfind('[').unwrap_or(0);
            s.truncate(cut);
        }
        let path = format!("{dir}/kv-stale.jsonl");
        std::fs::write(&path, h.to_jsonl()).expect("write");
        println!("{path}: event {i}");
        return;
    }
    if let Ok(spec) = std::env::var("SHAPE") {
        use quorumlab_sim::check::{gen, Model};
        let n: Vec<u64> = spec
            .split(',')
            .map(|x| x.parse().expect("a number"))
            .collect();
        let g = gen::GenSpec {
            model: Model::Register,
            clients: n[0],
            ops: n[1] as usize,
            keys: n[2] as u32,
            max_latency: 3000,
            max_think: 100,
            unknown_per_mille: n[4] as u32,
        };
        let mut h = gen::linearizable_history(&g, 1);
        if n[3] > 0 {
            h = gen::squash_values(h, n[3] as i64);
        }
        let path = format!("{dir}/custom.jsonl");
        std::fs::write(&path, h.to_jsonl()).expect("write");
        println!("{path}: {} events", h.events.len());
        return;
    }
    for (name, h) in out {
        let path = format!("{dir}/{name}.jsonl");
        std::fs::write(&path, h.to_jsonl()).expect("write");
        println!("{path}: {} events", h.events.len());
    }
}
