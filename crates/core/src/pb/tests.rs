//! Unit tests of primary-backup on a tiny hand-driven cluster.

use super::*;
use crate::{Effect, Op, Rng};

#[test]
fn the_view_service_starts_with_node_1_as_primary() {
    let p = PbParams::default();
    let vs = PrimaryBackup::boot(0, &[0, 1, 2, 3], &p, None);
    let v = vs.view_known();
    assert_eq!(v.epoch, 1);
    assert_eq!(v.primary, Some(1));
    assert_eq!(v.backups, vec![2, 3]);
    assert_eq!(vs.view().role.label, "view service");
}

#[test]
fn a_replica_redirects_until_it_knows_a_view() {
    let p = PbParams::default();
    let mut r = PrimaryBackup::boot(2, &[0, 1, 2], &p, None);
    let mut rng = Rng::new(1);
    let mut fx: Vec<Effect<PrimaryBackup>> = Vec::new();
    let mut cx = Ctx::new(2, 0, &mut rng, &mut fx);
    r.on_client(
        &mut cx,
        ClientRequest {
            client: 0,
            seq: 1,
            op: Op::Write {
                key: "x".into(),
                value: 1,
            },
        },
    );
    assert!(matches!(
        &fx[0],
        Effect::Reply(crate::ClientReply {
            outcome: Outcome::Redirect { .. },
            ..
        })
    ));
}
