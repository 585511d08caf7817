//! Platform-independent digests (SplitMix64's finaliser), the same on wasm32 and x86_64:
//! the protocols' log prefix hashes and the invariant checkers' bookkeeping use them.
//! Never `std::hash::Hash` with a default hasher: its output may differ between builds.

use crate::{ClientRequest, Op};

/// Fold `x` into `h`.
#[inline]
pub(crate) fn mix(h: u64, x: u64) -> u64 {
    let mut z = h ^ x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fold a string into `h`, eight bytes at a time, its length first.
pub(crate) fn mix_str(mut h: u64, s: &str) -> u64 {
    h = mix(h, s.len() as u64);
    for c in s.as_bytes().chunks(8) {
        let mut b = [0u8; 8];
        b[..c.len()].copy_from_slice(c);
        h = mix(h, u64::from_le_bytes(b));
    }
    h
}

/// A client operation folded into `h`.
pub(crate) fn op(h: u64, op: &Op) -> u64 {
    match op {
        Op::Read { key } => mix_str(mix(h, 1), key),
        Op::Write { key, value } => mix(mix_str(mix(h, 2), key), *value as u64),
        Op::Cas { key, expect, new } => {
            mix(mix(mix_str(mix(h, 3), key), *expect as u64), *new as u64)
        }
        Op::Append { key, value } => mix_str(mix_str(mix(h, 6), key), value),
        Op::Acquire { key } => mix_str(mix(h, 4), key),
        Op::Release { key } => mix_str(mix(h, 5), key),
    }
}

/// A client request (who, which one, what).
pub(crate) fn request(r: &ClientRequest) -> u64 {
    op(mix(mix(mix(3, r.client as u64), r.seq), 0), &r.op)
}

/// A value folded into `h`.
pub(crate) fn val(h: u64, v: &crate::Val) -> u64 {
    match v {
        crate::Val::Int(i) => mix(mix(h, 1), *i as u64),
        crate::Val::Text(s) => mix_str(mix(h, 2), s),
        crate::Val::Siblings(xs) => xs
            .iter()
            .fold(mix(mix(h, 3), xs.len() as u64), |h, x| mix(h, *x as u64)),
    }
}

/// An outcome folded into `h`.
pub(crate) fn outcome(h: u64, o: &crate::Outcome) -> u64 {
    match o {
        crate::Outcome::Ok { value: None } => mix(h, 1),
        crate::Outcome::Ok { value: Some(v) } => val(mix(h, 2), v),
        crate::Outcome::Fail { reason } => mix_str(mix(h, 3), reason),
        crate::Outcome::Redirect { leader, term } => {
            mix(mix(mix(h, 4), leader.map_or(u64::MAX, |l| l as u64)), *term)
        }
        crate::Outcome::Unknown { reason } => mix_str(mix(h, 5), reason),
    }
}
