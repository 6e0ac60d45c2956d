//! The streaming writer: validation, atomic replacement, cleanup, and the
//! promise that open never touches tensor data.

mod common;

use tenzor::{DType, ErrorKind, TensorFile, Writer, WriterOptions};

#[test]
fn rejects_bad_tensors_with_specific_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("w.tenzor");
    let mut w = Writer::create(&p, WriterOptions::default()).unwrap();
    w.add_tensor("a", DType::F32, &[2], &[0u8; 8]).unwrap();
    let check = |r: tenzor::Result<()>, kind: ErrorKind, needle: &str| {
        let e = r.unwrap_err();
        assert_eq!(e.kind(), kind, "{e}");
        assert!(
            e.to_string().contains(needle),
            "expected '{needle}' in: {e}"
        );
        assert!(e.to_string().contains("w.tenzor"), "names the file: {e}");
    };
    check(
        w.add_tensor("a", DType::F32, &[2], &[0u8; 8]),
        ErrorKind::DuplicateName,
        "tensor 'a'",
    );
    check(
        w.add_tensor("", DType::F32, &[2], &[0u8; 8]),
        ErrorKind::InvalidArgument,
        "empty",
    );
    check(
        w.add_tensor("x\0y", DType::F32, &[2], &[0u8; 8]),
        ErrorKind::InvalidArgument,
        "NUL",
    );
    check(
        w.add_tensor("b", DType::F32, &[3], &[0u8; 8]),
        ErrorKind::InvalidArgument,
        "needs 12",
    );
    check(
        w.add_tensor("b", DType::F32, &[1; 9], &[0u8; 4]),
        ErrorKind::InvalidArgument,
        "rank 9",
    );
    check(
        w.add_tensor("b", DType::F64, &[u64::MAX, 2], &[]),
        ErrorKind::InvalidArgument,
        "overflows",
    );
    check(
        w.add_tensor("b", DType::F4, &[3], &[0u8; 2]),
        ErrorKind::InvalidArgument,
        "whole number of F4 blocks",
    );
    check(
        w.set_metadata("[1]"),
        ErrorKind::InvalidArgument,
        "JSON object",
    );
    check(
        w.set_metadata("{"),
        ErrorKind::InvalidArgument,
        "not valid JSON",
    );
    // Failed adds left no trace: the file holds exactly one tensor.
    w.finish().unwrap();
    let f = TensorFile::open(&p).unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(common::dir_names(dir.path()), vec!["w.tenzor".to_string()]);

    for bad in [0, 32, 100, 1 << 17] {
        let e = Writer::create(
            dir.path().join("z.tenzor"),
            WriterOptions {
                alignment: bad,
                ..Default::default()
            },
        )
        .err()
        .unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.to_string().contains(&format!("alignment {bad}")), "{e}");
    }
}

#[test]
fn dropped_writer_leaves_destination_untouched_and_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("keep.tenzor");
    std::fs::write(&p, b"previous contents").unwrap();
    {
        let mut w = Writer::create(&p, WriterOptions::default()).unwrap();
        w.add_tensor("a", DType::U8, &[3], &[1, 2, 3]).unwrap();
        assert_eq!(
            common::dir_names(dir.path()).len(),
            2,
            "a temporary file exists while writing"
        );
    }
    assert_eq!(std::fs::read(&p).unwrap(), b"previous contents");
    assert_eq!(
        common::dir_names(dir.path()),
        vec!["keep.tenzor".to_string()]
    );
}

#[test]
fn finish_replaces_a_mapped_file_without_disturbing_its_readers() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.tenzor");
    let write = |v: u8| {
        let mut w = Writer::create(&p, WriterOptions::default()).unwrap();
        w.add_tensor("t", DType::U8, &[4], &[v; 4]).unwrap();
        w.finish().unwrap();
    };
    write(1);
    let old = TensorFile::open(&p).unwrap();
    write(2);
    let new = TensorFile::open(&p).unwrap();
    assert_eq!(
        old.get("t").unwrap().data(),
        &[1; 4],
        "old mapping still sees the old file"
    );
    assert_eq!(new.get("t").unwrap().data(), &[2; 4]);
}

