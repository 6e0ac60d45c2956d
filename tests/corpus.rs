//! The corpus of malformed files: every file of `tests/corpus/` (written by
//! `tests/corpus/make_corpus.py`) is an attack on one of the parsers, and
//! `tests/corpus/expected.json` says how opening it must fail.
//!
//! For each file: `TensorFile::open` must fail with the expected kind and a
//! message holding the expected substring and the file's name (for a
//! `"verify": true` case: open succeeds and `verify()` fails that way), and
//! `TensorFile::from_bytes` on the same bytes must fail with the same kind (or
//! `from_bytes_kind`). A panic inside the library is caught and reported as a
//! failure of that case; every case runs, and the test lists all failures.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use tenzor::{ErrorKind, TensorFile};

/// The manifest must hold at least this many cases: the test cannot pass on
/// an empty or lost manifest.
const MIN_CASES: usize = 40;
/// Files of the corpus directory that are not cases.
const NOT_CASES: [&str; 3] = ["make_corpus.py", "expected.json", "README.md"];
const MAX_FILE: u64 = 20 * 1024;
const MAX_TOTAL: u64 = 300 * 1024;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("corpus")
}

#[derive(Debug)]
struct Case {
    file: String,
    kind: ErrorKind,
    message: String,
    verify: bool,
    from_bytes_kind: ErrorKind,
}

fn parse_kind(s: &str) -> ErrorKind {
    match s {
        "InvalidArgument" => ErrorKind::InvalidArgument,
        "Io" => ErrorKind::Io,
        "BadFormat" => ErrorKind::BadFormat,
        "Checksum" => ErrorKind::Checksum,
        "NotFound" => ErrorKind::NotFound,
        "DuplicateName" => ErrorKind::DuplicateName,
        "Unsupported" => ErrorKind::Unsupported,
        other => panic!("expected.json: unknown error kind {other:?}"),
    }
}

fn manifest() -> Vec<Case> {
    let path = corpus_dir().join("expected.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).expect("expected.json is JSON");
    let map = json.as_object().expect("expected.json is an object");
    map.iter()
        .map(|(file, entry)| {
            let e = entry
                .as_object()
                .unwrap_or_else(|| panic!("{file}: entry is not an object"));
            for key in e.keys() {
                assert!(
                    ["kind", "message", "verify", "from_bytes_kind"].contains(&key.as_str()),
                    "{file}: unknown manifest key {key:?}"
                );
            }
            let string = |key: &str| -> Option<&str> {
                e.get(key).map(|v| {
                    v.as_str()
                        .unwrap_or_else(|| panic!("{file}: {key} is not a string"))
                })
            };
            let kind = parse_kind(string("kind").unwrap_or_else(|| panic!("{file}: no \"kind\"")));
            let message = string("message")
                .unwrap_or_else(|| panic!("{file}: no \"message\""))
                .to_string();
            assert!(!message.is_empty(), "{file}: empty message substring");
            let verify = e.get("verify").is_some_and(|v| {
                v.as_bool()
                    .unwrap_or_else(|| panic!("{file}: verify is not a bool"))
            });
            let from_bytes_kind = string("from_bytes_kind").map_or(kind, parse_kind);
            Case {
                file: file.clone(),
                kind,
                message,
                verify,
                from_bytes_kind,
            }
        })
        .collect()
}

/// Checks an error against the expected kind and substring, and (when
/// `path` is given) that the message names the file. The substring must
/// occur outside the file's path, so a file name cannot match it by itself.
fn check_err(
    what: &str,
    e: &tenzor::Error,
    kind: ErrorKind,
    needle: Option<&str>,
    path: Option<&Path>,
) -> Result<(), String> {
    let text = e.to_string();
    let path_text = path.map(|p| p.display().to_string());
    let without_path = match &path_text {
        Some(p) => text.replace(p.as_str(), ""),
        None => text.clone(),
    };
    if e.kind() != kind {
        return Err(format!(
            "{what}: kind {:?}, expected {kind:?} (message: {text})",
            e.kind()
        ));
    }
    if let Some(needle) = needle {
        if !without_path.contains(needle) {
            return Err(format!("{what}: message lacks {needle:?}: {text}"));
        }
    }
    if let Some(p) = &path_text {
        if !text.contains(p.as_str()) {
            return Err(format!(
                "{what}: message does not name the file {p}: {text}"
            ));
        }
    }
    Ok(())
}

fn check_open(c: &Case, path: &Path) -> Result<(), String> {
    let needle = Some(c.message.as_str());
    match TensorFile::open(path) {
        Err(e) if c.verify => Err(format!("open failed, but the file should open: {e}")),
        Err(e) => check_err("open", &e, c.kind, needle, Some(path)),
        Ok(f) if c.verify => match f.verify() {
            Ok(()) => Err("opened and verify() succeeded: the corruption went unnoticed".into()),
            Err(e) => check_err("verify", &e, c.kind, needle, Some(path)),
        },
        Ok(f) => Err(format!(
            "ACCEPTED: open succeeded ({} tensors: {:?}), expected {:?} with {:?}",
            f.len(),
            f.iter().map(|t| t.display_name()).collect::<Vec<_>>(),
            c.kind,
            c.message
        )),
    }
}

fn check_from_bytes(c: &Case, bytes: &[u8]) -> Result<(), String> {
    match TensorFile::from_bytes(bytes) {
        Err(e) if c.verify => Err(format!("from_bytes failed, but the bytes should open: {e}")),
        Err(e) => check_err("from_bytes", &e, c.from_bytes_kind, None, None),
        Ok(f) if c.verify => match f.verify() {
            Ok(()) => Err("from_bytes: verify() succeeded on corrupted data".into()),
            Err(e) => check_err("from_bytes verify", &e, c.kind, Some(&c.message), None),
        },
        Ok(f) => Err(format!(
            "ACCEPTED: from_bytes succeeded ({} tensors), expected {:?}",
            f.len(),
            c.from_bytes_kind
        )),
    }
}

/// Runs `check`, turning a panic into a failure message.
fn guarded(what: &str, check: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    match catch_unwind(AssertUnwindSafe(check)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("(non-string panic payload)");
            Err(format!("PANIC in {what}: {msg}"))
        }
    }
}

