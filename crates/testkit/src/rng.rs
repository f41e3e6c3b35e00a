//! A small deterministic pseudo-random generator (xoshiro256++ seeded through SplitMix64).
//!
//! Written here rather than taken from a crate so that the corpus for a given seed stays
//! byte-identical forever, whatever happens to external crates.

/// One SplitMix64 step: advances `state` and returns a well-mixed 64-bit value.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Natural logarithm of a positive, finite `x`, computed with basic IEEE operations only
/// (no platform `libm`), so that results are bit-identical on every platform.
pub(crate) fn ln(x: f64) -> f64 {
    debug_assert!(x > 0.0 && x.is_finite());
    const LN2: f64 = std::f64::consts::LN_2;
    let mut bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64;
    if e == 0 {
        // Subnormal: scale into the normal range first.
        bits = (x * (1u64 << 54) as f64).to_bits();
        e = ((bits >> 52) & 0x7ff) as i64 - 54;
    }
    // x = m * 2^k with m in [sqrt(1/2), sqrt(2)).
    let mut k = e - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        k += 1;
    }
    // ln(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut series = 1.0 / 25.0;
    for d in [
        23.0, 21.0, 19.0, 17.0, 15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0, 1.0,
    ] {
        series = series * s2 + 1.0 / d;
    }
    k as f64 * LN2 + 2.0 * s * series
}

/// `e^x`, computed with basic IEEE operations only (see [`ln`]).
pub(crate) fn exp(x: f64) -> f64 {
    const LN2: f64 = std::f64::consts::LN_2;
    if x < -708.0 {
        return 0.0;
    }
    if x > 709.0 {
        return f64::INFINITY;
    }
    // x = k ln2 + r, |r| <= ln2 / 2; e^r by its Taylor series.
    let k = (x / LN2 + if x < 0.0 { -0.5 } else { 0.5 }) as i64;
    let r = x - k as f64 * LN2;
    let mut sum = 1.0;
    for n in (1..=17).rev() {
        sum = 1.0 + sum * r / n as f64;
    }
    // Multiply by 2^k in two steps so that neither factor overflows or underflows.
    let half = k / 2;
    let pow2 = |p: i64| f64::from_bits(((p + 1023) as u64) << 52);
    sum * pow2(half) * pow2(k - half)
}

/// xoshiro256++ generator.
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator whose whole future is fixed by `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        let mut sm = seed;
        let mut s = [0u64; 4];
        for w in &mut s {
            *w = splitmix64(&mut sm);
        }
        Rng { s }
    }

    /// Next 64 random bits.
    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let out = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    /// Uniform integer in `0..n` (`n > 0`), by multiply-shift.
    #[inline]
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform index into a collection of length `n`.
    #[inline]
    pub(crate) fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// Uniform integer in `lo..=hi`.
    #[inline]
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform float in `[0, 1)` with 53 bits of precision.
    #[inline]
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform float in `(0, 1]`, safe to take the logarithm of.
    #[inline]
    pub(crate) fn unit_open(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    #[inline]
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Exponentially distributed value with the given mean.
    #[inline]
    pub(crate) fn exp(&mut self, mean: f64) -> f64 {
        -ln(self.unit_open()) * mean
    }

    /// A uniformly chosen element of a non-empty slice.
    #[inline]
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// An element of a non-empty `(item, weight)` slice, chosen proportionally to weight.
    pub(crate) fn weighted<'a, T>(&mut self, items: &'a [(T, u32)]) -> &'a T {
        let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (item, w) in items {
            let w = u64::from(*w);
            if x < w {
                return item;
            }
            x -= w;
        }
        &items[items.len() - 1].0
    }

    /// Index skewed towards 0 (popular items first): `n * u^k`.
    #[inline]
    pub(crate) fn skewed(&mut self, n: usize, k: u32) -> usize {
        let u = self.unit();
        let mut p = 1.0;
        for _ in 0..k {
            p *= u;
        }
        ((p * n as f64) as usize).min(n - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_stream() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut c = Rng::new(43);
        assert_ne!(Rng::new(42).next_u64(), c.next_u64());
    }

    #[test]
    fn splitmix_reference_value() {
        // First output of SplitMix64 for seed 0 (published reference value).
        let mut s = 0u64;
        assert_eq!(splitmix64(&mut s), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn portable_ln_and_exp_match_std() {
        let mut r = Rng::new(11);
        for i in 0..100_000 {
            let x = if i % 2 == 0 {
                r.unit_open()
            } else {
                r.unit_open() * 1e6
            };
            let (a, b) = (ln(x), x.ln());
            assert!(
                (a - b).abs() <= 1e-14 * b.abs().max(1.0),
                "ln({x}) = {a}, not {b}"
            );
            let y = (r.unit() - 0.5) * 1400.0;
            let (a, b) = (exp(y), y.exp());
            assert!((a - b).abs() <= 1e-13 * b, "exp({y}) = {a}, not {b}");
        }
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(exp(0.0), 1.0);
        assert!((ln(f64::MIN_POSITIVE / 4.0) - (f64::MIN_POSITIVE / 4.0).ln()).abs() < 1e-10);
    }

    #[test]
    fn ranges_hold() {
        let mut r = Rng::new(7);
        for _ in 0..10_000 {
            assert!(r.below(10) < 10);
            let x = r.range(3, 5);
            assert!((3..=5).contains(&x));
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(r.exp(2.0) >= 0.0);
            assert!(r.skewed(7, 2) < 7);
        }
    }
}
