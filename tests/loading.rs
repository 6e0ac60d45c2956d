//! The loading layer: every backend and validation level gives the same
//! bytes for every format; lazy validation never yields a bad view; reads
//! into caller memory, batches, hints; truncation under the read backends;
//! O_DIRECT with unaligned tails and buffers.

mod common;

use std::path::{Path, PathBuf};

use tenzor::{
    Backend, BatchOptions, DType, ErrorKind, OpenOptions, ReadRequest, TensorFile, Validation,
    Writer, WriterOptions,
};

const BACKENDS: [Backend; 3] = [Backend::Mmap, Backend::Read, Backend::Direct];
const LEVELS: [Validation; 2] = [Validation::Full, Validation::Lazy];

fn opts(backend: Backend, validation: Validation) -> OpenOptions {
    OpenOptions {
        backend,
        validation,
        ..Default::default()
    }
}

/// A native file with tensors of awkward sizes (tails that are not whole
/// pages), 4096-aligned so O_DIRECT can apply.
fn native(dir: &Path, alignment: u64) -> PathBuf {
    let p = dir.join(format!("native{alignment}.tenzor"));
    let mut w = Writer::create(
        &p,
        WriterOptions {
            alignment,
            ..Default::default()
        },
    )
    .unwrap();
    w.set_metadata(r#"{"k": 1}"#).unwrap();
    for (i, n) in [1usize, 4095, 4096, 4097, 3 * 4096 + 5, 70_001]
        .iter()
        .enumerate()
    {
        let data: Vec<u8> = (0..*n).map(|j| (j * 31 + i * 7) as u8).collect();
        w.add_tensor(&format!("t{i}"), DType::U8, &[*n as u64], &data)
            .unwrap();
    }
    w.add_tensor("empty", DType::F32, &[0, 3], &[]).unwrap();
    w.finish().unwrap();
    p
}

/// Every kind of file the reader opens.
fn all_files(dir: &Path) -> Vec<PathBuf> {
    let fx = common::root().join("tests").join("fixtures");
    let legacy = dir.join("legacy.tenzor");
    std::fs::write(&legacy, common::legacy_sample()).unwrap();
    // An appendable file after one append: its index is a later generation
    // found through the root slots after the data.
    let appended = native(dir, 4096);
    let appended2 = dir.join("appended.tenzor");
    std::fs::copy(&appended, &appended2).unwrap();
    let mut a = tenzor::Appender::open(&appended2, Default::default()).unwrap();
    a.add_tensor("late", DType::U8, &[5000], &[7u8; 5000])
        .unwrap();
    a.add_tensor("t1", DType::U8, &[3], &[1, 2, 3]).unwrap();
    a.commit().unwrap();
    vec![
        appended2,
        native(dir, 64),
        native(dir, 4096),
        legacy,
        fx.join("safetensors/model.safetensors"),
        fx.join("safetensors/all_dtypes.safetensors"),
        fx.join("gguf/small.gguf"),
        fx.join("gguf/aligned64.gguf"),
        fx.join("gguf/split-00001-of-00002.gguf"),
        fx.join("sharded/model.safetensors.index.json"),
    ]
}

/// (name, bytes) of every tensor, in position order.
fn contents(f: &TensorFile<'_>) -> Vec<(String, Vec<u8>)> {
    f.try_iter()
        .map(|t| {
            let t = t.unwrap();
            (t.display_name(), t.data().to_vec())
        })
        .collect()
}

#[test]
fn every_backend_and_level_reads_identical_bytes_for_every_format() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    for path in all_files(dir.path()) {
        let reference = contents(&TensorFile::open(&path).unwrap());
        assert!(!reference.is_empty(), "{}", path.display());
        for backend in BACKENDS {
            for level in LEVELS {
                let what = format!("{} {backend:?} {level:?}", path.display());
                let f = TensorFile::open_with(&path, &opts(backend, level)).unwrap();
                assert_eq!(f.backend().unwrap().backend, backend, "{what}");
                assert_eq!(contents(&f), reference, "{what}: views");
                let by_name: Vec<_> = reference
                    .iter()
                    .map(|(n, _)| (n.clone(), read_one(&f, n)))
                    .collect();
                assert_eq!(by_name, reference, "{what}: read_tensor");
                assert_eq!(
                    read_batch(&f, &reference),
                    reference,
                    "{what}: read_tensors"
                );
                f.verify().unwrap();
            }
        }
    }
}

