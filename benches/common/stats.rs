//! Latency figures every bench reports the same way (included with `#[path]`).

use std::time::Duration;

/// The `p` quantile (0.0–1.0) of `sorted` by nearest rank; zero when nothing was measured.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Milliseconds, for printing.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Prints `label: p50 …, p99 … (n runs)` for `times`.
#[allow(dead_code)] // not every bench prints this line
pub fn report(label: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "{label}: p50 {:.2} ms, p99 {:.2} ms ({} runs)",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        times.len()
    );
}
