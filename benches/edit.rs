//! Editing one tensor in place against the peer's answer, a full rewrite:
//! change 1 MiB of a 256 MiB file durably. tenzor: `Editor` (open, write
//! through the mapping, flush: mark and fsync, msync, checksums, fsync,
//! clear and fsync). Peer: the `safetensors` crate, which has no in-place
//! edit: deserialize, serialize every tensor with the one replaced to a new
//! file, fsync, rename over the old. Run: `cargo bench --bench edit`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

const TENSORS: usize = 256;
const BYTES: usize = 1 << 20;

fn name(i: usize) -> String {
    format!("model.layers.{i}.mlp.weight")
}

fn edit_vs_rewrite(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let st = dir.path().join("m.safetensors");
    let tz = dir.path().join("m.tenzor");
    let data = vec![1u8; BYTES];
    let views: Vec<_> = (0..TENSORS)
        .map(|i| {
            let v = safetensors::tensor::TensorView::new(
                safetensors::Dtype::F32,
                vec![BYTES / 4],
                &data,
            )
            .unwrap();
            (name(i), v)
        })
        .collect();
    safetensors::serialize_to_file(views, None, &st).unwrap();
    tenzor::convert(&st, &tz, &Default::default(), &mut |_, _| {}).unwrap();
    let target = name(TENSORS / 2);
    let new = vec![2u8; BYTES];

    let mut g = c.benchmark_group("edit_1MiB_of_256MiB");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_millis(500));
    g.bench_function("tenzor_edit_in_place", |b| {
        b.iter(|| {
            let mut ed = tenzor::Editor::open(&tz).unwrap();
            ed.data_mut(&target).unwrap().copy_from_slice(&new);
            ed.close().unwrap();
        })
    });
    let tmp = dir.path().join("m.safetensors.tmp");
    g.bench_function("safetensors_rewrite", |b| {
        b.iter(|| {
            let file = std::fs::File::open(&st).unwrap();
            // SAFETY: nobody modifies the file while it is mapped here.
            let map = unsafe { memmap2::Mmap::map(&file).unwrap() };
            let s = safetensors::SafeTensors::deserialize(&map).unwrap();
            let views: Vec<_> = s
                .tensors()
                .into_iter()
                .map(|(n, v)| {
                    let bytes = if n == target { &new[..] } else { v.data() };
                    let v =
                        safetensors::tensor::TensorView::new(v.dtype(), v.shape().to_vec(), bytes)
                            .unwrap();
                    (n, v)
                })
                .collect();
            safetensors::serialize_to_file(views, None, &tmp).unwrap();
            std::fs::File::open(&tmp).unwrap().sync_all().unwrap();
            std::fs::rename(&tmp, &st).unwrap();
            black_box(&map);
        })
    });
    g.finish();
}

criterion_group!(benches, edit_vs_rewrite);
criterion_main!(benches);