/// Legacy v1 files have no names: look them up by hash text.
fn read_one(f: &TensorFile<'_>, name: &str) -> Vec<u8> {
    let Some(t) = f.get(name).or_else(|| {
        let h = u64::from_str_radix(name.trim_start_matches("0x"), 16).ok()?;
        f.get_by_hash(h)
    }) else {
        panic!("{name} not found");
    };
    let mut v = vec![0xAA; t.data().len() + 3];
    if let Some(n) = t.name() {
        assert_eq!(f.read_tensor(n, &mut v).unwrap(), t.data().len());
    } else {
        v[..t.data().len()].copy_from_slice(t.data());
    }
    v.truncate(t.data().len());
    v
}

fn read_batch(f: &TensorFile<'_>, reference: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    if f.get_at(0).is_some_and(|t| t.name().is_none()) {
        return reference.to_vec(); // legacy: no names to ask for
    }
    let mut bufs: Vec<Vec<u8>> = reference.iter().map(|(_, d)| vec![0u8; d.len()]).collect();
    let mut reqs: Vec<(&str, &mut [u8])> = reference
        .iter()
        .zip(bufs.iter_mut())
        .map(|((n, _), b)| (n.as_str(), b.as_mut_slice()))
        .collect();
    let o = BatchOptions {
        threads: 2,
        chunk_size: 4096,
        coalesce: true,
    };
    f.read_tensors(&mut reqs, &o).unwrap();
    reference.iter().map(|(n, _)| n.clone()).zip(bufs).collect()
}

#[test]
fn byte_ranges_and_small_destinations() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let p = native(dir.path(), 64);
    let whole = std::fs::read(&p).unwrap();
    for backend in BACKENDS {
        let f = TensorFile::open_with(&p, &opts(backend, Validation::Full)).unwrap();
        // Adjacent and scattered ranges, some crossing page boundaries.
        let spans = [
            (0u64, 100usize),
            (100, 5000),
            (5100, 1),
            (9000, 12_000),
            (40_000, 0),
        ];
        let mut bufs: Vec<Vec<u8>> = spans.iter().map(|&(_, n)| vec![0; n]).collect();
        let mut reqs: Vec<ReadRequest<'_>> = spans
            .iter()
            .zip(bufs.iter_mut())
            .map(|(&(offset, _), dst)| ReadRequest { offset, dst })
            .collect();
        let o = BatchOptions {
            threads: 3,
            chunk_size: 4096,
            coalesce: true,
        };
        f.read_ranges(&mut reqs, &o).unwrap();
        for (&(off, n), b) in spans.iter().zip(&bufs) {
            assert_eq!(
                &whole[off as usize..off as usize + n],
                &b[..],
                "{backend:?} [{off}, +{n})"
            );
        }
        let mut past = [0u8; 2];
        let mut reqs = [ReadRequest {
            offset: whole.len() as u64 - 1,
            dst: &mut past,
        }];
        let e = f.read_ranges(&mut reqs, &o).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OutOfRange, "{e}");
        let mut small = [0u8; 4095];
        let e = f.read_tensor("t2", &mut small).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(
            e.to_string()
                .contains("tensor 't2': destination holds 4095 bytes but the tensor has 4096"),
            "{e}"
        );
        assert_eq!(
            f.read_tensor("nope", &mut small).unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
}

#[test]
fn the_read_backends_survive_a_file_truncated_while_open() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    for backend in [Backend::Read, Backend::Direct] {
        let p = native(dir.path(), 4096);
        let f = TensorFile::open_with(&p, &opts(backend, Validation::Full)).unwrap();
        let first = f.get("t0").unwrap().data().to_vec();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(8192)
            .unwrap();
        let e = f.try_get("t5").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io, "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains(&p.display().to_string()) && msg.contains("tensor 't5'"),
            "{msg}"
        );
        assert!(msg.contains("truncated while open"), "{msg}");
        let mut buf = vec![0u8; 70_001];
        assert_eq!(
            f.read_tensor("t5", &mut buf).unwrap_err().kind(),
            ErrorKind::Io
        );
        // What was read before stays readable and unchanged.
        assert_eq!(f.get("t0").unwrap().data(), &first[..]);
        assert!(f.verify().is_err());
    }
}

/// A 4096-aligned buffer of `n` bytes (plus `skew`), for O_DIRECT.
struct Aligned {
    ptr: *mut u8,
    layout: std::alloc::Layout,
}

