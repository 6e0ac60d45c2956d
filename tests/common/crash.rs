//! Shared by the SIGKILL tests (`crash_consistency.rs`, `edit_crash.rs`):
//! a printed, replayable random sequence for the kill delays, and the kill.

use std::process::Child;
use std::time::Duration;

/// xorshift64*: a small deterministic sequence from a printed seed.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `TENZOR_CRASH_SEED` when set (to rerun a sequence), else
    /// from the clock; prints the seed either way.
    pub fn from_env() -> Rng {
        let s = std::env::var("TENZOR_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        println!("TENZOR_CRASH_SEED={s}");
        Rng(s)
    }

    /// The next number of the sequence.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Lets `child` run for `delay`, SIGKILLs it (if still running) and reaps it.
pub fn kill_after(child: &mut Child, delay: Duration) {
    std::thread::sleep(delay);
    let _ = child.kill(); // SIGKILL on Unix
    child.wait().unwrap();
}
