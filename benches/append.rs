//! Appending a 1 MiB tensor to a 1 GiB file against rewriting the file
//! with that tensor added (what formats without append do), both durable
//! (fsync) and measured in one run. `scripts/bench_report.py` prints the
//! medians and the ratio quoted in the README.

use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use tenzor::{AppendOptions, Appender, DType, TensorFile, Writer, WriterOptions};

const MIB: usize = 1 << 20;

/// A 1 GiB .tenzor file: 64 tensors of 16 MiB of non-zero bytes.
fn make_gib(path: &Path) {
    let mut w = Writer::create(path, WriterOptions::default()).unwrap();
    let chunk: Vec<u8> = (0..16 * MIB).map(|i| (i % 251) as u8 + 1).collect();
    for i in 0..64 {
        w.add_tensor(
            &format!("layer.{i}.weight"),
            DType::U8,
            &[chunk.len() as u64],
            &chunk,
        )
        .unwrap();
    }
    w.finish().unwrap();
}

/// Rewrites `path` with every tensor it has plus `name`, renamed over it.
fn rewrite_with(path: &Path, name: &str, data: &[u8]) {
    let f = TensorFile::open(path).unwrap();
    let opts = WriterOptions {
        reserve_tensors: f.len() as u64 + 1,
        reserve_name_bytes: 64 * (f.len() as u64 + 1),
        ..Default::default()
    };
    let mut w = Writer::create(path, opts).unwrap();
    for t in f.iter() {
        w.add_tensor(t.name().unwrap(), t.dtype(), t.shape(), t.data())
            .unwrap();
    }
    w.add_tensor(name, DType::U8, &[data.len() as u64], data)
        .unwrap();
    w.finish().unwrap();
}

fn append_vs_rewrite(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (appended, rewritten) = (dir.path().join("a.tenzor"), dir.path().join("r.tenzor"));
    make_gib(&appended);
    std::fs::copy(&appended, &rewritten).unwrap();
    let data: Vec<u8> = (0..MIB).map(|i| (i % 253) as u8).collect();
    let mut g = c.benchmark_group("append_1MiB_to_1GiB");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_millis(100));
    let mut n = 0u64;
    g.bench_function("append", |b| {
        b.iter(|| {
            n += 1;
            let mut a = Appender::open(&appended, AppendOptions::default()).unwrap();
            a.add_tensor(&format!("new.{n}"), DType::U8, &[MIB as u64], &data)
                .unwrap();
            a.commit().unwrap();
        })
    });
    // Each rewrite adds one more 1 MiB tensor, as each append does.
    let mut m = 0u64;
    g.bench_function("rewrite", |b| {
        b.iter(|| {
            m += 1;
            rewrite_with(&rewritten, &format!("new.{m}"), &data);
        })
    });
    g.finish();
}

criterion_group!(benches, append_vs_rewrite);
criterion_main!(benches);
