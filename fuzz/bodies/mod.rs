//! The bodies of the fuzz targets, shared by the cargo-fuzz crate
//! (`fuzz/fuzz_targets/*.rs`, nightly) and the corpus replay test
//! (`tests/fuzz_replay.rs`, stable), so both run exactly the same code.
//!
//! Every body takes arbitrary bytes and panics on a finding: a crash, or an
//! oracle that disagrees (round trip, conversion, the official safetensors
//! crate, shard path containment).

#![allow(dead_code)] // each includer uses a subset

pub mod c_abi;
pub mod common;
pub mod convert;
pub mod lazy;
pub mod lite_diff;
pub mod mutable;
pub mod read;
pub mod roundtrip;
pub mod safetensors_diff;
pub mod shard_index;
pub mod slice;

/// A target's body: arbitrary bytes in, a panic on a finding.
pub type Body = fn(&[u8]);

/// Every target: (name, body). The name is the directory of its corpus
/// (`fuzz/corpus/<name>`) and regressions (`fuzz/regressions/<name>`).
pub const TARGETS: &[(&str, Body)] = &[
    ("read", read::read),
    ("c_abi", c_abi::c_abi),
    ("roundtrip", roundtrip::roundtrip),
    ("convert", convert::convert),
    ("safetensors_diff", safetensors_diff::safetensors_diff),
    ("shard_index", shard_index::shard_index),
    ("lazy", lazy::lazy),
    ("lite_diff", lite_diff::lite_diff),
    ("mutable", mutable::mutable),
    ("slice", slice::slice),
];
