//! The consistent-hash ring: every node owns `vnodes` tokens on a 64-bit circle, a key
//! belongs to the first token at or after its hash, and its preference list is the
//! first `n` distinct nodes met walking clockwise from there.
//!
//! Hashes are a fixed function written here (FNV-1a, then a SplitMix64 finaliser), so
//! placement is the same bits natively and in WebAssembly, on every run.

use crate::NodeId;

/// SplitMix64's finaliser: spreads FNV's weak low bits over the whole word.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a over `bytes`, mixed.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    mix(h)
}

/// Where a key sits on the circle.
pub fn key_hash(key: &str) -> u64 {
    hash_bytes(key.as_bytes())
}

/// Node `node`'s token number `v`.
pub fn token(node: NodeId, v: u64) -> u64 {
    mix(((node as u64) << 32 | v) ^ 0x51_7CC1_B727_220A)
}

/// The ring of a set of members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ring {
    /// (token, owner), sorted by token: range `i` is `(points[i-1].0, points[i].0]`.
    points: Vec<(u64, NodeId)>,
    nodes: usize,
}

impl Ring {
    pub fn new(members: &[NodeId], vnodes: u64) -> Ring {
        let mut points: Vec<(u64, NodeId)> = members
            .iter()
            .flat_map(|m| (0..vnodes.max(1)).map(move |v| (token(*m, v), *m)))
            .collect();
        points.sort_unstable();
        points.dedup_by_key(|p| p.0);
        let mut ms = members.to_vec();
        ms.sort_unstable();
        ms.dedup();
        Ring {
            points,
            nodes: ms.len(),
        }
    }

    /// How many ranges (tokens) the ring has.
    pub fn ranges(&self) -> usize {
        self.points.len()
    }

    pub fn points(&self) -> &[(u64, NodeId)] {
        &self.points
    }

    /// The range holding hash `h`: the first token at or after it (wrapping).
    pub fn range_of_hash(&self, h: u64) -> usize {
        let i = self.points.partition_point(|p| p.0 < h);
        if i == self.points.len() {
            0
        } else {
            i
        }
    }

    pub fn range_of(&self, key: &str) -> usize {
        self.range_of_hash(key_hash(key))
    }

    /// Every distinct node, in clockwise order from range `r`'s token.
    pub fn walk_from(&self, r: usize) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = Vec::with_capacity(self.nodes);
        let len = self.points.len();
        for i in 0..len {
            let node = self.points[(r + i) % len].1;
            if !out.contains(&node) {
                out.push(node);
                if out.len() == self.nodes {
                    break;
                }
            }
        }
        out
    }

    /// Every distinct node in the order a request for `key` tries them: its preference
    /// list first, then the nodes a sloppy quorum falls back on.
    pub fn walk(&self, key: &str) -> Vec<NodeId> {
        if self.points.is_empty() {
            return Vec::new();
        }
        self.walk_from(self.range_of(key))
    }

    /// `key`'s preference list: the first `n` distinct nodes clockwise.
    pub fn preference(&self, key: &str, n: usize) -> Vec<NodeId> {
        let mut w = self.walk(key);
        w.truncate(n);
        w
    }

    /// The fraction of the circle each node owns as the first of a preference list.
    pub fn shares(&self) -> Vec<(NodeId, f64)> {
        let mut out: Vec<(NodeId, f64)> = Vec::new();
        let len = self.points.len();
        for i in 0..len {
            let prev = self.points[(i + len - 1) % len].0;
            let span = self.points[i].0.wrapping_sub(prev);
            let span = if len == 1 { u64::MAX } else { span };
            let f = span as f64 / u64::MAX as f64;
            match out.iter_mut().find(|(n, _)| *n == self.points[i].1) {
                Some(e) => e.1 += f,
                None => out.push((self.points[i].1, f)),
            }
        }
        out.sort_unstable_by_key(|e| e.0);
        out
    }
}

