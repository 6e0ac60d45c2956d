//! Appends seen from other processes: an appending process killed
//! (SIGKILL) at 200 random points, the file reopened each time; and reader
//! processes holding views while appends commit, their bytes never changing.
//!
//! The children are this test binary itself, re-run with an environment
//! variable naming their role (the `child_*` tests do nothing otherwise).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tenzor::{AppendOptions, Appender, DType, TensorFile, Writer, WriterOptions};

/// The two parent tests spawn processes; they run one at a time because a
/// child forked while the other test holds an appender shares the locked
/// file description (flock semantics) until it execs, which would make the
/// other's next `Appender::open` fail as Busy.
static SPAWNING: std::sync::Mutex<()> = std::sync::Mutex::new(());

const APPENDER: &str = "TENZOR_TEST_APPENDER";
const READER: &str = "TENZOR_TEST_READER";

/// The bytes of tensor `t{g}`: generation-dependent length and content.
fn payload(g: u64) -> Vec<u8> {
    (0..(g * 977) % 9000 + 1)
        .map(|i| (i * 31 + g) as u8)
        .collect()
}

fn append_generation(path: &Path) -> u64 {
    let mut a = Appender::open(path, AppendOptions::default()).unwrap();
    let g = a.next_generation();
    a.add_tensor(
        &format!("t{g}"),
        DType::U8,
        &[payload(g).len() as u64],
        &payload(g),
    )
    .unwrap();
    a.add_tensor("counter", DType::U64, &[1], &g.to_le_bytes())
        .unwrap();
    a.set_metadata(&format!(r#"{{"g": {g}}}"#)).unwrap();
    a.commit().unwrap();
    g
}

/// Checks that `path` holds exactly some committed generation; returns it.
fn committed_generation(path: &Path) -> u64 {
    let f = TensorFile::open(path).unwrap_or_else(|e| panic!("reopen after a kill: {e}"));
    f.verify().unwrap();
    let g = f.metadata().unwrap()["g"].as_u64().unwrap();
    assert_eq!(f.len() as u64, g + 1, "counter + t1..t{g}");
    let counter = f.get("counter").unwrap();
    assert_eq!(counter.data(), &g.to_le_bytes());
    for k in 1..=g {
        assert_eq!(f.get(&format!("t{k}")).unwrap().data(), &payload(k)[..]);
    }
    assert_eq!(f.append_layout().unwrap().generation, g);
    g
}

fn initial(path: &Path) {
    let mut w = Writer::create(path, WriterOptions::default()).unwrap();
    w.set_metadata(r#"{"g": 0}"#).unwrap();
    w.add_tensor("counter", DType::U64, &[1], &0u64.to_le_bytes())
        .unwrap();
    w.finish().unwrap();
}

fn child(role: &str, path: &Path, test: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(role, path);
    c
}

#[test]
fn child_appender() {
    let Some(path) = std::env::var_os(APPENDER) else {
        return;
    };
    loop {
        append_generation(Path::new(&path));
    }
}

#[test]
fn appender_killed_at_random_points_leaves_old_or_new() {
    let _one = SPAWNING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.tenzor");
    initial(&path);
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut last = 0;
    for _ in 0..200 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut c = child(APPENDER, &path, "child_appender")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        // Process start-up takes a few ms; kills land across whole commits.
        std::thread::sleep(Duration::from_micros(2_000 + seed % 25_000));
        c.kill().unwrap();
        c.wait().unwrap();
        let g = committed_generation(&path);
        assert!(g >= last, "generation went back from {last} to {g}");
        last = g;
    }
    assert!(last > 0, "the children never committed");
    // And the file still takes appends.
    assert_eq!(append_generation(&path), last + 1);
    committed_generation(&path);
}

#[test]
fn child_reader() {
    let Some(path) = std::env::var_os(READER) else {
        return;
    };
    let f = TensorFile::open(&path).unwrap();
    let snapshot: Vec<Vec<u8>> = f.iter().map(|t| t.data().to_vec()).collect();
    println!("ready {}", f.len());
    std::io::stdout().flush().unwrap();
    // Re-read every view until the parent closes our stdin.
    let mut stdin = String::new();
    let stop = std::thread::spawn(move || std::io::stdin().read_line(&mut stdin));
    while !stop.is_finished() {
        for (t, snap) in f.iter().zip(&snapshot) {
            assert_eq!(t.data(), &snap[..], "a held view changed");
        }
    }
    println!("unchanged");
}

#[test]
fn readers_in_other_processes_keep_unchanged_views_across_commits() {
    let _one = SPAWNING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.tenzor");
    initial(&path);
    let mut readers: Vec<Child> = Vec::new();
    for g in 1..=12u64 {
        if g % 3 == 1 {
            let mut r = child(READER, &path, "child_reader")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            // The test harness prints its own lines first.
            let mut out = BufReader::new(r.stdout.as_mut().unwrap());
            let mut line = String::new();
            while !line.contains("ready") {
                line.clear();
                assert!(out.read_line(&mut line).unwrap() > 0, "reader died");
            }
            readers.push(r);
        }
        assert_eq!(append_generation(&path), g);
    }
    let t = Instant::now();
    for mut r in readers {
        drop(r.stdin.take());
        let out = r.wait_with_output().unwrap();
        assert!(out.status.success(), "a reader saw its bytes change");
        assert!(String::from_utf8_lossy(&out.stdout).contains("unchanged"));
    }
    assert!(t.elapsed() < Duration::from_secs(60));
    committed_generation(&path);
}

const FULL_DISK: &str = "TENZOR_TEST_FULL_DISK";

/// Limits the size of files this process may write to `bytes` (writes past
/// it fail with EFBIG, as on a full disk) instead of killing it.
fn limit_file_size(bytes: u64) {
    // SAFETY: plain system calls on this (child) process's own limits.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let lim = libc::rlimit {
            rlim_cur: bytes as libc::rlim_t,
            rlim_max: libc::RLIM_INFINITY,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
    }
}

#[test]
fn child_full_disk() {
    let Some(path) = std::env::var_os(FULL_DISK) else {
        return;
    };
    let path = Path::new(&path);
    let len = std::fs::metadata(path).unwrap().len();
    // 1: the disk fills while tensor data is written.
    limit_file_size(len + 64 * 1024);
    let mut a = Appender::open(path, AppendOptions::default()).unwrap();
    let e = a
        .add_tensor("big", DType::U8, &[1 << 20], &vec![1; 1 << 20])
        .unwrap_err();
    println!("add failed: {:?}: {e}", e.kind());
    drop(a);
    // 2: the data fits, the index region does not (fails inside commit).
    limit_file_size(u64::MAX >> 1);
    let mut a = Appender::open(path, AppendOptions::default()).unwrap();
    a.add_tensor("small", DType::U8, &[1000], &[2; 1000])
        .unwrap();
    limit_file_size(std::fs::metadata(path).unwrap().len());
    let e = a.commit().unwrap_err();
    println!("commit failed: {:?}: {e}", e.kind());
}

#[test]
fn a_full_disk_during_append_names_the_file_and_keeps_the_content() {
    let _one = SPAWNING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full.tenzor");
    initial(&path);
    assert_eq!(append_generation(&path), 1);
    let before = std::fs::read(&path).unwrap();
    let out = child(FULL_DISK, &path, "child_full_disk").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for what in ["add failed: Io", "commit failed: Io"] {
        let line = text.lines().find(|l| l.contains(what)).expect(what);
        assert!(line.contains("full.tenzor"), "names the file: {line}");
        assert!(line.contains("too large"), "says why: {line}");
    }
    assert_eq!(std::fs::read(&path).unwrap(), before, "content intact");
    committed_generation(&path);
}
