//! Transcendental functions from basic IEEE arithmetic only, so that random draws are
//! bit-identical natively and in WASM (platform `ln` implementations may differ in the
//! last bit, which would change a latency and so a whole trace).

/// Natural logarithm of `x > 0` (returns a large negative number for `x <= 0`).
pub fn ln(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return -745.0;
    }
    // x = m * 2^e with m in [sqrt(1/2), sqrt(2)).
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000);
    if e == -1023 {
        // Subnormal: close enough for our purposes.
        return -708.0;
    }
    if m > std::f64::consts::SQRT_2 {
        m /= 2.0;
        e += 1;
    }
    // ln(m) = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    let mut k = 1.0;
    while k < 40.0 {
        sum += term / k;
        term *= s2;
        k += 2.0;
    }
    2.0 * sum + e as f64 * std::f64::consts::LN_2
}

#[cfg(test)]
mod tests {
    #[test]
    fn ln_matches_std_closely() {
        for &x in &[1e-9, 0.001, 0.3, 0.5, 1.0, 1.5, 2.0, 10.0, 12345.678] {
            let d = (super::ln(x) - f64::ln(x)).abs();
            assert!(d < 1e-12 * (1.0 + f64::ln(x).abs()), "ln({x})");
        }
    }
}