impl Aligned {
    fn new(n: usize) -> Aligned {
        let layout = std::alloc::Layout::from_size_align(n.max(1) + 4096, 4096).unwrap();
        // SAFETY: non-zero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        assert!(!ptr.is_null());
        Aligned { ptr, layout }
    }

    fn slice(&mut self, skew: usize, n: usize) -> &mut [u8] {
        // SAFETY: skew + n <= n + 4096 bytes allocated, skew < 4096.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(skew), n) }
    }
}

impl Drop for Aligned {
    fn drop(&mut self) {
        // SAFETY: allocated with this layout.
        unsafe { std::alloc::dealloc(self.ptr, self.layout) };
    }
}

fn direct_reads_on(dir: &Path) -> tenzor::IoStats {
    let p = native(dir, 4096);
    let whole = std::fs::read(&p).unwrap();
    let f = TensorFile::open_with(&p, &opts(Backend::Direct, Validation::Full)).unwrap();
    let mapped = TensorFile::open(&p).unwrap();
    for name in ["t0", "t1", "t2", "t3", "t4", "t5"] {
        let m = mapped.get(name).unwrap();
        let t = (m.file_offset(), m.data().len());
        let expect = &whole[t.0 as usize..][..t.1];
        for skew in [0usize, 1, 512] {
            let mut buf = Aligned::new(t.1);
            let dst = buf.slice(skew, t.1);
            assert_eq!(f.read_tensor(name, dst).unwrap(), t.1);
            assert_eq!(&dst[..], expect, "{name} skew {skew}");
        }
    }
    let stats = f.io_stats();
    println!("O_DIRECT on {}: {stats:?}", dir.display());
    stats
}

#[test]
fn direct_reads_use_o_direct_where_aligned_and_fall_back_elsewhere() {
    // /work (the target dir) is ext4: O_DIRECT must really be used there.
    let disk = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let s = direct_reads_on(disk.path());
    if s.direct_available {
        assert!(
            s.direct_bytes > 0,
            "aligned reads did not use O_DIRECT: {s:?}"
        );
    } else {
        println!("this filesystem refuses O_DIRECT: every read fell back to buffered");
    }
    // Unaligned buffers and tails always take the buffered path.
    assert!(s.buffered_bytes > 0);
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        let d = tempfile::tempdir_in(shm).unwrap();
        let s = direct_reads_on(d.path());
        let fell_back = !s.direct_available || s.direct_fallbacks > 0;
        println!(
            "tmpfs: O_DIRECT {}",
            if fell_back {
                "fell back to buffered reads"
            } else {
                "was accepted"
            }
        );
    }
}

