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
        vv: Vec::new(),
    };
    let new = Ver {
        ts: 20,
        node: 2,
        value: 2,
        vv: Vec::new(),
    };
    let repair = |vers: Vec<Ver>| QMsg::Repair {
        key: "x".into(),
        vers,
    };
    run(&mut q, 0, |q, cx| {
        q.on_message(cx, 2, repair(vec![new.clone()]));
        q.on_message(cx, 0, repair(vec![old.clone()]));
    });
    assert_eq!(q.store().get("x"), Some(&vec![new]), "the older stamp lost");
}

#[test]
fn version_vectors_keep_concurrent_writes_as_siblings() {
    let p = QuorumParams {
        conflicts: Conflicts::Vector,
        ..Default::default()
    };
    let mut q = node(1, p);
    let v = |value, vv: &[(NodeId, u64)], ts| Ver {
        ts,
        node: vv[vv.len() - 1].0,
        value,
        vv: vv.to_vec(),
    };
    let repair = |ver: Ver| QMsg::Repair {
        key: "x".into(),
        vers: vec![ver],
    };
    let a = v(1, &[(0, 5)], 30); // coordinated by node 0
    let b = v(2, &[(3, 7)], 10); // by node 3, concurrently, with an older stamp
    let both = v(3, &[(0, 5), (3, 8)], 40); // by node 3 after seeing both
    run(&mut q, 0, |q, cx| {
        q.on_message(cx, 0, repair(a.clone()));
        q.on_message(cx, 3, repair(b.clone()));
    });
    let held = q.store().get("x").cloned().unwrap_or_default();
    assert_eq!(held.len(), 2, "siblings, the older stamp kept: {held:?}");
    // A version already seen changes nothing; one that saw both replaces them.
    run(&mut q, 0, |q, cx| {
        q.on_message(cx, 0, repair(v(0, &[(0, 4)], 1)));
        q.on_message(cx, 3, repair(both.clone()));
    });
    assert_eq!(q.store().get("x"), Some(&vec![both.clone()]));
    // A coordinator's new write has seen what it holds.
    let vv = msg::next_vv(&[a, b], 1, 100);
    assert_eq!(vv, vec![(0, 5), (1, 100), (3, 7)]);
    assert!(
        msg::next_vv(&[both], 3, 2).contains(&(3, 9)),
        "moves past what it saw"
    );
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
