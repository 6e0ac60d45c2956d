//! Tests of the GGUF parser: against what gguf-py reads from the fixtures,
//! against handcrafted files for every attack class, and against
//! truncations and byte flips of a real file.

use super::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gguf");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
}

fn reference() -> serde_json::Map<String, Value> {
    serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURES}/reference.json")).unwrap())
        .unwrap()
}

/// gguf-py's type names ("ARRAY[INT32]") as our descriptors ("array<i32>").
fn descriptor(py: &str) -> String {
    if let Some(inner) = py.strip_prefix("ARRAY[").and_then(|r| r.strip_suffix(']')) {
        return format!("array<{}>", descriptor(inner));
    }
    match py {
        "UINT8" => "u8",
        "INT8" => "i8",
        "UINT16" => "u16",
        "INT16" => "i16",
        "UINT32" => "u32",
        "INT32" => "i32",
        "UINT64" => "u64",
        "INT64" => "i64",
        "FLOAT32" => "f32",
        "FLOAT64" => "f64",
        "BOOL" => "bool",
        "STRING" => "string",
        other => panic!("unknown gguf-py type {other}"),
    }
    .to_string()
}

#[test]
fn fixtures_match_what_gguf_py_reads() {
    let reference = reference();
    assert_eq!(reference.len(), 4);
    for (file, want) in &reference {
        let bytes = fixture(file);
        let f = parse(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            f.version as u64,
            want["version"].as_u64().unwrap(),
            "{file}"
        );
        assert_eq!(f.alignment, want["alignment"].as_u64().unwrap(), "{file}");
        assert_eq!(
            f.data_offset as u64,
            want["data_start"].as_u64().unwrap(),
            "{file}"
        );

        // KV values and order.
        let (kv_json, kv_types_json) = kv_json(&bytes, &f.kv);
        let kv: serde_json::Map<String, Value> = serde_json::from_str(&kv_json).unwrap();
        let want_kv = want["kv"].as_object().unwrap();
        assert_eq!(
            kv.keys().collect::<Vec<_>>(),
            want_kv.keys().collect::<Vec<_>>(),
            "{file}: key order"
        );
        for (k, v) in want_kv {
            assert_eq!(&kv[k], v, "{file}: key {k}");
        }
        // KV types, same keys and order.
        let types: serde_json::Map<String, Value> = serde_json::from_str(&kv_types_json).unwrap();
        let want_types = want["kv_types"].as_object().unwrap();
        assert_eq!(types.len(), want_types.len(), "{file}");
        for ((k, t), (wk, wt)) in types.iter().zip(want_types) {
            assert_eq!(k, wk, "{file}");
            assert_eq!(
                t,
                &Value::String(descriptor(wt.as_str().unwrap())),
                "{file}: key {k}"
            );
        }

        // Tensors.
        let want_tensors = want["tensors"].as_array().unwrap();
        assert_eq!(f.tensors.len(), want_tensors.len(), "{file}");
        for (t, w) in f.tensors.iter().zip(want_tensors) {
            assert_eq!(t.name, w["name"].as_str().unwrap(), "{file}");
            assert_eq!(
                t.ggml_type as u64,
                w["ggml_type"].as_u64().unwrap(),
                "{}",
                t.name
            );
            assert_eq!(
                t.dtype.name(),
                w["ggml_type_name"].as_str().unwrap(),
                "{}",
                t.name
            );
            let mut ne: Vec<u64> = w["shape_ne"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap())
                .collect();
            ne.reverse();
            assert_eq!(
                t.dims(),
                &ne[..],
                "{}: row-major shape is ne reversed",
                t.name
            );
            assert!(t.shape[t.ndim as usize..].iter().all(|&d| d == 0));
            assert_eq!(
                t.offset as u64,
                w["data_offset"].as_u64().unwrap(),
                "{}",
                t.name
            );
            assert_eq!(t.size as u64, w["n_bytes"].as_u64().unwrap(), "{}", t.name);
            let sha = format!("{:x}", Sha256::digest(&bytes[t.offset..t.offset + t.size]));
            assert_eq!(sha, w["sha256"].as_str().unwrap(), "{}", t.name);
        }
    }
}

