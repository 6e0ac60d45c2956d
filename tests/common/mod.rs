//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures").join(rel)
}

pub fn sha256(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

pub fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// Runs a Python helper; fails the test (never skips) when Python or the
/// package is missing, naming what to install.
pub fn python_json(script: &str, arg: &Path) -> serde_json::Value {
    let out = Command::new("python3")
        .arg(root().join("tests/py").join(script))
        .arg(arg)
        .output()
        .expect("python3 is required for this test (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "{script} failed on {}: {}\n(install the packages with: pip install safetensors==0.8.0 gguf numpy)",
        arg.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every file name in a directory.
pub fn dir_names(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
