//! Differential test of tenzor's safetensors header scan against the
//! official `safetensors` crate (the oracle; it is no longer on tenzor's
//! open path). For every input, tenzor must accept exactly when the
//! official crate accepts and tenzor's own documented rules hold, and then
//! read the same tensors: names, dtypes, shapes and byte ranges.
//!
//! Inputs: the fixtures, the malformed corpus, and a few thousand generated
//! headers, valid ones and mutations of them (token-level attacks on
//! numbers, keys, nesting and escapes, and random byte edits).

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::SafeTensors;
use tenzor::{DType, TensorFile};

/// (name, dtype name, shape, data offsets) per tensor, by name.
type Tensors = BTreeMap<String, (String, Vec<u64>, (u64, u64))>;

/// What the rules say about `bytes`: `None` to reject, or the tensors.
fn oracle(bytes: &[u8]) -> Option<Tensors> {
    // The official crate overflows (a debug-build panic) on offsets near
    // 2^64 (tests/corpus/st_offsets_sum_overflow): a refusal.
    let official = std::panic::catch_unwind(|| SafeTensors::read_metadata(bytes));
    let (n, meta) = official.ok()?.ok()?;
    // tenzor's own rules on top of the official crate's.
    // Recognised as safetensors: a length >= 2, then '{' (format detection).
    if bytes.len() <= 8 || bytes[8] != b'{' || n < 2 {
        return None;
    }
    let header = std::str::from_utf8(&bytes[8..8 + n]).ok()?;
    if has_duplicate_key(header) {
        return None;
    }
    // __metadata__, when present, is an object (null is refused).
    let v: serde_json::Value = serde_json::from_str(header).ok()?;
    if v.get("__metadata__").is_some_and(|m| !m.is_object()) {
        return None;
    }
    let mut out = Tensors::new();
    for (name, info) in meta.tensors() {
        let dtype = format!("{:?}", info.dtype);
        let known = DType::from_name(&dtype).is_some();
        if name.is_empty() || name.contains('\0') || info.shape.len() > 8 || !known {
            return None;
        }
        let shape = info.shape.iter().map(|&d| d as u64).collect();
        let (b, e) = info.data_offsets;
        out.insert(name, (dtype, shape, (b as u64, e as u64)));
    }
    Some(out)
}

/// Whether a top-level key appears twice (serde keeps the last silently).
fn has_duplicate_key(header: &str) -> bool {
    struct Keys(bool);
    impl<'de> serde::de::Visitor<'de> for &mut Keys {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some((k, _)) = m.next_entry::<String, serde::de::IgnoredAny>()? {
                self.0 |= !seen.insert(k);
            }
            Ok(())
        }
    }
    let mut k = Keys(false);
    let mut de = serde_json::Deserializer::from_str(header);
    serde::Deserializer::deserialize_map(&mut de, &mut k).is_ok() && k.0
}

/// What tenzor reads from `bytes`.
fn tenzor(bytes: &[u8]) -> Result<Tensors, String> {
    let f = TensorFile::from_bytes(bytes).map_err(|e| e.to_string())?;
    let data_start = f.header().data_offset;
    Ok(f.iter()
        .map(|t| {
            let b = t.file_offset() - data_start;
            (
                t.name().unwrap().to_string(),
                (
                    t.dtype().name().to_string(),
                    t.shape().to_vec(),
                    (b, b + t.data().len() as u64),
                ),
            )
        })
        .collect())
}

/// Compares the two on one input; returns a description of a mismatch.
fn differ(bytes: &[u8]) -> Option<String> {
    let want = oracle(bytes);
    let got = std::panic::catch_unwind(|| tenzor(bytes));
    let header = String::from_utf8_lossy(&bytes[8.min(bytes.len())..bytes.len().min(400)]);
    match (want, got) {
        (_, Err(_)) => Some(format!("tenzor panicked on {header}")),
        (None, Ok(Ok(_))) => Some(format!("tenzor accepts what the rules refuse: {header}")),
        (Some(_), Ok(Err(e))) => Some(format!(
            "tenzor refuses what the rules accept ({e}): {header}"
        )),
        (Some(w), Ok(Ok(g))) if w != g => {
            Some(format!("different tensors: {w:?} vs {g:?} for {header}"))
        }
        _ => None,
    }
}