#[test]
fn source_metadata_carries_the_types() {
    let bytes = fixture("small.gguf");
    let src = crate::TensorFile::from_bytes(&bytes).unwrap();
    let meta: serde_json::Map<String, Value> = serde_json::from_str(src.metadata_json()).unwrap();
    assert_eq!(
        meta.keys().next_back().unwrap(),
        TYPES_KEY,
        "types come last"
    );
    assert_eq!(meta["test.uint64"], Value::from(u64::MAX));
    assert_eq!(meta[TYPES_KEY]["test.uint64"], "u64");
    assert_eq!(
        meta[TYPES_KEY]["test.array.nested_nested"],
        "array<array<array<i32>>>"
    );
    assert_eq!(src.len(), 15);
    let q8 = src.get_at(4).unwrap();
    assert_eq!(q8.dtype(), DType::Q8_0);
    assert_eq!(q8.shape(), &[32, 64]);
    assert_eq!(q8.data().len(), 2176);
}

// ---------------------------------------------------------------------------
// Handcrafted files.

/// Builds GGUF bytes field by field.
#[derive(Default, Clone)]
struct G(Vec<u8>);

impl G {
    fn u8(mut self, v: u8) -> G {
        self.0.push(v);
        self
    }
    fn u32(mut self, v: u32) -> G {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(mut self, v: u64) -> G {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn raw(mut self, b: &[u8]) -> G {
        self.0.extend_from_slice(b);
        self
    }
    fn str(self, s: &str) -> G {
        self.bytes_str(s.as_bytes())
    }
    fn bytes_str(self, b: &[u8]) -> G {
        self.u64(b.len() as u64).raw(b)
    }
    /// Magic, version 3 and the two counts.
    fn header(n_tensors: u64, n_kv: u64) -> G {
        G::default().raw(b"GGUF").u32(3).u64(n_tensors).u64(n_kv)
    }
    /// A tensor info with `ne` in GGUF order.
    fn tensor(self, name: &str, ne: &[u64], ggml: u32, offset: u64) -> G {
        let mut g = self.str(name).u32(ne.len() as u32);
        for &d in ne {
            g = g.u64(d);
        }
        g.u32(ggml).u64(offset)
    }
    /// Pads to `align` and appends `data`.
    fn data(mut self, align: usize, data: &[u8]) -> G {
        self.0.resize(self.0.len().next_multiple_of(align), 0);
        self.raw(data)
    }
}

fn err(bytes: &[u8]) -> Error {
    match parse(bytes) {
        Ok(f) => panic!("parsed: {f:?}"),
        Err(e) => e,
    }
}

/// Asserts the parse fails with `kind` and a message containing `needle`.
fn assert_err(bytes: &[u8], kind: ErrorKind, needle: &str) {
    let e = err(bytes);
    assert_eq!(e.kind(), kind, "{e}");
    assert!(e.message().contains(needle), "'{e}' lacks '{needle}'");
}

#[test]
fn minimal_files_parse() {
    let b = G::header(0, 0).0;
    let f = parse(&b).unwrap();
    assert_eq!(kv_json(&b, &f.kv), ("{}".into(), "{}".into()));
    assert_eq!((f.version, f.alignment, f.data_offset), (3, 32, 32));
    // Version 2 has the same layout.
    let mut v2 = G::header(0, 0).0;
    v2[4] = 2;
    assert_eq!(parse(&v2).unwrap().version, 2);
    // A scalar (rank 0) and an empty tensor (a 0 dimension) are fine.
    let g = G::header(2, 0)
        .tensor("scalar", &[], 0, 0)
        .tensor("empty", &[0, 3], 1, 32)
        .data(32, &[1; 32]);
    let f = parse(&g.0).unwrap();
    assert_eq!((f.tensors[0].ndim, f.tensors[0].size), (0, 4));
    assert_eq!(
        (f.tensors[1].dims(), f.tensors[1].size),
        (&[3u64, 0][..], 0)
    );
}

#[test]
fn bad_magic_and_versions() {
    assert_err(b"GGU", ErrorKind::BadFormat, "not a GGUF file");
    assert_err(b"GGML\x03\0\0\0", ErrorKind::BadFormat, "not a GGUF file");
    assert_err(b"GGUF\x03", ErrorKind::BadFormat, "truncated: version");
    let v = |v: u32| G::default().raw(b"GGUF").u32(v).u64(0).u64(0).0;
    assert_err(&v(1), ErrorKind::Unsupported, "version 1 is not supported");
    assert_err(&v(4), ErrorKind::Unsupported, "version 4 is not supported");
    assert_err(&v(0), ErrorKind::Unsupported, "version 0 is not supported");
    assert_err(&v(3u32.swap_bytes()), ErrorKind::Unsupported, "big-endian");
    // A big-endian file's counts are byte-swapped too; the version catches it first.
    let be = G::default()
        .raw(b"GGUF")
        .raw(&3u32.to_be_bytes())
        .raw(&1u64.to_be_bytes())
        .u64(0);
    assert_err(&be.0, ErrorKind::Unsupported, "only little-endian");
}

#[test]
fn counts_and_lengths_are_checked_before_allocating() {
    // Each of these would ask for an allocation of petabytes if trusted.
    assert_err(
        &G::header(1 << 40, 0).raw(&[0; 76]).0,
        ErrorKind::BadFormat,
        "tensor count 1099511627776",
    );
    assert_err(
        &G::header(u64::MAX, 0).0,
        ErrorKind::BadFormat,
        "tensor count",
    );
    assert_err(
        &G::header(0, 1 << 40).raw(&[0; 76]).0,
        ErrorKind::BadFormat,
        "KV count 1099511627776",
    );
    assert_err(&G::header(0, u64::MAX).0, ErrorKind::BadFormat, "KV count");
    // Tensor and KV counts together must fit.
    let g = G::header(3, 3).raw(&[0; 60]);
    assert_err(
        &g.0,
        ErrorKind::BadFormat,
        "tensor count 3 (with 3 KV pairs)",
    );
    // A key length of 2^63 in a 100-byte file.
    let g = G::header(0, 1).u64(1 << 63).raw(&[b'a'; 68]);
    assert_eq!(g.0.len(), 100);
    assert_err(&g.0, ErrorKind::BadFormat, "length 9223372036854775808");
    // A string value of 2^63 bytes, and of u64::MAX bytes.
    for len in [1u64 << 63, u64::MAX] {
        let g = G::header(0, 1).str("k").u32(8).u64(len).raw(b"abc");
        assert_err(&g.0, ErrorKind::BadFormat, "key 'k': string value: length");
    }
    // An array of 2^60 u8, of 2^60 strings, of 2^62 arrays.
    for (item, needle) in [
        (0, "1152921504606846976 u8"),
        (8, "1152921504606846976 string"),
    ] {
        let g = G::header(0, 1)
            .str("k")
            .u32(9)
            .u32(item)
            .u64(1 << 60)
            .raw(&[0; 40]);
        assert_err(&g.0, ErrorKind::BadFormat, needle);
    }
    let g = G::header(0, 1)
        .str("k")
        .u32(9)
        .u32(9)
        .u64(1 << 62)
        .raw(&[0; 40]);
    assert_err(
        &g.0,
        ErrorKind::BadFormat,
        "4611686018427387904 array values cannot fit",
    );
    // count * element size overflowing u64 is the same error.
    let g = G::header(0, 1)
        .str("k")
        .u32(9)
        .u32(10)
        .u64(u64::MAX / 4)
        .raw(&[0; 40]);
    assert_err(&g.0, ErrorKind::BadFormat, "u64 values cannot fit");
    // A tensor name length of 2^63.
    let g = G::header(1, 0).u64(1 << 63).raw(&[0; 40]);
    assert_err(
        &g.0,
        ErrorKind::BadFormat,
        "tensor info #0: tensor name: length",
    );
}

#[test]
fn truncated_values_are_errors() {
    let g = G::header(0, 1).str("k").u32(12).raw(&[0; 4]);
    assert_err(
        &g.0,
        ErrorKind::BadFormat,
        "key 'k': file truncated: f64 needs 8 bytes",
    );
    let g = G::header(1, 0).str("t").u32(4).u64(4).u32(0);
    assert_err(
        &g.0,
        ErrorKind::BadFormat,
        "tensor 't': file truncated: dimension",
    );
}

#[test]
fn size_arithmetic_is_checked() {
    // Product of dims overflows u64.
    let g = G::header(1, 0)
        .tensor("t", &[1 << 32, 1 << 32], 0, 0)
        .data(32, &[]);
    assert_err(&g.0, ErrorKind::BadFormat, "tensor 't': element count");
    // Product above i64::MAX (GGML's int64_t) but below u64::MAX.
    let g = G::header(1, 0)
        .tensor("t", &[1 << 32, 1 << 31], 24, 0)
        .data(32, &[]);
    assert_err(&g.0, ErrorKind::BadFormat, "element count");
    // A dimension above i64::MAX.
    let g = G::header(1, 0).tensor("t", &[1 << 63], 24, 0).data(32, &[]);
    assert_err(&g.0, ErrorKind::BadFormat, "exceeds GGML's int64 range");
    // GHSA-96jg-mvhq-q7q7: a 2^42+1 dimension with a small buffer.
    let g = G::header(1, 0)
        .tensor("t", &[(1 << 42) + 1], 0, 0)
        .data(32, &[0; 64]);
    assert_err(
        &g.0,
        ErrorKind::BadFormat,
        "needs more bytes than the file has",
    );
    // numel fits but numel * 8 does not.
    let g = G::header(1, 0)
        .tensor("t", &[1 << 61, 2], 28, 0)
        .data(32, &[]);
    assert_err(
        &g.0,
        ErrorKind::BadFormat,
        "needs more bytes than the file has",
    );
    // Block types: ne[0] must be whole blocks (a 48-element Q4_0 row).
    let g = G::header(1, 0)
        .tensor("q", &[48, 2], 2, 0)
        .data(32, &[0; 64]);
    assert_err(
        &g.0,
        ErrorKind::BadFormat,
        "innermost dimension 48 is not a multiple of the Q4_0 block size 32",
    );
    // ...even when the total is whole blocks (48 * 2 = 96 = 3 blocks).
    let g = G::header(1, 0)
        .tensor("q", &[16, 2], 2, 0)
        .data(32, &[0; 64]);
    assert_err(&g.0, ErrorKind::BadFormat, "innermost dimension 16");
    // And a scalar block tensor is never whole blocks.
    let g = G::header(1, 0).tensor("q", &[], 8, 0).data(32, &[0; 64]);
    assert_err(&g.0, ErrorKind::BadFormat, "innermost dimension 1");
    // A valid Q4_0 tensor: 64 x 2 elements = 4 blocks of 18 bytes.
    let g = G::header(1, 0)
        .tensor("q", &[64, 2], 2, 0)
        .data(32, &[0; 72]);
    let f = parse(&g.0).unwrap();
    assert_eq!((f.tensors[0].dtype, f.tensors[0].size), (DType::Q4_0, 72));
    assert_eq!(f.tensors[0].dims(), &[2, 64]);
}

#[test]
fn ranks_and_type_codes_are_checked() {
    let g = G::header(1, 0)
        .tensor("t", &[1, 1, 1, 1, 1], 0, 0)
        .data(32, &[0; 4]);
    assert_err(
        &g.0,
        ErrorKind::BadFormat,
        "tensor 't': rank 5 exceeds GGUF's maximum of 4",
    );
    let g = G::header(1, 0).str("t").u32(u32::MAX).data(32, &[0; 64]);
    assert_err(&g.0, ErrorKind::BadFormat, "rank 4294967295");
    let g = G::header(1, 0)
        .tensor("t", &[1, 1, 1, 1], 0, 0)
        .data(32, &[0; 4]);
    assert_eq!(parse(&g.0).unwrap().tensors[0].ndim, 4);
    // Unknown, removed (Q4_2 = 4) and "negative" GGML types.
    for code in [4u32, 42, 1000, u32::MAX] {
        let g = G::header(1, 0).tensor("t", &[1], code, 0).data(32, &[0; 8]);
        assert_err(
            &g.0,
            ErrorKind::Unsupported,
            &format!("tensor 't': unknown or unsupported ggml type {code}"),
        );
    }
    // Unknown and "negative" KV types, and array item types.
    for code in [13u32, u32::MAX] {
        let g = G::header(0, 1).str("k").u32(code).u64(0);
        assert_err(
            &g.0,
            ErrorKind::BadFormat,
            &format!("key 'k': unknown value type {code}"),
        );
        let g = G::header(0, 1).str("k").u32(9).u32(code).u64(0);
        assert_err(
            &g.0,
            ErrorKind::BadFormat,
            &format!("key 'k': unknown array item type {code}"),
        );
    }
    // bool is 0 or 1.
    let g = G::header(0, 1).str("k").u32(7).u8(2);
    assert_err(
        &g.0,
        ErrorKind::BadFormat,
        "key 'k': bool value 2 at offset 37 is neither 0 nor 1",
    );
}

#[test]
fn alignment_is_checked() {
    let with = |ty: u32, val: &[u8]| G::header(0, 1).str("general.alignment").u32(ty).raw(val);
    let f = parse(&with(4, &64u32.to_le_bytes()).0).unwrap();
    assert_eq!((f.alignment, f.data_offset), (64, 64));
    let f = parse(&with(4, &1u32.to_le_bytes()).0).unwrap();
    assert_eq!(f.alignment, 1);
    assert_err(
        &with(5, &64i32.to_le_bytes()).0,
        ErrorKind::BadFormat,
        "'general.alignment': must be u32, not i32",
    );
    assert_err(
        &with(10, &64u64.to_le_bytes()).0,
        ErrorKind::BadFormat,
        "must be u32, not u64",
    );
    for a in [0u32, 3, 48, 1 << 21, 1 << 31, u32::MAX] {
        assert_err(
            &with(4, &a.to_le_bytes()).0,
            ErrorKind::BadFormat,
            &format!("alignment {a} is not a power of two"),
        );
    }
}

#[test]
fn data_ranges_are_checked() {
    // Offsets must be multiples of the alignment.
    let g = G::header(1, 0).tensor("t", &[1], 0, 4).data(32, &[0; 8]);
    assert_err(
        &g.0,
        ErrorKind::BadFormat,
        "tensor 't': data offset 4 is not a multiple of the alignment 32",
    );
    // Data beyond the end ("Bleeding Llama"): by offset, by size, by overflow.
    let g = G::header(1, 0).tensor("t", &[4], 0, 32).data(32, &[0; 40]);
    assert_err(
        &g.0,
        ErrorKind::BadFormat,
        "tensor 't': data at offset 32 (+16 bytes)",
    );
    let g = G::header(1, 0).tensor("t", &[16], 0, 0).data(32, &[0; 40]);
    assert_err(&g.0, ErrorKind::BadFormat, "lies outside");
    let g = G::header(1, 0)
        .tensor("t", &[1], 0, u64::MAX - 31)
        .data(32, &[0; 4]);
    assert_err(&g.0, ErrorKind::BadFormat, "lies outside");
    // An empty tensor past the end is out of bounds too.
    let g = G::header(1, 0).tensor("t", &[0], 0, 64).data(32, &[]);
    assert_err(&g.0, ErrorKind::BadFormat, "lies outside");
    // Overlapping ranges, in either order; touching ranges are fine.
    let g = G::header(2, 0)
        .tensor("a", &[16], 0, 0)
        .tensor("b", &[8], 0, 32)
        .data(32, &[0; 96]);
    assert_err(&g.0, ErrorKind::BadFormat, "tensor 'a': data [");
    let e = err(&g.0);
    assert!(e.message().contains("overlaps tensor 'b'"), "{e}");
    let g = G::header(2, 0)
        .tensor("a", &[8], 0, 32)
        .tensor("b", &[16], 0, 0)
        .data(32, &[0; 96]);
    assert_err(&g.0, ErrorKind::BadFormat, "tensor 'b': data [");
    let g = G::header(2, 0)
        .tensor("a", &[8], 0, 0)
        .tensor("b", &[8], 0, 32)
        .data(32, &[0; 64]);
    assert!(parse(&g.0).is_ok());
    // Aliased: two tensors at the same offset.
    let g = G::header(2, 0)
        .tensor("a", &[8], 0, 0)
        .tensor("b", &[8], 0, 0)
        .data(32, &[0; 64]);
    assert_err(&g.0, ErrorKind::BadFormat, "overlaps");
    // Two empty tensors at one offset share no byte.
    let g = G::header(2, 0)
        .tensor("a", &[0], 0, 0)
        .tensor("b", &[0], 0, 0)
        .data(32, &[0; 32]);
    assert!(parse(&g.0).is_ok());
}

#[test]
fn names_and_keys_are_checked() {
    let g = G::header(2, 0)
        .tensor("t", &[1], 0, 0)
        .tensor("t", &[1], 0, 32)
        .data(32, &[0; 64]);
    assert_err(
        &g.0,
        ErrorKind::DuplicateName,
        "tensor 't': name appears twice",
    );
    let g = G::header(0, 2).str("k").u32(0).u8(1).str("k").u32(0).u8(2);
    assert_err(&g.0, ErrorKind::DuplicateName, "key 'k': key appears twice");
    let g = G::header(1, 0).tensor("a\0b", &[1], 0, 0).data(32, &[0; 4]);
    assert_err(
        &g.0,
        ErrorKind::BadFormat,
        "tensor info #0: name contains a NUL byte",
    );
    let g = G::header(1, 0).tensor("", &[1], 0, 0).data(32, &[0; 4]);
    assert_err(&g.0, ErrorKind::BadFormat, "name is empty");
    let g = G::header(1, 0)
        .bytes_str(b"\xff\xfe")
        .u32(1)
        .u64(1)
        .u32(0)
        .u64(0)
        .data(32, &[0; 4]);
    assert_err(
        &g.0,
        ErrorKind::BadFormat,
        "tensor info #0: tensor name at offset 24 is not UTF-8",
    );
    let g = G::header(0, 1).bytes_str(b"k\xc3").u32(0).u8(1);
    assert_err(
        &g.0,
        ErrorKind::BadFormat,
        "KV #0: key at offset 24 is not UTF-8",
    );
    let g = G::header(0, 1).str("k\0").u32(0).u8(1);
    assert_err(&g.0, ErrorKind::BadFormat, "key contains a NUL byte");
    let g = G::header(0, 1).str("").u32(0).u8(1).u8(0);
    assert_err(&g.0, ErrorKind::BadFormat, "KV #0: key is empty");
    let g = G::header(0, 1).str("k").u32(8).bytes_str(b"\x80");
    assert_err(
        &g.0,
        ErrorKind::BadFormat,
        "key 'k': string value at offset",
    );
    // String values may hold NUL (they are length-prefixed); JSON escapes it.
    let g = G::header(0, 1).str("k").u32(8).str("a\0b");
    assert_eq!(
        kv_json(&g.0, &parse(&g.0).unwrap().kv).0,
        r#"{"k":"a\u0000b"}"#
    );
}

/// `depth` arrays nested in each other around one u8.
fn nested(depth: usize) -> G {
    let mut g = G::header(0, 1).str("k").u32(9);
    for _ in 1..depth {
        g = g.u32(9).u64(1);
    }
    g.u32(0).u64(1).u8(7)
}

#[test]
fn array_nesting_is_capped() {
    let b = nested(MAX_ARRAY_DEPTH).0;
    let (kv, types) = kv_json(&b, &parse(&b).unwrap().kv);
    let open = "[".repeat(MAX_ARRAY_DEPTH);
    let close = "]".repeat(MAX_ARRAY_DEPTH);
    assert_eq!(kv, format!(r#"{{"k":{open}7{close}}}"#));
    let ty = format!(
        "{}u8{}",
        "array<".repeat(MAX_ARRAY_DEPTH),
        ">".repeat(MAX_ARRAY_DEPTH)
    );
    assert_eq!(types, format!(r#"{{"k":"{ty}"}}"#));
    assert_err(
        &nested(MAX_ARRAY_DEPTH + 1).0,
        ErrorKind::BadFormat,
        "key 'k': arrays are nested deeper than 8",
    );
    // A deep chain far beyond the cap fails the same way, without recursion trouble.
    let mut g = G::header(0, 1).str("k").u32(9);
    for _ in 0..100_000 {
        g = g.u32(9).u64(1);
    }
    assert_err(&g.0, ErrorKind::BadFormat, "nested deeper");
}

#[test]
fn every_value_type_becomes_json_with_its_type() {
    let g = G::header(0, 8)
        .str("u16")
        .u32(2)
        .raw(&65535u16.to_le_bytes())
        .str("i16")
        .u32(3)
        .raw(&(-5i16).to_le_bytes())
        .str("nan")
        .u32(6)
        .raw(&f32::NAN.to_le_bytes())
        .str("inf")
        .u32(12)
        .raw(&f64::NEG_INFINITY.to_le_bytes())
        .str("empty")
        .u32(9)
        .u32(10)
        .u64(0)
        .str("empty_of_arrays")
        .u32(9)
        .u32(9)
        .u64(0)
        // An array of arrays whose elements differ in item type.
        .str("mixed")
        .u32(9)
        .u32(9)
        .u64(2)
        .u32(5)
        .u64(1)
        .raw(&(-1i32).to_le_bytes())
        .u32(8)
        .u64(1)
        .str("x")
        .str("f32")
        .u32(6)
        .raw(&0.1f32.to_le_bytes());
    let (kv, types) = kv_json(&g.0, &parse(&g.0).unwrap().kv);
    assert_eq!(
        kv,
        r#"{"u16":65535,"i16":-5,"nan":"NaN","inf":"-inf","empty":[],"empty_of_arrays":[],"mixed":[[-1],["x"]],"f32":0.10000000149011612}"#
    );
    assert_eq!(
        types,
        r#"{"u16":"u16","i16":"i16","nan":"f32","inf":"f64","empty":"array<u64>","empty_of_arrays":"array<array>","mixed":["array<i32>","array<string>"],"f32":"f32"}"#
    );
}

#[test]
fn reserved_key_is_refused_by_the_source() {
    let g = G::header(0, 1).str(TYPES_KEY).u32(0).u8(1);
    assert!(parse(&g.0).is_ok(), "a valid GGUF file");
    let e = crate::TensorFile::from_bytes(&g.0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.message().contains("reserved by tenzor"), "{e}");
}

// ---------------------------------------------------------------------------
// Mutations of a real file: parse must return, never panic.

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let bytes = fixture("small.gguf");
    let f = parse(&bytes).unwrap();
    let last_end = f.tensors.iter().map(|t| t.offset + t.size).max().unwrap();
    for len in 0..bytes.len() {
        let r = parse(&bytes[..len]);
        if len < last_end {
            assert!(r.is_err(), "truncated to {len} bytes");
        } else {
            assert!(r.is_ok(), "only padding cut at {len} bytes");
        }
    }
}

#[test]
fn byte_flips_in_the_header_never_panic() {
    let mut bytes = fixture("small.gguf");
    let header_end = parse(&bytes).unwrap().data_offset;
    let mut ok = 0;
    for i in 0..header_end {
        let orig = bytes[i];
        for v in [
            0x00,
            0xff,
            0x80,
            0x7f,
            orig ^ 1,
            orig.wrapping_add(1),
            orig ^ 0x40,
        ] {
            bytes[i] = v;
            ok += parse(&bytes).is_ok() as usize;
        }
        bytes[i] = orig;
    }
    // Some flips land in values (still valid); most do not.
    assert!(ok > 0 && ok < header_end * 7);
}

#[test]
fn random_multi_byte_mutations_never_panic() {
    // xorshift: deterministic, no dependency.
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for file in ["small.gguf", "aligned64.gguf", "split-00002-of-00002.gguf"] {
        let orig = fixture(file);
        let header_end = parse(&orig).unwrap().data_offset;
        for _ in 0..3000 {
            let mut b = orig.clone();
            for _ in 0..1 + rnd() % 4 {
                let at = (rnd() as usize) % (header_end - 8);
                // Overwrite a (maybe unaligned) 8-byte field with a nasty value.
                let v = match rnd() % 6 {
                    0 => u64::MAX,
                    1 => 1 << 63,
                    2 => 1 << (rnd() % 64),
                    3 => rnd() % 16,
                    4 => rnd(),
                    _ => u64::from_le_bytes(b[at..at + 8].try_into().unwrap()).wrapping_add(1),
                };
                let n = [1, 4, 8][(rnd() % 3) as usize];
                b[at..at + n].copy_from_slice(&v.to_le_bytes()[..n]);
            }
            let _ = parse(&b);
            let cut = (rnd() as usize) % b.len();
            let _ = parse(&b[..cut]);
        }
    }
}

/// A KV "k" holding a string array of `items` (raw bytes each).
fn string_array(items: &[Vec<u8>]) -> G {
    let mut g = G::header(0, 1)
        .str("k")
        .u32(9)
        .u32(8)
        .u64(items.len() as u64);
    for it in items {
        g = g.u64(it.len() as u64).raw(it);
    }
    g
}

#[test]
fn string_arrays_are_checked_string_by_string_whatever_the_fast_path() {
    let word = |s: &str| s.as_bytes().to_vec();
    let long = "é".repeat(100); // 200 bytes: a length prefix with a byte >= 0x80
    let huge = "ü".repeat(40_000); // 80,000 bytes: prefix bytes 0x80 0x38 0x01
    let mut ok: Vec<Vec<u8>> = (0..40_000).map(|i| word(&format!("▁t{i}"))).collect();
    ok[7] = Vec::new();
    ok[20_000] = word(&long);
    ok[30_000] = word(&huge);
    let g = string_array(&ok);
    let f = parse(&g.0).expect("valid strings, ASCII and not, across chunks");
    let meta = crate::gguf_meta::GgufMeta::new(f.kv);
    let m = crate::meta::Meta::gguf(&g.0, &meta);
    let Some(crate::MetaValue::Array(a)) = m.value("k") else {
        panic!("an array")
    };
    assert!(a
        .strs()
        .eq(ok.iter().map(|b| std::str::from_utf8(b).unwrap())));

    // Invalid UTF-8 anywhere fails, naming the offset: in a chunk whose
    // prefixes are ASCII, after a long string, and a lead byte cut by the
    // string's end (the next prefix must not complete it).
    for (at, bad) in [
        (3usize, vec![b'a', 0xff]),
        (20_001, vec![0xc3]),
        (39_999, vec![b'x', 0xe2, 0x96]),
        (16_384, vec![0xed, 0xa0, 0x80]),
    ] {
        let mut items = ok.clone();
        items[at] = bad;
        assert_err(
            &string_array(&items).0,
            ErrorKind::BadFormat,
            "string value at offset",
        );
    }
    // A length past the end inside the run is a bound error, not UTF-8.
    let mut g = string_array(&ok[..3]);
    g.0.truncate(g.0.len() - 2);
    assert_err(&g.0, ErrorKind::BadFormat, "exceeds");
}

#[test]
fn a_large_kv_section_reads_back_after_its_pages_were_released() {
    // 5 MB of strings: open from a path hands checked 2 MiB windows of the
    // mapping back to the page cache; reading them later faults them in.
    let items: Vec<Vec<u8>> = (0..200_000)
        .map(|i| format!("▁token{i:07}").into_bytes())
        .collect();
    let g = string_array(&items);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.gguf");
    std::fs::write(&path, &g.0).unwrap();
    let f = crate::TensorFile::open(&path).unwrap();
    let m = f.meta().unwrap();
    let Some(crate::MetaValue::Array(a)) = m.value("k") else {
        panic!("an array")
    };
    assert_eq!(a.len(), items.len());
    assert!(a
        .strs()
        .eq(items.iter().map(|b| std::str::from_utf8(b).unwrap())));
    assert_eq!(a.str(123_456), Some("▁token0123456"));
    let json: serde_json::Value = f.metadata().unwrap();
    assert_eq!(json["k"][199_999], "▁token0199999");
}
