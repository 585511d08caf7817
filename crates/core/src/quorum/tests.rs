//! Unit tests of one quorum-store node driven by hand.

use super::*;
use crate::{ClientRequest, Effect, Rng};

fn node(id: NodeId, p: QuorumParams) -> QuorumKv {
    QuorumKv::boot(id, &[0, 1, 2, 3, 4], &p, None)
}

fn run(
    q: &mut QuorumKv,
    now: Time,
    f: impl FnOnce(&mut QuorumKv, &mut Ctx<'_, QuorumKv>),
) -> Vec<Effect<QuorumKv>> {
    let mut rng = Rng::new(7);
    let mut fx = Vec::new();
    let mut cx = Ctx::new(q.id(), now, &mut rng, &mut fx);
    f(q, &mut cx);
    fx
}

fn write(key: &str, value: i64) -> ClientRequest {
    ClientRequest {
        client: 0,
        seq: value as u64,
        op: Op::Write {
            key: key.into(),
            value,
        },
    }
}

#[test]
fn a_write_goes_to_the_preference_list_and_is_acknowledged_after_w() {
    let p = QuorumParams::default();
    // A coordinator outside the key's preference list.
    let probe = node(0, p);
    let key = (0..100)
        .map(|i| format!("k{i}"))
        .find(|k| !probe.ring().preference(k, 3).contains(&0))
        .expect("some key avoids node 0");
    let pref = probe.ring().preference(&key, 3);
    let mut q = node(0, p);
    run(&mut q, 0, |q, cx| q.start(cx));
    let fx = run(&mut q, 1000, |q, cx| q.on_client(cx, write(&key, 5)));
    let sent: Vec<NodeId> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                to,
                msg: QMsg::Put { .. },
            } => Some(*to),
            _ => None,
        })
        .collect();
    assert_eq!(sent, pref);
    let id = *q.pending().keys().next().expect("pending");
    let fx = run(&mut q, 2000, |q, cx| {
        q.on_message(cx, pref[0], QMsg::PutAck { id })
    });
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Reply(_))),
        "one ack of two"
    );
    let fx = run(&mut q, 2000, |q, cx| {
        q.on_message(cx, pref[1], QMsg::PutAck { id })
    });
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Reply(r) if r.outcome == Outcome::Ok { value: None }
    )));
    assert_eq!(q.ghost().acked.len(), 1);
    // An acknowledgement from a node never asked is ignored.
    let mut q2 = node(0, p);
    run(&mut q2, 1000, |q, cx| q.on_client(cx, write(&key, 6)));
    let id = *q2.pending().keys().next().expect("pending");
    run(&mut q2, 2000, |q, cx| {
        q.on_message(cx, 0, QMsg::PutAck { id })
    });
    run(&mut q2, 2000, |q, cx| {
        q.on_message(cx, 0, QMsg::PutAck { id })
    });
    assert!(q2.ghost().acked.is_empty());
}

#[test]
fn last_writer_wins_by_timestamp() {
    let mut q = node(1, QuorumParams::default());
    let old = Ver {
        ts: 10,
        node: 0,
        value: 1,
    };
    let new = Ver {
        ts: 20,
        node: 2,
        value: 2,
    };
    run(&mut q, 0, |q, cx| {
        q.on_message(
            cx,
            2,
            QMsg::Repair {
                key: "x".into(),
                ver: new,
            },
        );
        q.on_message(
            cx,
            0,
            QMsg::Repair {
                key: "x".into(),
                ver: old,
            },
        );
    });
    assert_eq!(q.store().get("x"), Some(&new), "the older stamp lost");
}

#[test]
fn a_read_times_out_as_unavailable_and_a_write_as_unknown() {
    let mut q = node(0, QuorumParams::default());
    run(&mut q, 0, |q, cx| q.start(cx));
    run(&mut q, 1000, |q, cx| {
        q.on_client(
            cx,
            ClientRequest {
                client: 1,
                seq: 1,
                op: Op::Read { key: "k9".into() },
            },
        );
        q.on_client(cx, write("k8", 3));
    });
    let fx = run(&mut q, 1000 + 200 * MS, |q, cx| {
        q.on_timer(cx, QuorumTimer::Tick)
    });
    let outs: Vec<&Outcome> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Reply(r) => Some(&r.outcome),
            _ => None,
        })
        .collect();
    assert_eq!(outs.len(), 2, "{fx:?}");
    assert!(outs.iter().any(|o| matches!(o, Outcome::Fail { .. })));
    assert!(outs.iter().any(|o| matches!(o, Outcome::Unknown { .. })));
}

#[test]
fn bad_parameters_name_their_field() {
    let p = QuorumParams {
        r: 4,
        ..Default::default()
    };
    assert_eq!(p.problems()[0].0, "r");
    let p = QuorumParams {
        w: 0,
        vnodes: 0,
        ..Default::default()
    };
    let fields: Vec<&str> = p.problems().iter().map(|x| x.0).collect();
    assert_eq!(fields, vec!["w", "vnodes"]);
    assert_eq!(QuorumParams::default().cluster_problems(2)[0].0, "n");
    assert!(QuorumParams::default().cluster_problems(3).is_empty());
}

#[test]
fn scratch_print_prefs() {
    let r = Ring::new(&[0, 1, 2, 3, 4], 8);
    for k in ["x", "y", "k0", "k1", "k2", "k3"] {
        println!("PREF {k} {:?}", r.preference(k, 3));
    }
    let ks: Vec<String> = (0..10_000).map(|i| format!("k{i}")).collect();
    for v in [8u64, 64] {
        let a = Ring::new(&[0, 1, 2, 3, 4], v);
        let b = Ring::new(&[0, 1, 2, 3, 4, 5], v);
        println!(
            "MOVED vnodes={v} n=1 {} n=3 {}",
            ring::moved(&a, &b, &ks, 1),
            ring::moved(&a, &b, &ks, 3)
        );
    }
    let modn = ks
        .iter()
        .filter(|k| ring::key_hash(k) % 5 != ring::key_hash(k) % 6)
        .count();
    println!("MODN {modn}");
}
