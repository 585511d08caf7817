//! A stable 64-bit hasher for trace hashes. Unlike `std`'s default hasher its output is
//! fixed forever and identical on every platform: `usize` is hashed as `u64`, so a
//! 32-bit WASM build and a 64-bit native build fold the same bytes.

use std::hash::{Hash, Hasher};

const K: u64 = 0x9E37_79B9_7F4A_7C15;

#[derive(Clone, Debug)]
pub struct StableHasher {
    h: u64,
}

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher {
            h: 0x5157_4F52_554D_4C41,
        }
    }
}

/// One step: fold the two halves of the 128-bit product `(h ^ x) * (K | 1)`, computed
/// with 64-bit operations (WebAssembly has no 128-bit multiply; the bits are the same).
#[inline]
fn mix(h: u64, x: u64) -> u64 {
    let a = h ^ x;
    let b = K | 1;
    let lo = a.wrapping_mul(b);
    let hi = quorumlab_core::rng::mul_hi(a, b);
    (hi ^ lo).rotate_left(23).wrapping_add(K)
}

impl StableHasher {
    pub fn new() -> Self {
        Self::default()
    }
    #[inline]
    pub fn add(&mut self, x: u64) {
        self.h = mix(self.h, x);
    }
    /// Hash any `Hash` value in a platform-independent way.
    pub fn of<T: Hash + ?Sized>(v: &T) -> u64 {
        let mut s = StableHasher::new();
        v.hash(&mut s);
        s.finish()
    }
}

impl Hasher for StableHasher {
    #[inline]
    fn finish(&self) -> u64 {
        // A final avalanche so that close states give far-apart hashes.
        let mut z = self.h;
        z = (z ^ (z >> 33)).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        z = (z ^ (z >> 33)).wrapping_mul(0xC4CE_B9FE_1A85_EC53);
        z ^ (z >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(b) ^ ((rest.len() as u64) << 56));
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn write_i64(&mut self, i: i64) {
        self.add(i as u64);
    }
    #[inline]
    fn write_isize(&mut self, i: isize) {
        self.add(i as i64 as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn fixed_values_never_change() {
        // Pinned: if this changes, every recorded trace hash changes with it.
        assert_eq!(
            StableHasher::of(&(1u32, "ab", vec![3usize])),
            StableHasher::of(&(1u32, "ab", vec![3u64]))
        );
        assert_ne!(StableHasher::of(&1u64), StableHasher::of(&2u64));
    }
}
