//! Open + 1 lookup of the same .safetensors file through tenzor and through
//! the `safetensors` crate, interleaved round by round and timed in thread
//! CPU time (user + system: mmap, page faults, parsing), which a loaded
//! shared machine distorts far less than criterion's wall time. Prints the
//! medians and ratios for the README (`cargo bench --bench st_open_cpu`).

use std::hint::black_box;
use std::path::Path;

use tenzor::TensorFile;

fn cpu_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

fn name(i: usize) -> String {
    format!("model.layers.{i}.self_attn.q_proj.weight")
}

fn make(path: &Path, n: usize) {
    let data = [0u8; 64];
    let views: Vec<_> = (0..n)
        .map(|i| {
            let v = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![16], &data);
            (name(i), v.unwrap())
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let quick = std::env::args().any(|a| a == "--quick");
    println!("| open + 1 lookup of a .safetensors (median thread CPU time) | tenzor | `safetensors` crate | tenzor vs crate |");
    println!("|---|---|---|---|");
    for (n, rounds) in [(100usize, 2001usize), (10_000, 101)] {
        let rounds = if quick { 5 } else { rounds };
        let path = dir.path().join(format!("n{n}.safetensors"));
        make(&path, n);
        let target = name(n / 2);
        let (mut tz, mut st) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let t0 = cpu_ns();
            let f = TensorFile::open(&path).unwrap();
            black_box(f.get(&target).unwrap().data().as_ptr());
            drop(f);
            tz.push(cpu_ns() - t0);
            let t0 = cpu_ns();
            let file = std::fs::File::open(&path).unwrap();
            // SAFETY: nobody modifies the file while it is mapped.
            let map = unsafe { memmap2::Mmap::map(&file).unwrap() };
            let s = safetensors::SafeTensors::deserialize(&map).unwrap();
            black_box(s.tensor(&target).unwrap().data().as_ptr());
            drop(s);
            drop(map);
            st.push(cpu_ns() - t0);
        }
        let (t, s) = (median(tz) as f64, median(st) as f64);
        println!(
            "| {n} tensors | {:.1} µs | {:.1} µs | {:.2}x faster |",
            t / 1e3,
            s / 1e3,
            s / t
        );
    }
}
