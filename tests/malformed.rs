//! Malformed .tenzor files: every one gives a specific error, none panics.
//! Mutations that the header checksum would catch first are re-signed, so
//! each structural check is reached and tested on its own.

mod common;

use tenzor::format::{ent, hdr, u32_at, u64_at, ENTRY_SIZE};
use tenzor::{DType, ErrorKind, TensorFile, Validation, Writer, WriterOptions};

/// A valid file: three tensors "aa", "ab", "c" (insertion order), metadata.
fn valid() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v.tenzor");
    let mut w = Writer::create(&p, WriterOptions::default()).unwrap();
    w.set_metadata(r#"{"k": [1, 2, {"x": null}]}"#).unwrap();
    w.add_tensor("aa", DType::F32, &[2, 3], &[1u8; 24]).unwrap();
    w.add_tensor("ab", DType::F32, &[2, 3], &[2u8; 24]).unwrap();
    w.add_tensor("c", DType::U8, &[5], &[3u8; 5]).unwrap();
    w.finish().unwrap();
    std::fs::read(&p).unwrap()
}

fn data_offset(b: &[u8]) -> usize {
    u64_at(b, hdr::DATA_OFFSET) as usize
}

fn resign(b: &mut [u8]) {
    let d = data_offset(b).min(b.len());
    let sum = tenzor::format::header_region_checksum(&b[..d]);
    b[hdr::CHECKSUM..hdr::CHECKSUM + 8].copy_from_slice(&sum.to_le_bytes());
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Index slot of the entry named `name`.
fn slot(b: &[u8], name: &str) -> usize {
    let f = TensorFile::from_bytes(b).unwrap();
    let want = tenzor::hash_name(name.as_bytes());
    let idx = u64_at(b, hdr::INDEX_OFFSET) as usize;
    (0..f.len())
        .find(|&i| u64_at(b, idx + i * ENTRY_SIZE) == want)
        .unwrap()
}

fn entry_at(b: &[u8], name: &str) -> usize {
    u64_at(b, hdr::INDEX_OFFSET) as usize + slot(b, name) * ENTRY_SIZE
}

/// Applies `mutate`, re-signs, and returns the open error.
fn open_err(mutate: impl FnOnce(&mut Vec<u8>)) -> tenzor::Error {
    let mut b = valid();
    mutate(&mut b);
    resign(&mut b);
    match TensorFile::from_bytes(&b) {
        Ok(_) => panic!("mutated file opened"),
        Err(e) => e,
    }
}

fn assert_msg(e: &tenzor::Error, kind: ErrorKind, needle: &str) {
    assert_eq!(e.kind(), kind, "{e}");
    assert!(
        e.to_string().contains(needle),
        "expected '{needle}' in: {e}"
    );
}

#[test]
fn the_valid_file_opens() {
    let b = valid();
    let f = TensorFile::from_bytes(&b).unwrap();
    assert_eq!(f.len(), 3);
    f.verify().unwrap();
    let names: Vec<_> = f.iter().map(|t| t.name().unwrap()).collect();
    assert_eq!(names, ["aa", "ab", "c"]);
}

#[test]
fn every_truncation_fails_cleanly() {
    let b = valid();
    for len in 0..b.len() {
        let e = match TensorFile::from_bytes(&b[..len]) {
            Ok(_) => panic!("truncated to {len} bytes and still opened"),
            Err(e) => e,
        };
        assert!(
            matches!(e.kind(), ErrorKind::BadFormat | ErrorKind::Checksum),
            "len {len}: {e}"
        );
    }
    assert!(TensorFile::from_bytes(&b[..40])
        .unwrap_err()
        .to_string()
        .contains("truncated"));
    let e = TensorFile::from_bytes(&b[..b.len() - 1]).unwrap_err();
    assert!(
        e.to_string().contains("tensor 'c'") && e.to_string().contains("truncated"),
        "{e}"
    );
    let e = TensorFile::from_bytes(&b[..5000]).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
}

#[test]
fn every_flipped_byte_before_the_data_is_caught_at_open() {
    let b = valid();
    for at in 0..data_offset(&b) {
        let mut m = b.clone();
        m[at] ^= 0x5a;
        assert!(
            TensorFile::from_bytes(&m).is_err(),
            "flip at {at} went unnoticed"
        );
    }
    let mut m = b.clone();
    m[hdr::TENSOR_COUNT] ^= 1;
    let e = TensorFile::from_bytes(&m).unwrap_err();
    assert_msg(&e, ErrorKind::Checksum, "header checksum mismatch");
}

#[test]
fn flipped_data_bytes_are_caught_by_verify_naming_the_tensor() {
    let b = valid();
    let f = TensorFile::from_bytes(&b).unwrap();
    let off = f.get("ab").unwrap().file_offset() as usize;
    let mut m = b.clone();
    m[off + 7] ^= 1;
    let f = TensorFile::from_bytes(&m).unwrap();
    f.verify_tensor(&f.get("aa").unwrap()).unwrap();
    let e = f.verify().unwrap_err();
    assert_msg(
        &e,
        ErrorKind::Checksum,
        "tensor 'ab': data checksum mismatch",
    );
}

#[test]
fn header_fields() {
    assert_msg(
        &open_err(|b| b[0] = b'X'),
        ErrorKind::BadFormat,
        "unrecognised format",
    );
    assert_msg(
        &open_err(|b| put_u32(b, hdr::VERSION, 3)),
        ErrorKind::Unsupported,
        "version 3",
    );
    // Bit 0 (APPENDABLE) is known: the file then needs its root area.
    assert_msg(
        &open_err(|b| put_u32(b, hdr::FLAGS, 1)),
        ErrorKind::BadFormat,
        "appendable file is truncated",
    );
    assert_msg(
        &open_err(|b| put_u32(b, hdr::FLAGS, 0x8000)),
        ErrorKind::Unsupported,
        "flags 0x8000",
    );
    assert_msg(
        &open_err(|b| put_u32(b, hdr::ZERO, 7)),
        ErrorKind::BadFormat,
        "reserved",
    );
    assert_msg(
        &open_err(|b| put_u32(b, hdr::ALIGNMENT, 48)),
        ErrorKind::BadFormat,
        "alignment 48",
    );
    assert_msg(
        &open_err(|b| put_u32(b, hdr::ALIGNMENT, 0)),
        ErrorKind::BadFormat,
        "alignment 0",
    );
    assert_msg(
        &open_err(|b| put_u64(b, hdr::INDEX_OFFSET, 8192)),
        ErrorKind::BadFormat,
        "index offset",
    );
    assert_msg(
        &open_err(|b| put_u64(b, hdr::DATA_OFFSET, u64::MAX - 4095)),
        ErrorKind::BadFormat,
        "truncated",
    );
    assert_msg(
        &open_err(|b| put_u64(b, hdr::DATA_OFFSET, 100)),
        ErrorKind::BadFormat,
        "data offset 100",
    );
    assert_msg(
        &open_err(|b| put_u32(b, hdr::METADATA_SIZE, u32::MAX)),
        ErrorKind::BadFormat,
        "index offset",
    );
    assert_msg(
        &open_err(|b| put_u32(b, hdr::TENSOR_COUNT, u32::MAX)),
        ErrorKind::BadFormat,
        "data offset",
    );
    assert_msg(
        &open_err(|b| put_u32(b, hdr::NAMES_SIZE, u32::MAX)),
        ErrorKind::BadFormat,
        "data offset",
    );
    // Optional flag bits (16..31) are ignored by design.
    let mut b = valid();
    put_u32(&mut b, hdr::FLAGS, 1 << 20);
    resign(&mut b);
    TensorFile::from_bytes(&b).unwrap();
}

#[test]
fn metadata_must_be_a_json_object() {
    // Same length as the original metadata so nothing else moves.
    let orig = r#"{"k": [1, 2, {"x": null}]}"#;
    let with = |text: &str| {
        assert_eq!(text.len(), orig.len());
        let text = text.to_string();
        open_err(move |b| b[64..64 + text.len()].copy_from_slice(text.as_bytes()))
    };
    assert_msg(
        &with(r#"[1, 2, 3, 4, 5, 6, 7, 8,9]"#),
        ErrorKind::BadFormat,
        "not a JSON object",
    );
    assert_msg(
        &with(r#"{"k": [1, 2, {"x": null}]]"#),
        ErrorKind::BadFormat,
        "not valid JSON",
    );
    let e = open_err(|b| b[70] = 0xff);
    assert_msg(&e, ErrorKind::BadFormat, "not UTF-8");
    let e = open_err(|b| b[64 + orig.len() + 3] = 1);
    assert_msg(&e, ErrorKind::BadFormat, "padding after the metadata");
}

#[test]
fn entry_fields() {
    assert_msg(
        &open_err(|b| {
            let e = entry_at(b, "c");
            b[e + ent::DTYPE..e + ent::DTYPE + 2].copy_from_slice(&999u16.to_le_bytes());
        }),
        ErrorKind::Unsupported,
        "tensor 'c': unknown dtype code 999",
    );
    assert_msg(
        &open_err(|b| {
            let e = entry_at(b, "c");
            b[e + ent::NDIM] = 9;
        }),
        ErrorKind::BadFormat,
        "tensor 'c': rank 9 exceeds",
    );
    // Shape whose element count overflows u64.
    assert_msg(
        &open_err(|b| {
            let e = entry_at(b, "aa");
            put_u64(b, e + ent::SHAPE, 1 << 40);
            put_u64(b, e + ent::SHAPE + 8, 1 << 40);
        }),
        ErrorKind::BadFormat,
        "tensor 'aa': shape [1099511627776, 1099511627776] overflows",
    );
    // Size that disagrees with the shape (a typed reader would run past the end).
    assert_msg(
        &open_err(|b| {
            let e = entry_at(b, "aa");
            put_u64(b, e + ent::SHAPE + 8, 4);
        }),
        ErrorKind::BadFormat,
        "tensor 'aa': byte size 24 does not match shape [2, 4]",
    );
    // Data offset near u64::MAX: checked arithmetic, no wrap-around.
    assert_msg(
        &open_err(|b| {
            let e = entry_at(b, "c");
            put_u64(b, e + ent::DATA_OFFSET, u64::MAX - 2);
        }),
        ErrorKind::BadFormat,
        "tensor 'c': data offset",
    );
    // Overlapping tensors: "ab" pointed at "aa"'s bytes.
    assert_msg(
        &open_err(|b| {
            let e = entry_at(b, "ab");
            put_u64(b, e + ent::DATA_OFFSET, 0);
        }),
        ErrorKind::BadFormat,
        "tensor 'ab': data offset 0 should be 64",
    );
    assert_msg(
        &open_err(|b| {
            let e = entry_at(b, "c");
            b[e + ent::SHAPE + 8] = 1;
        }),
        ErrorKind::BadFormat,
        "unused shape dimensions",
    );
    // A stored hash that breaks the (hash, name) order fails at open; one
    // that keeps it opens (the header checksum vouches for hashes at open)
    // and `verify` recomputes it (FORMAT.md, "Validation levels").
    assert_msg(
        &open_err(|b| {
            let e = entry_at(b, "c");
            put_u64(b, e + ent::NAME_HASH, 12345);
        }),
        ErrorKind::BadFormat,
        "index is not sorted by (hash, name)",
    );
    let mut b = valid();
    let last = u64_at(&b, hdr::INDEX_OFFSET) as usize + 2 * ENTRY_SIZE;
    put_u64(&mut b, last + ent::NAME_HASH, u64::MAX);
    resign(&mut b);
    let f = TensorFile::from_bytes(&b).unwrap();
    assert_msg(
        &f.verify().unwrap_err(),
        ErrorKind::BadFormat,
        "name hash does not match the name",
    );
    assert_msg(
        &open_err(|b| {
            let e = entry_at(b, "c");
            put_u32(b, e + ent::POSITION, 0);
        }),
        ErrorKind::BadFormat,
        "position 0 disagrees",
    );
    // Entries consistent, order table not their inverse (two slots swapped).
    assert_msg(
        &open_err(|b| {
            let count = u32_at(b, hdr::TENSOR_COUNT) as usize;
            let order = u64_at(b, hdr::INDEX_OFFSET) as usize + count * ENTRY_SIZE;
            let (o0, o1) = (u32_at(b, order), u32_at(b, order + 4));
            put_u32(b, order, o1);
            put_u32(b, order + 4, o0);
        }),
        ErrorKind::BadFormat,
        "position 0 disagrees with the order table",
    );
    assert_msg(
        &open_err(|b| {
            let e = entry_at(b, "c");
            put_u32(b, e + ent::NAME_OFFSET, u32::MAX);
        }),
        ErrorKind::BadFormat,
        "outside the name table",
    );
}

/// Rewrites the name bytes of `from` to `to` (same length) and fixes the hash.
fn rename(b: &mut [u8], from: &str, to: &[u8]) {
    let e = entry_at(b, from);
    let names = u64_at(b, hdr::INDEX_OFFSET) as usize
        + u32_at(b, hdr::TENSOR_COUNT) as usize * (ENTRY_SIZE + 4);
    let off = names + u32_at(b, e + ent::NAME_OFFSET) as usize;
    b[off..off + to.len()].copy_from_slice(to);
    put_u64(b, e + ent::NAME_HASH, tenzor::hash_name(to));
}

/// Lays the name table out again in the current slot order (as the format
/// requires), so a test can reorder entries without tripping that rule.
fn rewrite_names_in_slot_order(b: &mut [u8]) {
    let idx = u64_at(b, hdr::INDEX_OFFSET) as usize;
    let count = u32_at(b, hdr::TENSOR_COUNT) as usize;
    let names_at = idx + count * (ENTRY_SIZE + 4);
    let size = u32_at(b, hdr::NAMES_SIZE) as usize;
    let old = b[names_at..names_at + size].to_vec();
    let mut cursor = 0;
    for slot in 0..count {
        let e = idx + slot * ENTRY_SIZE;
        let (off, len) = (
            u32_at(b, e + ent::NAME_OFFSET) as usize,
            u32_at(b, e + ent::NAME_LEN) as usize,
        );
        b[names_at + cursor..names_at + cursor + len + 1].copy_from_slice(&old[off..off + len + 1]);
        put_u32(b, e + ent::NAME_OFFSET, cursor as u32);
        cursor += len + 1;
    }
}

#[test]
fn names() {
    let e = open_err(|b| rename(b, "c", &[0xff]));
    assert_msg(&e, ErrorKind::BadFormat, "not valid UTF-8");
    let e = open_err(|b| rename(b, "ab", b"a\0"));
    assert_msg(&e, ErrorKind::BadFormat, "NUL");
    // Duplicate: "ab" renamed to "aa"; entries re-sorted so only the
    // duplicate (not the order) is wrong.
    let e = open_err(|b| {
        rename(b, "ab", b"aa");
        let idx = u64_at(b, hdr::INDEX_OFFSET) as usize;
        let count = u32_at(b, hdr::TENSOR_COUNT) as usize;
        let mut entries: Vec<Vec<u8>> = (0..count)
            .map(|i| b[idx + i * ENTRY_SIZE..][..ENTRY_SIZE].to_vec())
            .collect();
        entries.sort_by_key(|e| u64_at(e, 0));
        for (i, e) in entries.iter().enumerate() {
            b[idx + i * ENTRY_SIZE..][..ENTRY_SIZE].copy_from_slice(e);
            let pos = u32_at(e, ent::POSITION) as usize;
            put_u32(b, idx + count * ENTRY_SIZE + 4 * pos, i as u32);
        }
    });
    assert_msg(
        &e,
        ErrorKind::DuplicateName,
        "tensor 'aa': name appears twice",
    );
    // Unsorted index: swap two entries (and fix the order and name tables).
    let e = open_err(|b| {
        let idx = u64_at(b, hdr::INDEX_OFFSET) as usize;
        let first = b[idx..idx + ENTRY_SIZE].to_vec();
        let second = b[idx + ENTRY_SIZE..idx + 2 * ENTRY_SIZE].to_vec();
        b[idx..idx + ENTRY_SIZE].copy_from_slice(&second);
        b[idx + ENTRY_SIZE..idx + 2 * ENTRY_SIZE].copy_from_slice(&first);
        let count = u32_at(b, hdr::TENSOR_COUNT) as usize;
        let order = idx + count * ENTRY_SIZE;
        put_u32(b, order + 4 * u32_at(&second, ent::POSITION) as usize, 0);
        put_u32(b, order + 4 * u32_at(&first, ent::POSITION) as usize, 1);
        rewrite_names_in_slot_order(b);
    });
    assert_msg(&e, ErrorKind::BadFormat, "not sorted");
}

#[test]
fn trailing_bytes_and_empty_input() {
    let mut b = valid();
    b.extend_from_slice(b"polyglot payload");
    assert_msg(
        &TensorFile::from_bytes(&b).unwrap_err(),
        ErrorKind::BadFormat,
        "16 trailing bytes",
    );
    assert_msg(
        &TensorFile::from_bytes(&[]).unwrap_err(),
        ErrorKind::BadFormat,
        "empty",
    );
}

#[test]
fn files_on_disk_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.tenzor");
    std::fs::write(&empty, b"").unwrap();
    let e = TensorFile::open(&empty).unwrap_err();
    assert!(
        e.to_string().starts_with(&empty.display().to_string()) && e.to_string().contains("empty"),
        "{e}"
    );
    let e = TensorFile::open(dir.path()).unwrap_err();
    assert!(e.to_string().contains("directory"), "{e}");
    let e = TensorFile::open(dir.path().join("missing.tenzor")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(e.to_string().contains("missing.tenzor"), "{e}");
    let other = dir.path().join("notes.txt");
    std::fs::write(&other, "plain text, not a model").unwrap();
    let e = TensorFile::open(&other).unwrap_err();
    assert!(
        e.to_string().contains("notes.txt: unrecognised format"),
        "{e}"
    );
}

/// A small deterministic fuzzer: random byte edits anywhere in the file,
/// half of them re-signed so they reach the structural checks. Whatever
/// opens must be fully usable without a panic or an out-of-bounds view.
#[test]
fn random_mutations_never_panic() {
    random_mutations(Validation::Full);
}

/// The same 20,000 mutations under lazy validation: more files open, and
/// every view a lookup returns must still be inside the file; what opens
/// but is wrong fails a lookup or `verify`.
#[test]
fn random_mutations_never_panic_lazily() {
    random_mutations(Validation::Lazy);
}

fn random_mutations(level: Validation) {
    let base = valid();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut opened = 0;
    for round in 0..20_000 {
        let mut b = base.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() % b.len() as u64) as usize;
            b[at] = match next() % 4 {
                0 => 0,
                1 => 0xff,
                2 => b[at].wrapping_add(1),
                _ => next() as u8,
            };
        }
        if round % 2 == 0 {
            resign(&mut b);
        }
        if let Ok(f) = TensorFile::from_bytes_with(&b, level) {
            opened += 1;
            let _ = f.metadata();
            let verified = f.verify().is_ok();
            let mut all_ok = true;
            for t in f.try_iter() {
                let Ok(t) = t else {
                    all_ok = false;
                    continue;
                };
                let end = t.file_offset() as usize + t.data().len();
                assert!(end <= b.len());
                // Only a file whose hashes lie can hide a tensor from a
                // lookup by name, and only a lazily opened one can hold a
                // name twice; verify refuses both.
                let found = f.get(t.name().unwrap_or("")).map(|x| x.data().as_ptr());
                if found != Some(t.data().as_ptr()) {
                    assert!(!verified, "round {round}: '{}' not found", t.display_name());
                }
            }
            assert!(
                all_ok || !verified,
                "round {round}: verify passed a bad entry"
            );
        }
    }
    // Edits to tensor data and to padding that the checksum covers open
    // (data is checked by verify), so some rounds must open.
    assert!(opened > 0);
}
