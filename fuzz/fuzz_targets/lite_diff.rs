//! cargo-fuzz entry of the `lite_diff` target; the body is in bodies/ (shared
//! with the stable corpus replay, tests/fuzz_replay.rs).
#![no_main]

#[path = "../bodies/mod.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::lite_diff::lite_diff(data));