/// A file: header length, header, `data` bytes.
fn file(header: &str, data: usize) -> Vec<u8> {
    let mut b = (header.len() as u64).to_le_bytes().to_vec();
    b.extend_from_slice(header.as_bytes());
    b.extend(std::iter::repeat_n(0u8, data));
    b
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

const DTYPES: [(&str, u64); 8] = [
    ("F32", 32),
    ("BF16", 16),
    ("U8", 8),
    ("I64", 64),
    ("F4", 4),
    ("BOOL", 8),
    ("F8_E4M3", 8),
    ("C64", 64),
];

/// A valid header of up to 6 tensors (sometimes with metadata, escapes in
/// names, extra fields, shuffled order) and its data length.
fn valid(r: &mut Rng) -> (String, usize) {
    let n = r.below(7);
    let mut at = 0u64;
    let mut entries = Vec::new();
    for i in 0..n {
        let (dt, bits) = DTYPES[r.below(DTYPES.len())];
        let rank = r.below(4);
        let shape: Vec<u64> = (0..rank).map(|_| 2 * r.below(4) as u64).collect();
        let bytes = shape.iter().product::<u64>() * bits / 8;
        let name = match r.below(5) {
            0 => format!("w\\u00{:02x}{i}", 0x61 + r.below(20)),
            1 => format!("layer.{i}.\\\"q\\\""),
            _ => format!("t{i}"),
        };
        let extra = if r.below(4) == 0 {
            r#","extra":{"x":[1,2]}"#
        } else {
            ""
        };
        entries.push(format!(
            r#""{name}":{{"dtype":"{dt}","shape":{shape:?},"data_offsets":[{at},{}]{extra}}}"#,
            at + bytes
        ));
        at += bytes;
    }
    if r.below(2) == 0 {
        entries.push(r#""__metadata__":{"format":"pt","n\u00e9":"v\n"}"#.into());
    }
    // Header order is not data order.
    for i in (1..entries.len()).rev() {
        entries.swap(i, r.below(i + 1));
    }
    let pad = " ".repeat(r.below(3) * 3);
    (format!("{{{}}}{pad}", entries.join(",")), at as usize)
}

/// Replacements that attack one rule each.
const SWAPS: &[(&str, &[&str])] = &[
    (
        "[0,",
        &[
            "[-1,",
            "[0.0,",
            "[1e1,",
            "[18446744073709551616,",
            "[null,",
            "[\"0\",",
        ],
    ),
    (
        "\"shape\":[",
        &[
            "\"shape\":[-0,",
            "\"shape\":[1,1,1,1,1,1,1,1,1,",
            "\"shape\":[[2],",
            "\"shape\":[9223372036854775807,4,",
            "\"shape\":[2.5,",
            "\"shape\":{},\"s\":[",
        ],
    ),
    (
        "\"dtype\":\"",
        &[
            "\"dtype\":1,\"d\":\"",
            "\"dtype\":\"F128\",\"d\":\"",
            "\"dtype\":\"Q4_0\",\"d\":\"",
            "\"dtype\":\"F32\",\"dtype\":\"",
            "\"dtyp\\u0065\":\"",
            "\"DTYPE\":\"",
        ],
    ),
    (
        "\"data_offsets\":[",
        &[
            "\"data_offsets\":[0,0,",
            "\"data_offsets\":{},\"o\":[",
            "\"data_offsets\":[1,",
            "\"data_offsets\":[18446744073709551615,",
        ],
    ),
    (
        "\"__metadata__\":{",
        &[
            "\"__metadata__\":null,\"m\":{",
            "\"__metadata__\":{\"a\":1,",
            "\"__metadata__\":{\"a\":[\"x\"],",
            "\"__metadata__\":[],\"m\":{",
            "\"__metadata__\":{\"a\":\"b\",\"a\":\"c\",",
            "\"__metadata__\":{},\"__metadata__\":{",
        ],
    ),
    (
        "\"t1\"",
        &[
            "\"t0\"",
            "\"\"",
            "\"t\\u0000\"",
            "\"\\u0074\\u0030\"",
            "\"t\\ud800\"",
        ],
    ),
    ("}", &["}}", "", ",}", "]"]),
    ("{", &["[", "{{", "{\"\":{},"]),
];

fn mutate(r: &mut Rng, header: &str) -> String {
    let mut h = header.to_string();
    for _ in 0..1 + r.below(2) {
        let (from, tos) = SWAPS[r.below(SWAPS.len())];
        if let Some(at) = h.match_indices(from).map(|(i, _)| i).nth(r.below(3)) {
            h.replace_range(at..at + from.len(), r.pick(tos));
        }
    }
    if r.below(4) == 0 {
        // A random byte edit.
        let mut b = h.into_bytes();
        if !b.is_empty() {
            let i = r.below(b.len());
            match r.below(3) {
                0 => b[i] = b"{}[],:\"0123456789-eE.\\ ufn"[r.below(25)],
                1 => {
                    b.remove(i);
                }
                _ => b.insert(i, b"{}[],:\"09-.\\ "[r.below(13)]),
            }
        }
        h = String::from_utf8_lossy(&b).into_owned();
    }
    h
}

/// A value nested `depth` arrays deep.
fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn generated_and_mutated_headers_agree_with_the_official_crate() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut failures = Vec::new();
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..4000 {
        let (h, data) = valid(&mut r);
        let h = if i % 4 == 0 { h } else { mutate(&mut r, &h) };
        // Sometimes the data is a byte short or long.
        let data = match r.below(10) {
            0 => data + 1,
            1 => data.saturating_sub(1),
            _ => data,
        };
        let bytes = file(&h, data);
        match oracle(&bytes) {
            Some(_) => accepted += 1,
            None => refused += 1,
        }
        failures.extend(differ(&bytes));
    }
    assert!(
        failures.is_empty(),
        "{} mismatches, first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
    // The generator must exercise both sides.
    assert!(accepted > 500 && refused > 1000, "{accepted} / {refused}");
}

#[test]
fn nesting_depth_is_refused_where_the_official_crate_refuses_it() {
    let t = r#""a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}"#;
    let mut outcomes = Vec::new();
    for depth in [1usize, 100, 125, 126, 127, 128, 129, 200, 5000] {
        for h in [
            format!(r#"{{{t},"x":{}}}"#, nested(depth)),
            format!(
                r#"{{"a":{{"dtype":"U8","shape":[1],"data_offsets":[0,1],"e":{}}}}}"#,
                nested(depth)
            ),
            format!(r#"{{{t},"__metadata__":{{"k":{}}}}}"#, nested(depth)),
        ] {
            let bytes = file(&h, 1);
            outcomes.push(oracle(&bytes).is_some());
            if let Some(m) = differ(&bytes) {
                panic!("depth {depth}: {m}");
            }
        }
    }
    assert!(outcomes.contains(&true) && outcomes.contains(&false));
}

#[test]
fn fixtures_and_corpus_agree_with_the_official_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in ["tests/fixtures/safetensors", "tests/corpus", "examples"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "safetensors") {
                let bytes = std::fs::read(&p).unwrap();
                if let Some(m) = differ(&bytes) {
                    panic!("{}: {m}", p.display());
                }
                n += 1;
            }
        }
    }
    assert!(n >= 25, "only {n} files");
}