/// Of `keys`, how many change their preference list (as a set) going from ring `a` to
/// ring `b` with `n` replicas: the keys a membership change transfers.
pub fn moved(a: &Ring, b: &Ring, keys: &[String], n: usize) -> usize {
    keys.iter()
        .filter(|k| {
            let (mut x, mut y) = (a.preference(k, n), b.preference(k, n));
            x.sort_unstable();
            y.sort_unstable();
            x != y
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("k{i}")).collect()
    }

    #[test]
    fn hashes_are_fixed_bits() {
        // The same on every target and run: placement is part of the trace.
        assert_eq!(hash_bytes(b""), mix(0xCBF2_9CE4_8422_2325));
        assert_eq!(key_hash("k0"), key_hash("k0"));
        assert_ne!(key_hash("k0"), key_hash("k1"));
        let r = Ring::new(&[0, 1, 2, 3, 4], 8);
        let again = Ring::new(&[4, 3, 2, 1, 0], 8);
        assert_eq!(r, again, "the ring does not depend on the members' order");
    }

    #[test]
    fn preference_lists_are_distinct_nodes_in_ring_order() {
        let r = Ring::new(&[0, 1, 2, 3, 4], 16);
        assert_eq!(r.ranges(), 80);
        for k in keys(500) {
            let p = r.preference(&k, 3);
            assert_eq!(p.len(), 3);
            let mut s = p.clone();
            s.sort_unstable();
            s.dedup();
            assert_eq!(s.len(), 3, "{k}: {p:?}");
            // The first is the owner of the first token at or after the key's hash.
            let h = key_hash(&k);
            let owner = r
                .points()
                .iter()
                .find(|t| t.0 >= h)
                .unwrap_or(&r.points()[0])
                .1;
            assert_eq!(p[0], owner);
            // A longer list extends a shorter one.
            assert_eq!(&r.preference(&k, 5)[..3], &p[..]);
        }
        // Asking for more replicas than nodes gives every node once.
        assert_eq!(r.preference("x", 9).len(), 5);
        assert!(Ring::new(&[], 8).preference("x", 3).is_empty());
    }

    #[test]
    fn virtual_nodes_even_out_the_shares() {
        let few = Ring::new(&[0, 1, 2, 3, 4], 1).shares();
        let many = Ring::new(&[0, 1, 2, 3, 4], 128).shares();
        let spread = |s: &[(NodeId, f64)]| {
            let max = s.iter().map(|x| x.1).fold(0.0, f64::max);
            let min = s.iter().map(|x| x.1).fold(1.0, f64::min);
            max - min
        };
        let total: f64 = many.iter().map(|x| x.1).sum();
        assert!((total - 1.0).abs() < 1e-6, "{total}");
        assert!(spread(&many) < 0.1, "{many:?}");
        assert!(spread(&many) < spread(&few), "{few:?} vs {many:?}");
    }

    /// A join moves about 1/N of the keys on the ring; `hash mod N` moves almost all.
    #[test]
    fn a_join_moves_about_one_nth_of_the_keys() {
        let ks = keys(10_000);
        let before = Ring::new(&[0, 1, 2, 3, 4], 64);
        let after = Ring::new(&[0, 1, 2, 3, 4, 5], 64);
        // Owners (n = 1): the new node takes about 1/6 of the keys.
        let ring_moved = moved(&before, &after, &ks, 1);
        let frac = ring_moved as f64 / ks.len() as f64;
        assert!(frac > 0.10 && frac < 0.25, "ring moved {frac}");
        let modn = ks
            .iter()
            .filter(|k| key_hash(k) % 5 != key_hash(k) % 6)
            .count() as f64
            / ks.len() as f64;
        assert!(modn > 0.75, "hash mod N moved {modn}");
        // Every key that moved now has the new node as its owner: nothing else moved.
        for k in &ks {
            if before.preference(k, 1) != after.preference(k, 1) {
                assert_eq!(after.preference(k, 1), vec![5], "{k}");
            }
        }
        // With n = 3 a key moves when the new node enters its list: about n/N.
        let frac3 = moved(&before, &after, &ks, 3) as f64 / ks.len() as f64;
        assert!(frac3 > 0.35 && frac3 < 0.65, "n=3 moved {frac3}");
    }
}
