//! include/tenzor_format.h (the on-disk layout as C structs) must agree with
//! the Rust definitions: a C program prints every size, offset, constant and
//! dtype of the header, and this test compares them with src/format.rs and
//! src/dtype.rs. It also compiles the header as C99, C11 and C++17 with
//! -Wconversion, together with tenzor.h (shared macros must be identical).

mod common;

use std::collections::BTreeMap;

use common::*;
use tenzor::format::{self, ent, hdr, legacy};
use tenzor::{hash_name, DType};

/// Compiles c_tests/format_layout.c in the given language and returns its
/// output as key -> value lines (the dtype lines apart).
fn layout(std: &str, cpp: bool) -> (BTreeMap<String, u64>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("format_layout");
    let mut cc = compiler(cpp);
    cc.arg(format!("-std={std}")).arg("-Wconversion");
    if cpp {
        cc.args(["-x", "c++"]);
    }
    cc.arg(root().join("c_tests/format_layout.c"))
        .arg("-o")
        .arg(&exe);
    run_ok(&mut cc, &format!("compiling format_layout.c as {std}"));
    let out = stdout(&run_ok(
        &mut std::process::Command::new(&exe),
        "format_layout",
    ));
    let mut values = BTreeMap::new();
    let mut dtypes = Vec::new();
    for line in out.lines() {
        if let Some(d) = line.strip_prefix("dtype ") {
            dtypes.push(d.to_string());
        } else {
            let (k, v) = line.split_once(' ').expect("key value");
            values.insert(k.to_string(), v.parse().expect("a number"));
        }
    }
    (values, dtypes)
}

fn expected_values() -> Vec<(&'static str, u64)> {
    vec![
        ("MAGIC_SIZE", format::MAGIC.len() as u64),
        ("MAGIC_MATCHES", u64::from(&format::MAGIC == b"TENZOR\0\0")),
        ("VERSION", format::VERSION.into()),
        ("VERSION_LEGACY", format::VERSION_LEGACY.into()),
        ("HEADER_SIZE", format::HEADER_SIZE as u64),
        ("PAGE", format::PAGE),
        ("ENTRY_SIZE", format::ENTRY_SIZE as u64),
        ("LEGACY_ENTRY_SIZE", format::LEGACY_ENTRY_SIZE as u64),
        ("MAX_DIMS", format::MAX_DIMS as u64),
        ("LEGACY_MAX_DIMS", format::LEGACY_MAX_DIMS as u64),
        ("DEFAULT_ALIGNMENT", format::DEFAULT_ALIGNMENT),
        ("MIN_ALIGNMENT", format::MIN_ALIGNMENT),
        ("MAX_ALIGNMENT", format::MAX_ALIGNMENT),
        ("REQUIRED_FLAGS_MASK", format::REQUIRED_FLAGS_MASK.into()),
        ("FLAG_APPENDABLE", format::FLAG_APPENDABLE.into()),
        ("FLAG_EDITING", format::FLAG_EDITING.into()),
        (
            "FLAGS_OUTSIDE_CHECKSUM",
            format::FLAGS_OUTSIDE_CHECKSUM.into(),
        ),
        ("FNV_OFFSET_BASIS", hash_name(b"")),
        ("sizeof.header", format::HEADER_SIZE as u64),
        ("tenzor_file_header.magic", hdr::MAGIC as u64),
        ("tenzor_file_header.version", hdr::VERSION as u64),
        ("tenzor_file_header.flags", hdr::FLAGS as u64),
        ("tenzor_file_header.tensor_count", hdr::TENSOR_COUNT as u64),
        ("tenzor_file_header.zero", hdr::ZERO as u64),
        ("tenzor_file_header.index_offset", hdr::INDEX_OFFSET as u64),
        ("tenzor_file_header.data_offset", hdr::DATA_OFFSET as u64),
        (
            "tenzor_file_header.metadata_size",
            hdr::METADATA_SIZE as u64,
        ),
        ("tenzor_file_header.alignment", hdr::ALIGNMENT as u64),
        ("tenzor_file_header.header_checksum", hdr::CHECKSUM as u64),
        ("tenzor_file_header.names_size", hdr::NAMES_SIZE as u64),
        ("tenzor_file_header.reserved", hdr::RESERVED as u64),
        ("hdr.CHECKSUM", hdr::CHECKSUM as u64),
        ("sizeof.entry", format::ENTRY_SIZE as u64),
        ("tenzor_file_entry.name_hash", ent::NAME_HASH as u64),
        ("tenzor_file_entry.name_offset", ent::NAME_OFFSET as u64),
        ("tenzor_file_entry.name_len", ent::NAME_LEN as u64),
        ("tenzor_file_entry.dtype", ent::DTYPE as u64),
        ("tenzor_file_entry.ndim", ent::NDIM as u64),
        ("tenzor_file_entry.flags", ent::FLAGS as u64),
        ("tenzor_file_entry.position", ent::POSITION as u64),
        ("tenzor_file_entry.shape", ent::SHAPE as u64),
        ("tenzor_file_entry.data_offset", ent::DATA_OFFSET as u64),
        ("tenzor_file_entry.data_size", ent::DATA_SIZE as u64),
        ("tenzor_file_entry.checksum", ent::CHECKSUM as u64),
        ("ent.CHECKSUM", ent::CHECKSUM as u64),
        ("sizeof.legacy", format::LEGACY_ENTRY_SIZE as u64),
        (
            "tenzor_file_legacy_entry.name_hash",
            legacy::NAME_HASH as u64,
        ),
        ("tenzor_file_legacy_entry.dtype", legacy::DTYPE as u64),
        ("tenzor_file_legacy_entry.ndim", legacy::NDIM as u64),
        ("tenzor_file_legacy_entry.shape", legacy::SHAPE as u64),
        (
            "tenzor_file_legacy_entry.data_offset",
            legacy::DATA_OFFSET as u64,
        ),
        (
            "tenzor_file_legacy_entry.data_size",
            legacy::DATA_SIZE as u64,
        ),
    ]
}

fn check(std: &str, cpp: bool) {
    let (values, dtypes) = layout(std, cpp);
    let mut want: BTreeMap<String, u64> = expected_values()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    // The prime is checked through its effect: one FNV-1a step.
    let prime = values["FNV_PRIME"];
    assert_eq!(
        (hash_name(b"") ^ u64::from(b'a')).wrapping_mul(prime),
        hash_name(b"a"),
        "{std}: FNV prime"
    );
    want.insert("FNV_PRIME".into(), prime);
    assert_eq!(
        values, want,
        "{std}: tenzor_format.h disagrees with src/format.rs"
    );

    let want_dtypes: Vec<String> = DType::ALL
        .iter()
        .map(|d| {
            format!(
                "{} {} {} {}",
                d.name(),
                *d as u16,
                d.block_elems(),
                d.block_bytes()
            )
        })
        .collect();
    assert_eq!(
        dtypes, want_dtypes,
        "{std}: TENZOR_DTYPE_TABLE disagrees with src/dtype.rs"
    );
}

#[test]
fn format_header_matches_rust_as_c99() {
    check("c99", false);
}

#[test]
fn format_header_matches_rust_as_c11() {
    check("c11", false);
}

#[test]
fn format_header_matches_rust_as_cpp17() {
    check("c++17", true);
}
