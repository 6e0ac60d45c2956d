//! cargo-fuzz entry of the `mutable` target; the body is in bodies/ (shared
//! with the stable corpus replay, tests/fuzz_replay.rs).
#![no_main]

#[path = "../bodies/mod.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::mutable::mutable(data));