#[test]
fn manifest_lists_exactly_the_corpus_files() {
    let cases = manifest();
    assert!(
        cases.len() >= MIN_CASES,
        "expected.json lists {} cases, fewer than {MIN_CASES}: regenerate with tests/corpus/make_corpus.py",
        cases.len()
    );
    let listed: BTreeSet<String> = cases.iter().map(|c| c.file.clone()).collect();
    let mut on_disk = BTreeSet::new();
    let mut total = 0;
    for entry in std::fs::read_dir(corpus_dir()).expect("tests/corpus exists") {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().expect("UTF-8 file name");
        if NOT_CASES.contains(&name.as_str()) {
            continue;
        }
        let meta = entry.metadata().unwrap();
        assert!(meta.is_file(), "{name} is not a regular file");
        assert!(meta.len() < MAX_FILE, "{name}: {} bytes", meta.len());
        total += meta.len();
        on_disk.insert(name);
    }
    assert!(total < MAX_TOTAL, "the corpus files take {total} bytes");
    let missing: Vec<_> = listed.difference(&on_disk).collect();
    let unlisted: Vec<_> = on_disk.difference(&listed).collect();
    assert!(
        missing.is_empty() && unlisted.is_empty(),
        "listed but missing: {missing:?}; present but not listed: {unlisted:?}"
    );
    // Every format is covered, not just one.
    for prefix in ["gguf_", "st_", "tz_", "v1_", "index_"] {
        let n = listed.iter().filter(|f| f.starts_with(prefix)).count();
        assert!(n >= 5, "only {n} cases for {prefix}*");
    }
}

#[test]
fn every_corpus_file_fails_as_expected() {
    let cases = manifest();
    assert!(cases.len() >= MIN_CASES, "only {} cases", cases.len());
    let dir = corpus_dir();
    let mut failures = Vec::new();
    let mut checked = 0;
    for c in &cases {
        let path = dir.join(&c.file);
        let bytes =
            std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let mut problems = Vec::new();
        if let Err(m) = guarded("open", || check_open(c, &path)) {
            problems.push(m);
        }
        if let Err(m) = guarded("from_bytes", || check_from_bytes(c, &bytes)) {
            problems.push(m);
        }
        for p in problems {
            failures.push(format!("{}: {p}", c.file));
        }
        checked += 1;
    }
    assert_eq!(checked, cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases failed:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
}
