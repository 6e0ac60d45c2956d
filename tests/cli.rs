//! The `tenzor` command: exit statuses, one-line errors, JSON output.

mod common;

use std::process::{Command, Output};

fn tenzor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tenzor"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn convert_info_verify_get_on_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sample.tenzor");
    let sample = common::root().join("examples/sample.safetensors");
    let o = tenzor(&[
        "convert",
        sample.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("21 tensors"));

    let o = tenzor(&["info", out.to_str().unwrap()]);
    assert!(o.status.success());
    let listing = text(&o.stdout);
    assert!(
        listing.contains("NAME")
            && listing.contains("lm_head.weight")
            && listing.contains("[64, 32]"),
        "{listing}"
    );

    let o = tenzor(&["info", "--json", out.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["header"]["tensor_count"], 21);
    assert_eq!(v["metadata"]["format"], "pt");
    assert_eq!(v["tensors"][0]["name"], "model.embed_tokens.weight");

    let o = tenzor(&["verify", out.to_str().unwrap()]);
    assert!(o.status.success() && text(&o.stdout).contains("OK, 21 tensors"));

    let o = tenzor(&[
        "get",
        out.to_str().unwrap(),
        "model.norm.weight",
        "--count",
        "2",
    ]);
    assert!(o.status.success());
    assert!(
        text(&o.stdout).starts_with("model.norm.weight F32 [32]"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn errors_are_one_line_naming_file_and_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.tenzor");
    let sample = common::root().join("examples/sample.safetensors");
    assert!(tenzor(&[
        "convert",
        sample.to_str().unwrap(),
        "-o",
        out.to_str().unwrap()
    ])
    .status
    .success());

    // Corrupt one data byte of lm_head.weight: open succeeds, verify names it.
    let f = tenzor::TensorFile::open(&out).unwrap();
    let off = f.get("lm_head.weight").unwrap().file_offset() as usize;
    drop(f);
    let mut bytes = std::fs::read(&out).unwrap();
    bytes[off + 10] ^= 0xff;
    let bad = dir.path().join("bad.tenzor");
    std::fs::write(&bad, &bytes).unwrap();
    let o = tenzor(&["verify", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("bad.tenzor")
            && err.contains("tensor 'lm_head.weight'")
            && err.contains("checksum"),
        "{err}"
    );

    let missing = dir.path().join("nope.tenzor");
    let o = tenzor(&["info", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("nope.tenzor"));

    let o = tenzor(&["get", out.to_str().unwrap(), "absent"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("no tensor named 'absent'"));

    let o = tenzor(&[
        "convert",
        sample.to_str().unwrap(),
        "-o",
        dir.path().join("x.tenzor").to_str().unwrap(),
        "--align",
        "100",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("alignment 100"),
        "{}",
        text(&o.stderr)
    );
    assert!(!text(&o.stderr).contains("panicked"));
}

/// `info --backend` says what it used and why; `verify --backend` checks
/// through it; `bench` measures every backend (a smoke run on a tiny file).
#[test]
fn backend_options_and_bench() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.tenzor");
    let src = common::fixture("safetensors/model.safetensors");
    tenzor::convert(&src, &out, &Default::default(), &mut |_, _| {}).unwrap();
    let exe = env!("CARGO_BIN_EXE_tenzor");
    let o = std::process::Command::new(exe)
        .args(["info", "--backend", "read"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("backend read (read was requested)"));
    let o = std::process::Command::new(exe)
        .args(["verify", "--backend", "direct"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = std::process::Command::new(exe)
        .args(["info", "--backend", "nfs"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown backend 'nfs'"));
    let o = std::process::Command::new(exe)
        .args(["bench", "--runs", "1"])
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for row in [
        "cold sequential read (cat)",
        "warm direct read_tensors, 2 thread(s)",
        "cold mmap + prefetch, touch",
    ] {
        assert!(text.contains(row), "{row} missing:\n{text}");
    }
}

/// Listing needs only the index: `info` with the read backends prints the
/// same table as with mmap, and the listing it is built from
/// (`try_infos`) reads no tensor data.
#[test]
fn info_lists_from_the_index_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("big.tenzor");
    let mut w = tenzor::Writer::create(&out, Default::default()).unwrap();
    for i in 0..4u8 {
        let data = vec![i + 1; 3 << 20];
        w.add_tensor(&format!("t{i}"), tenzor::DType::U8, &[3, 1 << 20], &data)
            .unwrap();
    }
    w.finish().unwrap();
    let exe = env!("CARGO_BIN_EXE_tenzor");
    let listing = |backend: &str| {
        let o = std::process::Command::new(exe)
            .args(["info", "--json", "--backend", backend])
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v.as_object_mut().unwrap().remove("backend");
        v
    };
    let mapped = listing("mmap");
    assert_eq!(mapped["tensors"].as_array().unwrap().len(), 4);
    assert_eq!(mapped["tensors"][2]["bytes"], 3 << 20);
    for backend in ["read", "direct"] {
        assert_eq!(listing(backend), mapped, "{backend}");
    }
    // The kernel adds a reaped child's I/O counts to its parent's: a shell
    // that runs `info` sees the bytes it read (rchar counts every read).
    #[cfg(target_os = "linux")]
    for backend in ["read", "direct"] {
        let script =
            "a=$(grep ^rchar: /proc/$$/io); \"$0\" info --backend \"$2\" \"$1\" >/dev/null \
                      && b=$(grep ^rchar: /proc/$$/io) && echo \"${a#rchar: } ${b#rchar: }\"";
        let o = std::process::Command::new("sh")
            .args(["-c", script, exe])
            .arg(&out)
            .arg(backend)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        let counts: Vec<u64> = text(&o.stdout)
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        let read = counts[1] - counts[0];
        assert!(
            read > 0 && read < 1 << 20,
            "info --backend {backend} read {read} bytes"
        );
    }
    for backend in [tenzor::Backend::Read, tenzor::Backend::Direct] {
        let o = tenzor::OpenOptions {
            backend,
            ..Default::default()
        };
        let f = tenzor::TensorFile::open_with(&out, &o).unwrap();
        let before = f.io_stats();
        let infos: Vec<_> = f.try_infos().map(Result::unwrap).collect();
        assert_eq!(infos.len(), 4);
        assert_eq!(infos[3].shape, [3, 1 << 20]);
        assert_eq!(infos[3].size, 3 << 20);
        assert_eq!(
            f.io_stats(),
            before,
            "{backend:?}: listing read tensor data"
        );
        let t = f.get("t3").unwrap();
        assert_eq!(t.file_offset(), infos[3].file_offset);
        assert_ne!(f.io_stats(), before, "{backend:?}: a lookup reads");
    }
}
