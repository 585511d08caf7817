//! Phi, from basic IEEE arithmetic only.
//!
//! Platform `exp`/`ln` implementations may differ in the last bit between a native
//! build and WASM, and a suspicion level feeds the trace, so the few transcendental
//! functions phi needs are written here from `+ - * /`, `floor` and `sqrt` (all
//! correctly rounded, hence identical everywhere). No fused multiply-add is used.
//!
//! The normal tail is the logistic approximation used by Akka's `PhiAccrualFailureDetector`
//! (Bowling et al., 2009): for `y = (t - mean) / std`,
//! `P(X > t) ≈ 1 / (1 + e^a)` with `a = y * (1.5976 + 0.070566 * y²)`, which is within
//! about 1.4e-4 of the normal CDF everywhere. Then
//! `phi = -log10 P(X > t) = log10(1 + e^a)`, evaluated as a softplus so that it never
//! overflows: for `a > 0` it is `(a + ln(1 + e^-a)) / ln 10`, else `ln(1 + e^a) / ln 10`.
//! `y` is clamped to `[-Y_MAX, Y_MAX]`, so phi is finite (at most about 3.07e4) and
//! never NaN for finite inputs.

/// `y` (standard deviations past the mean) is clamped to this, in both directions.
pub const Y_MAX: f64 = 100.0;

/// ln 2 split as in fdlibm: the high part has its low 32 bits zero, so `k * LN_2_HI` is
/// exact for the `k` used here.
const LN_2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
const LN_2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
const LOG2_E: f64 = core::f64::consts::LOG2_E;
const LN_10: f64 = core::f64::consts::LN_10;

/// `1 / n!` for `n` in `0..12`, computed at compile time (IEEE arithmetic).
const INV_FACT: [f64; 12] = {
    let mut t = [1.0; 12];
    let mut i = 1;
    while i < 12 {
        t[i] = t[i - 1] / i as f64;
        i += 1;
    }
    t
};

/// `1 / (2k + 1)` for `k` in `0..13`, computed at compile time.
const INV_ODD: [f64; 13] = {
    let mut t = [1.0; 13];
    let mut k = 0;
    while k < 13 {
        t[k] = 1.0 / (2 * k + 1) as f64;
        k += 1;
    }
    t
};

/// `e^x` for `x <= 0` (in `(0, 1]`; 0 below -708). Range reduction by powers of two
/// (`x = k ln 2 + r`, `|r| <= ln(2)/2`) and a degree-11 Taylor polynomial in Horner form
/// (the first omitted term is below 1e-14 relative: plenty for a suspicion level).
pub fn exp_neg(x: f64) -> f64 {
    if x.is_nan() || x < -708.0 {
        return 0.0;
    }
    if x >= 0.0 {
        return 1.0;
    }
    let k = (x * LOG2_E + 0.5).floor();
    let r = (x - k * LN_2_HI) - k * LN_2_LO;
    let mut sum = INV_FACT[11];
    let mut n = 11;
    while n > 0 {
        n -= 1;
        sum = sum * r + INV_FACT[n];
    }
    // k is in [-1022, 0] here, so 2^k is a normal number.
    let scale = f64::from_bits(((k as i64 + 1023) as u64) << 52);
    sum * scale
}

/// `ln(m)` for `m` in `[1, 2]`, as `2 atanh(s)` with `s = (m - 1) / (m + 1) <= 1/3`:
/// `2 s (1 + s²/3 + s⁴/5 + ...)`, 13 terms in Horner form (the first omitted one is
/// below 1e-13 relative).
pub fn ln_1_to_2(m: f64) -> f64 {
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut sum = INV_ODD[12];
    let mut k = 12;
    while k > 0 {
        k -= 1;
        sum = sum * s2 + INV_ODD[k];
    }
    2.0 * s * sum
}

/// `log10(1 + e^a)`, without overflow for any finite `a`.
pub fn log10_1p_exp(a: f64) -> f64 {
    if a > 37.0 {
        // 1 + e^-a rounds to 1: the correction term is exactly 0.
        a / LN_10
    } else if a > 0.0 {
        (a + ln_1_to_2(1.0 + exp_neg(-a))) / LN_10
    } else {
        let e = exp_neg(a);
        if e < 1e-9 {
            // ln(1 + e) = e to within e²/2.
            e / LN_10
        } else {
            ln_1_to_2(1.0 + e) / LN_10
        }
    }
}

/// The exponent of the logistic approximation at `y` standard deviations.
pub fn logistic_exponent(y: f64) -> f64 {
    y * (1.5976 + 0.070566 * y * y)
}

/// Phi of a silence of `elapsed` given inter-arrival `mean` and `std` (all in the same
/// unit; `std > 0`). Non-decreasing in `elapsed`, finite, never NaN for finite inputs.
pub fn phi(elapsed: f64, mean: f64, std: f64) -> f64 {
    let y = (elapsed - mean) / std;
    let y = if y.is_nan() {
        0.0
    } else {
        y.clamp(-Y_MAX, Y_MAX)
    };
    log10_1p_exp(logistic_exponent(y))
}

/// The smallest `y` (to within 1e-9, rounded up) with `phi >= threshold` for every
/// `y' >= y`, using `phi >= a(y) / ln 10`. Bisection, deterministic. Capped at `Y_MAX`.
pub fn y_for_phi(threshold: f64) -> f64 {
    let target = threshold * LN_10;
    if logistic_exponent(0.0) >= target {
        return 0.0;
    }
    let (mut lo, mut hi) = (0.0f64, Y_MAX);
    if logistic_exponent(hi) < target {
        return Y_MAX;
    }
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if logistic_exponent(mid) >= target {
            hi = mid;
        } else {
            lo = mid;
        }
        if hi - lo < 1e-9 {
            break;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_ln_match_std_closely() {
        for &x in &[-1e-9, -0.01, -0.3, -0.5, -1.0, -2.5, -10.0, -100.0, -700.0] {
            let (a, b) = (exp_neg(x), f64::exp(x));
            assert!((a - b).abs() <= 1e-13 * b, "exp({x}): {a} vs {b}");
        }
        assert_eq!(exp_neg(-800.0), 0.0);
        assert_eq!(exp_neg(0.0), 1.0);
        for &m in &[1.0, 1.000001, 1.2, 1.5, 1.9, 2.0] {
            let (a, b) = (ln_1_to_2(m), f64::ln(m));
            assert!((a - b).abs() <= 1e-13, "ln({m}): {a} vs {b}");
        }
    }

    #[test]
    fn phi_is_finite_monotone_and_close_to_the_normal_tail() {
        let mut last = -1.0;
        let mut y = -200.0;
        while y <= 200.0 {
            let p = phi(y, 0.0, 1.0);
            assert!(p.is_finite() && p >= 0.0 && p >= last, "phi({y}) = {p}");
            last = p;
            y += 0.25;
        }
        // At the mean, P = 1/2.
        assert!((phi(5.0, 5.0, 1.0) - 0.5f64.log10().abs()).abs() < 1e-12);
        // Two standard deviations: P(X > 2) = 0.02275, phi = 1.643.
        assert!((phi(2.0, 0.0, 1.0) - 1.643).abs() < 0.01);
        assert!(phi(f64::MAX, 0.0, 1e-300).is_finite());
        assert!(phi(f64::NAN, 0.0, 1.0).is_finite());
        let y8 = y_for_phi(8.0);
        assert!(phi(y8, 0.0, 1.0) >= 8.0 && y8 > 5.0 && y8 < 5.5, "{y8}");
    }
}
