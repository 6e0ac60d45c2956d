//! The simulated power-loss test: record the writes and barriers of real
//! appends, materialise the crash states a disk may leave (every write
//! before the last completed barrier kept; any subset of the writes since
//! lost; the kept ones possibly torn at 512-byte sector boundaries), and
//! check that each state opens as exactly the old or exactly the new
//! content, and (every 16th state) takes a further append.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::storage::{FileStorage, Storage};
use super::Appender;
use crate::test_rng::Rng;
use crate::{DType, TensorFile, Writer, WriterOptions};

#[derive(Debug, Clone)]
enum Op {
    Write(u64, Vec<u8>),
    SetLen(u64),
    Sync,
}

/// Passes everything to the file and logs it.
struct Recorder {
    inner: FileStorage,
    log: Arc<Mutex<Vec<Op>>>,
}

impl Storage for Recorder {
    fn file(&self) -> &File {
        self.inner.file()
    }
    fn write_at(&mut self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        self.log
            .lock()
            .unwrap()
            .push(Op::Write(offset, buf.to_vec()));
        self.inner.write_at(buf, offset)
    }
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.log.lock().unwrap().push(Op::SetLen(len));
        self.inner.set_len(len)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.log.lock().unwrap().push(Op::Sync);
        self.inner.sync()
    }
    fn wrote_through_map(&mut self, buf: &[u8], offset: u64) {
        self.log
            .lock()
            .unwrap()
            .push(Op::Write(offset, buf.to_vec()));
    }
}

/// Everything a reader can observe of a file's content.
type Content = (String, Vec<(String, DType, Vec<u64>, Vec<u8>)>);

fn content(bytes: &[u8]) -> crate::Result<Content> {
    let f = TensorFile::from_bytes(bytes)?;
    f.verify()?;
    let tensors = f
        .iter()
        .map(|t| {
            let name = t.name().unwrap_or_default().to_string();
            (name, t.dtype(), t.shape().to_vec(), t.data().to_vec())
        })
        .collect();
    Ok((f.metadata()?.to_string(), tensors))
}

const SECTOR: usize = 512;

fn apply(file: &mut Vec<u8>, op: &Op, keep_sectors: Option<usize>) {
    match op {
        Op::Write(off, data) => {
            let off = *off as usize;
            // A torn write keeps its first sectors (absolute boundaries).
            let keep = match keep_sectors {
                None => data.len(),
                Some(n) => ((off / SECTOR + n) * SECTOR)
                    .saturating_sub(off)
                    .min(data.len()),
            };
            if file.len() < off + keep {
                file.resize(off + keep, 0);
            }
            file[off..off + keep].copy_from_slice(&data[..keep]);
        }
        Op::SetLen(len) => file.resize(*len as usize, 0),
        Op::Sync => {}
    }
}

/// Runs `append` on a copy of `path` through a recorder, then checks every
/// crash state; returns how many states were checked.
fn check_crash_states(path: &Path, append: impl FnOnce(&mut Appender), rng: &mut Rng) -> usize {
    let old_bytes = std::fs::read(path).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let io = Recorder {
        inner: FileStorage(file),
        log: log.clone(),
    };
    let mut a = Appender::open_with(path, Box::new(io)).unwrap();
    append(&mut a);
    a.commit().unwrap();
    let new_bytes = std::fs::read(path).unwrap();
    let (old, new) = (content(&old_bytes).unwrap(), content(&new_bytes).unwrap());
    assert_ne!(old, new);
    let ops = log.lock().unwrap().clone();

    let epochs: Vec<&[Op]> = ops.split(|op| matches!(op, Op::Sync)).collect();
    let mut durable = old_bytes.clone();
    let mut checked = 0;
    for epoch in &epochs {
        let n = epoch.len();
        // Every subset when small, else 256 random ones.
        let subsets: Vec<u64> = if n <= 8 {
            (0..1u64 << n).collect()
        } else {
            (0..256).map(|_| rng.next()).collect()
        };
        for mask in subsets {
            let kept: Vec<&Op> = (0..n)
                .filter(|i| mask >> i & 1 == 1)
                .map(|i| &epoch[i])
                .collect();
            // Four tear points for the last kept write (sector boundaries).
            for _ in 0..4 {
                let mut state = durable.clone();
                for (k, op) in kept.iter().enumerate() {
                    let torn = match op {
                        Op::Write(_, d) if k + 1 == kept.len() && d.len() > 1 => {
                            Some((rng.next() as usize) % (d.len() / SECTOR + 2))
                        }
                        _ => None,
                    };
                    apply(&mut state, op, torn);
                }
                let got =
                    content(&state).unwrap_or_else(|e| panic!("crash state fails to open: {e}"));
                assert!(
                    got == old || got == new,
                    "crash state is neither old nor new"
                );
                if checked % 16 == 0 {
                    append_after_crash(&state, &got);
                }
                checked += 1;
            }
        }
        for op in *epoch {
            apply(&mut durable, op, None);
        }
    }
    assert_eq!(content(&durable).unwrap(), new);
    checked
}

/// A crashed file takes a further append: the leftovers are cut, and the
/// new content is what the file held plus the added tensor.
fn append_after_crash(state: &[u8], held: &Content) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("again.tenzor");
    std::fs::write(&path, state).unwrap();
    let mut a = Appender::open(&path, Default::default()).unwrap();
    a.add_tensor("after.crash", DType::U8, &[2], &[9, 9])
        .unwrap();
    a.commit().unwrap();
    let (meta, tensors) = content(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(meta, held.0);
    assert_eq!(&tensors[..tensors.len() - 1], &held.1[..]);
    assert_eq!(tensors.last().unwrap().0, "after.crash");
}

#[test]
fn every_crash_state_of_an_append_opens_as_old_or_new() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.tenzor");
    let mut w = Writer::create(&path, WriterOptions::default()).unwrap();
    w.set_metadata(r#"{"g": 0}"#).unwrap();
    w.add_tensor("a", DType::U8, &[1000], &[1; 1000]).unwrap();
    w.add_tensor("b", DType::F32, &[3], &[2; 12]).unwrap();
    w.finish().unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut states = 0;
    // Generation 1 (the first append flips the flag), then 2, 3, 4: both
    // slots get overwritten, replacements and metadata changes included.
    for g in 1..5u8 {
        states += check_crash_states(
            &path,
            |a| {
                a.add_tensor(&format!("new{g}"), DType::U8, &[3000], &[g; 3000])
                    .unwrap();
                a.add_tensor("a", DType::U8, &[2], &[g, g]).unwrap();
                a.reserve("r", DType::U8, &[700]).map(|r| r.fill(g)).ok();
                a.set_metadata(&format!(r#"{{"g": {g}}}"#)).unwrap();
            },
            &mut rng,
        );
    }
    println!("{states} crash states checked");
    assert!(states > 400, "{states} crash states checked");
}
