//! Media files from their bytes: what a file is (sniffed, never the declared type or name) and what
//! it measures (dimensions, duration). Blocking: call from `spawn_blocking`.

pub mod classify;
pub mod probe;

/// Deterministic pseudo-random bytes, for the tests that feed the sniffers and probes garbage.
#[cfg(test)]
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
