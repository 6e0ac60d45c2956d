//! Lookup in a table sorted by name hash: the one search every index type
//! (native, foreign, shard set) uses.
//!
//! Plain bisection. Interpolating between bracketing hashes (FNV-1a is close
//! to uniform) cut the probes from 14 to about 6 at 10,000 tensors, but the
//! arithmetic per probe cost more than the probes saved: the lookup
//! benchmark got slower, so it was dropped.

/// The first index in `0..n` whose hash is `>= target`, for `hash_at`
/// ascending over `0..n` (`n` when there is none).
pub(crate) fn lower_bound(n: usize, hash_at: impl Fn(usize) -> u64, target: u64) -> usize {
    let (mut lo, mut hi) = (0usize, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if hash_at(mid) < target {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(hashes: &[u64]) {
        let probe = |t: u64| {
            let want = hashes.partition_point(|&h| h < t);
            assert_eq!(
                lower_bound(hashes.len(), |i| hashes[i], t),
                want,
                "target {t:#x}"
            );
        };
        for &h in hashes {
            probe(h);
            probe(h.wrapping_add(1));
            probe(h.wrapping_sub(1));
        }
        for t in [0, 1, u64::MAX, u64::MAX - 1, 1 << 63] {
            probe(t);
        }
    }

    #[test]
    fn finds_the_first_entry_of_a_hash_in_any_table() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut uniform: Vec<u64> = (0..5000).map(|_| next()).collect();
        uniform.sort_unstable();
        check(&uniform);
        check(&[7; 100]);
        check(&[0, 0, 1, u64::MAX, u64::MAX]);
        check(&[]);
        check(&[42]);
    }
}
