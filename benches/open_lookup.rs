//! Open + lookup against the `safetensors` crate (tenzor on a .tenzor file
//! and on the very .safetensors file the crate reads), and convert throughput
//! against a plain file copy. `scripts/bench_report.py` turns the medians
//! into the ratios quoted in the README.

use std::hint::black_box;
use std::time::Duration;

mod common;

use common::{make_pair, name};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use tenzor::{ConvertOptions, TensorFile};

fn open_and_lookup(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let mut g = c.benchmark_group("open_lookup");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    for n in [100usize, 10_000, 100_000] {
        let (st, tz) = make_pair(dir.path(), n);
        let target = name(n / 2);
        g.bench_with_input(BenchmarkId::new("tenzor", n), &n, |b, _| {
            b.iter(|| {
                let f = TensorFile::open(&tz).unwrap();
                black_box(f.get(&target).unwrap().data().as_ptr());
            })
        });
        // The same .safetensors file through tenzor (its own header scan).
        g.bench_with_input(BenchmarkId::new("tenzor_safetensors", n), &n, |b, _| {
            b.iter(|| {
                let f = TensorFile::open(&st).unwrap();
                black_box(f.get(&target).unwrap().data().as_ptr());
            })
        });
        g.bench_with_input(BenchmarkId::new("safetensors", n), &n, |b, _| {
            b.iter(|| {
                let file = std::fs::File::open(&st).unwrap();
                let map = unsafe { memmap2::Mmap::map(&file).unwrap() };
                let s = safetensors::SafeTensors::deserialize(&map).unwrap();
                black_box(s.tensor(&target).unwrap().data().as_ptr());
            })
        });
    }
    g.finish();
}

fn lookup(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let n = 10_000;
    let (st, tz) = make_pair(dir.path(), n);
    let names: Vec<String> = (0..n).step_by(97).map(name).collect();
    let f = TensorFile::open(&tz).unwrap();
    let file = std::fs::File::open(&st).unwrap();
    let map = unsafe { memmap2::Mmap::map(&file).unwrap() };
    let s = safetensors::SafeTensors::deserialize(&map).unwrap();
    let mut g = c.benchmark_group("lookup_10000");
    g.sample_size(30)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    g.bench_function("tenzor", |b| {
        b.iter(|| {
            for nm in &names {
                black_box(f.get(nm).unwrap().data().as_ptr());
            }
        })
    });
    g.bench_function("safetensors", |b| {
        b.iter(|| {
            for nm in &names {
                black_box(s.tensor(nm).unwrap().data().as_ptr());
            }
        })
    });
    g.finish();
}

fn convert_throughput(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let src = dir.path().join("big.safetensors");
    let data = vec![1u8; 4 << 20];
    let views: Vec<_> = (0..16)
        .map(|i| {
            (
                name(i),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1 << 20], &data)
                    .unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, &src).unwrap();
    let mut g = c.benchmark_group("convert_64MiB");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_millis(500));
    g.throughput(criterion::Throughput::Bytes(64 << 20));
    let out = dir.path().join("out.tenzor");
    g.bench_function("tenzor_convert", |b| {
        b.iter(|| tenzor::convert(&src, &out, &ConvertOptions::default(), &mut |_, _| {}).unwrap())
    });
    let copy = dir.path().join("copy.bin");
    g.bench_function("file_copy_fsync", |b| {
        b.iter(|| {
            std::fs::copy(&src, &copy).unwrap();
            std::fs::File::open(&copy).unwrap().sync_all().unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, open_and_lookup, lookup, convert_throughput);
criterion_main!(benches);