/// Where opening with O_DIRECT is refused (ramfs has no direct I/O; some
/// FUSE and network filesystems neither), the direct backend reads every
/// byte buffered, identically, and its stats say so. The test mounts a
/// ramfs in a private mount namespace (`unshare -m`, nothing leaks to the
/// host) and runs itself there; without the right to mount (not root) it
/// says it could not run.
#[test]
fn direct_backend_falls_back_where_o_direct_is_refused() {
    const NAME: &str = "direct_backend_falls_back_where_o_direct_is_refused";
    if let Ok(dir) = std::env::var("TENZOR_TEST_RAMFS") {
        let s = direct_reads_on(Path::new(&dir));
        assert!(!s.direct_available, "ramfs accepted O_DIRECT: {s:?}");
        assert_eq!(s.direct_bytes, 0, "{s:?}");
        assert!(s.buffered_bytes > 0, "{s:?}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mount = format!("mount -t ramfs none '{}'", dir.path().display());
    let probe = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", &mount])
        .output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        println!("not run: cannot mount a ramfs in a private namespace ({probe:?})");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let run = format!(
        "{mount} && exec '{}' --exact {NAME} --nocapture",
        exe.display()
    );
    let out = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", &run])
        .env("TENZOR_TEST_RAMFS", dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("1 passed"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
}

#[test]
fn hints_keep_views_valid() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let p = native(dir.path(), 4096);
    for backend in BACKENDS {
        let o = OpenOptions {
            backend,
            prefetch: true,
            access: tenzor::Access::Sequential,
            ..Default::default()
        };
        let f = TensorFile::open_with(&p, &o).unwrap();
        let t = f.get("t5").unwrap();
        let copy = t.data().to_vec();
        f.prefetch(None).unwrap();
        f.prefetch(Some("t4")).unwrap();
        f.release(Some("t5")).unwrap();
        f.release(None).unwrap();
        assert_eq!(
            t.data(),
            &copy[..],
            "{backend:?}: view changed after release"
        );
        match f.lock(Some("t5")) {
            Ok(()) => f.unlock(Some("t5")).unwrap(),
            Err(e) => assert!(e.to_string().contains("RLIMIT_MEMLOCK"), "{e}"),
        }
        assert_eq!(
            f.prefetch(Some("nope")).unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
    let e = TensorFile::open_with(&p, &OpenOptions::default()).unwrap();
    let choice = e.backend().unwrap();
    assert_eq!(choice.backend, Backend::Mmap, "{choice:?}");
    assert!(choice.reason.contains("local"), "{choice:?}");
}

/// Every corpus file opened lazily, with every backend: it fails at open,
/// or at the lookup of a bad entry, or in verify; a view it returns always
/// lies inside the file and holds the file's bytes.
#[test]
fn the_malformed_corpus_opened_lazily_never_yields_a_bad_view() {
    let corpus = common::root().join("tests").join("corpus");
    let mut cases = 0;
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let path = entry.unwrap().path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ["py", "md"].contains(&ext) || path.file_name().unwrap() == "expected.json" {
            continue;
        }
        let whole = std::fs::read(&path).unwrap();
        for backend in BACKENDS {
            let Ok(f) = TensorFile::open_with(&path, &opts(backend, Validation::Lazy)) else {
                continue;
            };
            let mut failed = false;
            for r in f.try_iter() {
                match r {
                    Err(_) => failed = true,
                    Ok(t) if f.shards().is_empty() => {
                        let start = t.file_offset() as usize;
                        let end = start + t.data().len();
                        assert!(end <= whole.len(), "{}: view past the end", path.display());
                        assert_eq!(t.data(), &whole[start..end], "{}", path.display());
                    }
                    Ok(_) => {}
                }
            }
            if !failed {
                assert!(
                    f.verify().is_err(),
                    "{} ({backend:?}): the corruption went unnoticed",
                    path.display()
                );
            }
            cases += 1;
        }
    }
    assert!(cases > 0);
}

/// A .tenzor header whose data offset is 0 (or any value below the first
/// page) is refused by the read backends, which read the header in growing
/// steps from that offset: found by the `lazy` fuzz target, the step stayed
/// 0 and the open never returned.
#[test]
fn the_read_backends_refuse_a_header_claiming_data_at_offset_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(native(dir.path(), 64)).unwrap();
    bytes[tenzor::format::hdr::DATA_OFFSET..][..8].copy_from_slice(&0u64.to_le_bytes());
    let p = dir.path().join("offset0.tenzor");
    std::fs::write(&p, &bytes).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for backend in BACKENDS {
            for level in LEVELS {
                let e = TensorFile::open_with(&p, &opts(backend, level)).unwrap_err();
                tx.send((backend, e.kind())).unwrap();
            }
        }
    });
    for _ in 0..BACKENDS.len() * LEVELS.len() {
        let (backend, kind) = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("open_with returns (it looped forever before the fix)");
        assert_eq!(kind, ErrorKind::BadFormat, "{backend:?}");
    }
}

/// An order-table slot that names the entry of another position (here slot
/// 0 names the entry at position 1): full validation refuses the file at
/// open; lazy validation fails `get_at(0)` instead of answering with the
/// tensor at position 1 (found by the `lazy` fuzz target), and `verify`
/// refuses the file.
#[test]
fn lazy_get_at_refuses_an_order_slot_naming_another_position() {
    use tenzor::format::{self, hdr};
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(native(dir.path(), 64)).unwrap();
    let count = format::u64_at(&bytes, hdr::TENSOR_COUNT) as usize;
    let order = format::u64_at(&bytes, hdr::INDEX_OFFSET) as usize + count * format::ENTRY_SIZE;
    let slot1 = bytes[order + 4..order + 8].to_vec();
    bytes[order..order + 4].copy_from_slice(&slot1);
    let data_offset = format::u64_at(&bytes, hdr::DATA_OFFSET) as usize;
    let sum = format::header_region_checksum(&bytes[..data_offset]);
    bytes[hdr::CHECKSUM..hdr::CHECKSUM + 8].copy_from_slice(&sum.to_le_bytes());

    let e = TensorFile::from_bytes(&bytes).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadFormat, "{e}");
    let f = TensorFile::from_bytes_with(&bytes, Validation::Lazy).unwrap();
    let e = f.try_get_at(0).unwrap_err();
    assert!(e.message().contains("whose position is 1"), "{e}");
    assert_eq!(f.try_get_at(1).unwrap().position(), 1);
    assert!(f.verify().is_err());
}