#[test]
fn scalars_empty_tensors_sub_byte_types_and_many_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("many.tenzor");
    // 16 tensors are reserved by default: 300 force the relocation path.
    let mut w = Writer::create(
        &p,
        WriterOptions {
            alignment: 128,
            ..Default::default()
        },
    )
    .unwrap();
    w.add_tensor("scalar", DType::F64, &[], &2.5f64.to_le_bytes())
        .unwrap();
    w.add_tensor("empty", DType::F32, &[3, 0, 2], &[]).unwrap();
    w.add_tensor("f4", DType::F4, &[2, 2], &[0x12, 0x34])
        .unwrap();
    w.add_tensor("f6", DType::F6_E2M3, &[4], &[1, 2, 3])
        .unwrap();
    for i in 0..300u32 {
        w.add_tensor(&format!("layer.{i}.w"), DType::U32, &[1], &i.to_le_bytes())
            .unwrap();
    }
    w.set_metadata(r#"{"nested": {"a": [1, 2.5, "x", true, null]}, "n": 18446744073709551615}"#)
        .unwrap();
    w.finish().unwrap();
    let f = TensorFile::open(&p).unwrap();
    f.verify().unwrap();
    assert_eq!(f.len(), 304);
    assert_eq!(f.alignment(), 128);
    let s = f.get("scalar").unwrap();
    assert_eq!(s.shape(), &[] as &[u64]);
    assert_eq!(s.as_slice::<f64>().unwrap(), &[2.5]);
    let e = f.get("empty").unwrap();
    assert_eq!(
        (e.shape(), e.data().len(), e.numel()),
        (&[3u64, 0, 2][..], 0, 0)
    );
    assert_eq!(f.get("f6").unwrap().data(), &[1, 2, 3]);
    for i in (0..300u32).step_by(37) {
        let t = f.get(&format!("layer.{i}.w")).unwrap();
        assert_eq!(t.as_slice::<u32>().unwrap(), &[i]);
        assert_eq!(t.position(), i as usize + 4);
        assert_eq!(t.file_offset() % 128, 0);
    }
    let meta = f.metadata().unwrap();
    assert_eq!(
        meta["n"].as_u64(),
        Some(u64::MAX),
        "u64 metadata keeps full precision"
    );
    assert_eq!(meta["nested"]["a"][1], 2.5);
    assert_eq!(
        common::dir_names(dir.path()),
        vec!["many.tenzor".to_string()]
    );
}

fn rss_file_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("RssFile:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn open_does_not_touch_tensor_data() {
    // On disk (not tmpfs), so mapped pages count as RssFile.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let p = dir.path().join("big.tenzor");
    let big = vec![0u8; 256 << 20]; // calloc'd: zero pages, not resident
    let mut w = Writer::create(
        &p,
        WriterOptions {
            alignment: 4096,
            ..Default::default()
        },
    )
    .unwrap();
    for i in 0..4 {
        w.add_tensor(&format!("w{i}"), DType::U8, &[64 << 20], &big[..64 << 20])
            .unwrap();
    }
    w.finish().unwrap();
    drop(big);

    let before = rss_file_kib();
    let f = TensorFile::open(&p).unwrap();
    let t = f.get("w3").unwrap();
    let after_open = rss_file_kib();
    assert!(
        after_open - before < 1024,
        "open + lookup mapped {} KiB of a 256 MiB file",
        after_open - before
    );
    // Reading the data does fault the pages in: the measure can tell.
    // (Not through verify, which drops the pages it has hashed.)
    let sum = t
        .data()
        .iter()
        .step_by(4096)
        .fold(0u8, |a, &b| a.wrapping_add(b));
    std::hint::black_box(sum);
    let after_read = rss_file_kib();
    assert!(
        after_read - before > 32 * 1024,
        "reading 64 MiB raised RssFile by only {} KiB",
        after_read - before
    );
}