/// `verify` hashes tensors on several threads, streaming them: the first
/// corrupted tensor in position order is the one named, every time, with
/// every backend and level; the read backends read through a small buffer
/// and leave the handle's own memory unfilled.
#[test]
fn verify_names_the_first_bad_tensor_and_streams_the_read_backends() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let p = dir.path().join("many.tenzor");
    let mut w = Writer::create(&p, WriterOptions::default()).unwrap();
    // Over 16 MiB in all (the parallel path), tails that are not whole pages.
    for i in 0..24u32 {
        let data: Vec<u8> = (0..(1 << 20) + 3).map(|j: u32| (j ^ i) as u8 | 1).collect();
        w.add_tensor(&format!("t{i:02}"), DType::U8, &[data.len() as u64], &data)
            .unwrap();
    }
    w.finish().unwrap();
    let t05 = {
        let f = TensorFile::open(&p).unwrap();
        let t = f.get("t05").unwrap();
        t.file_offset() as usize..t.file_offset() as usize + t.data().len()
    };
    for backend in BACKENDS {
        let f = TensorFile::open_with(&p, &opts(backend, Validation::Full)).unwrap();
        f.verify().unwrap();
        assert_eq!(f.data_bytes(), 24 * ((1 << 20) + 3));
        if backend != Backend::Mmap {
            assert!(
                f.as_bytes()[t05.clone()].iter().all(|&b| b == 0),
                "{backend:?}: verify read tensor data into the handle"
            );
        }
    }
    let offsets: Vec<u64> = {
        let f = TensorFile::open(&p).unwrap();
        ["t17", "t09", "t21"]
            .iter()
            .map(|n| f.get(n).unwrap().file_offset())
            .collect()
    };
    let mut bytes = std::fs::read(&p).unwrap();
    for o in offsets {
        bytes[o as usize + 4097] ^= 0x40;
    }
    std::fs::write(&p, &bytes).unwrap();
    for backend in BACKENDS {
        for level in LEVELS {
            let f = TensorFile::open_with(&p, &opts(backend, level)).unwrap();
            for _ in 0..4 {
                let e = f.verify().unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Checksum, "{e}");
                assert!(e.to_string().contains("tensor 't09'"), "{backend:?}: {e}");
            }
        }
    }
}

/// Threads of this process named like the prefetch threads.
#[cfg(target_os = "linux")]
fn prefetch_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|c| c.trim() == "tenzor-prefetch")
        .count()
}

/// Prefetch of a mapped file runs on background threads: the handle can be
/// closed at once, from any thread, and no prefetch thread outlives it
/// (each is cancelled and joined before the unmap); bytes read while they
/// run are the file's.
#[cfg(target_os = "linux")]
#[test]
fn asynchronous_prefetch_threads_end_with_their_handle() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let p = dir.path().join("prefetch.tenzor");
    let mut w = Writer::create(&p, WriterOptions::default()).unwrap();
    let tensors: Vec<Vec<u8>> = (0..10u8)
        .map(|i| (0..(4 << 20) + 1).map(|j: u32| j as u8 ^ i).collect())
        .collect();
    for (i, t) in tensors.iter().enumerate() {
        w.add_tensor(&format!("t{i}"), DType::U8, &[t.len() as u64], t)
            .unwrap();
    }
    w.finish().unwrap();
    let o = OpenOptions {
        backend: Backend::Mmap,
        prefetch: true,
        ..Default::default()
    };
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for round in 0..10 {
                    let f = TensorFile::open_with(&p, &o).unwrap();
                    f.prefetch(None).unwrap();
                    f.prefetch(Some("t3")).unwrap();
                    if round % 2 == 0 {
                        for (i, t) in tensors.iter().enumerate() {
                            let name = format!("t{i}");
                            assert_eq!(f.get(&name).unwrap().data(), &t[..]);
                        }
                    }
                }
            });
        }
    });
    assert_eq!(
        prefetch_threads(),
        0,
        "a prefetch thread outlived its handle"
    );
}
