//! Model-based oracle of the mutable-file paths: the input is read as a
//! sequence of operations on one .tenzor file in a scratch directory
//! (append, reserve, replace, set_metadata, commit, abort, in-place edit,
//! flush, compact, reopen), mirrored on an in-memory model (tensors in
//! position order, metadata). After every commit, flush, compact and
//! reopen the file opens, verifies and holds exactly the model; a reader
//! opened at the previous check still sees what it saw (appends and
//! compaction never disturb open readers; in-place edits do, by design);
//! operations the library must refuse (bad names, wrong sizes, repeated
//! names, bad metadata) fail and change nothing; no temporary file stays.

use std::path::Path;

use serde_json::Value;
use tenzor::{
    AppendOptions, Appender, Backend, DType, Editor, OpenOptions, TensorFile, Validation,
    WriterOptions,
};

use super::common::{entries, scratch};

const NAMES: [&str; 6] = ["a", "b", "c", "layers.0.weight", "é", "x/y"];
const METADATA: [&str; 6] = [
    "{}",
    r#"{"k": 1}"#,
    r#"{"general.name": "m", "n": [1, 2.5, null]}"#,
    r#"{"split.no": 0, "split.count": 2}"#,
    "[1]",
    "not json",
];
const MAX_OPS: usize = 48;
const FILE: &str = "m.tenzor";

#[derive(Clone, Debug, PartialEq)]
struct T {
    name: String,
    dtype: DType,
    shape: Vec<u64>,
    data: Vec<u8>,
}

/// What the file holds (or will hold once the open appender commits).
#[derive(Clone, Debug)]
struct Model {
    exists: bool,
    tensors: Vec<T>,
    metadata: Value,
}

impl Model {
    fn empty() -> Model {
        Model {
            exists: false,
            tensors: Vec::new(),
            metadata: Value::Object(Default::default()),
        }
    }

    /// Adds `t`, or replaces the tensor of that name in its position.
    fn put(&mut self, t: T) {
        match self.tensors.iter_mut().find(|u| u.name == t.name) {
            Some(u) => *u = t,
            None => self.tensors.push(t),
        }
    }
}

/// The input, consumed byte by byte (zeros once it runs out).
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }

    fn below(&mut self, n: usize) -> usize {
        self.byte() as usize % n
    }
}

/// The handle open on the file, if any: one writer at a time.
enum Handle {
    None,
    App {
        app: Appender,
        pending: Model,
        added: Vec<String>,
    },
    Ed(Editor),
}

struct Run<'d> {
    dir: &'d Path,
    committed: Model,
    handle: Handle,
    create: WriterOptions,
    /// A reader opened at the last check, and what it held then.
    reader: Option<(TensorFile<'static>, Model)>,
}

/// The `mutable` target.
pub fn mutable(data: &[u8]) {
    let dir = scratch();
    let mut input = Input(data);
    let alignment = [64, 128, 4096][input.below(3)];
    let mut run = Run {
        dir: dir.path(),
        committed: Model::empty(),
        handle: Handle::None,
        create: WriterOptions {
            alignment,
            ..Default::default()
        },
        reader: None,
    };
    for _ in 0..MAX_OPS {
        if input.0.is_empty() {
            break;
        }
        run.step(&mut input);
    }
    run.close();
    run.check(true);
}

impl Run<'_> {
    fn path(&self) -> std::path::PathBuf {
        self.dir.join(FILE)
    }

    fn step(&mut self, input: &mut Input<'_>) {
        match input.below(11) {
            0 => self.add(input, false),
            1 => self.add(input, true),
            2 => self.add_bad(input),
            3 => self.set_metadata(input),
            4 => self.commit(),
            5 => self.abort(),
            6 => self.edit(input),
            7 => self.flush(),
            8 => self.compact(),
            9 => self.get(input),
            _ => {
                self.close();
                self.check(true);
            }
        }
    }

    /// An appender on the file (closing an editor first).
    fn appender(&mut self) -> (&mut Appender, &mut Model, &mut Vec<String>) {
        if !matches!(self.handle, Handle::App { .. }) {
            self.close();
            let app = Appender::open(
                self.path(),
                AppendOptions {
                    create: self.create,
                },
            )
            .unwrap_or_else(|e| panic!("open an appender: {e}"));
            let mut pending = self.committed.clone();
            pending.exists = true;
            self.handle = Handle::App {
                app,
                pending,
                added: Vec::new(),
            };
        }
        match &mut self.handle {
            Handle::App {
                app,
                pending,
                added,
            } => (app, pending, added),
            _ => unreachable!(),
        }
    }

    fn tensor(input: &mut Input<'_>) -> (T, bool) {
        let name = NAMES[input.below(NAMES.len())].to_string();
        let dtype = DType::ALL[input.below(DType::ALL.len())];
        let shape: Vec<u64> = (0..input.below(3)).map(|_| input.below(5) as u64).collect();
        let numel: u64 = shape.iter().product();
        let size = dtype.byte_size(numel);
        let seed = input.byte();
        let len = size.unwrap_or(numel) as usize;
        let data = (0..len)
            .map(|i| seed.wrapping_add((i as u8).wrapping_mul(37)))
            .collect();
        let t = T {
            name,
            dtype,
            shape,
            data,
        };
        (t, size.is_some())
    }

    /// `add_tensor` (or `reserve`, then filling the mapping).
    fn add(&mut self, input: &mut Input<'_>, reserve: bool) {
        let (t, valid) = Run::tensor(input);
        let (app, pending, added) = self.appender();
        let repeated = added.contains(&t.name);
        let r = if reserve {
            app.reserve(&t.name, t.dtype, &t.shape).map(|m| {
                assert_eq!(m.len(), t.data.len(), "reserved bytes");
                assert!(m.iter().all(|&b| b == 0), "a reservation starts zeroed");
                m.copy_from_slice(&t.data);
            })
        } else {
            app.add_tensor(&t.name, t.dtype, &t.shape, &t.data)
        };
        match r {
            Ok(()) => {
                assert!(valid && !repeated, "accepted {t:?} (repeated: {repeated})");
                added.push(t.name.clone());
                pending.put(t);
            }
            Err(e) => assert!(!valid || repeated, "refused {t:?}: {e}"),
        }
    }

    /// Tensors the library must refuse: they change nothing.
    fn add_bad(&mut self, input: &mut Input<'_>) {
        let (t, _) = Run::tensor(input);
        let (name, data) = match input.below(3) {
            0 => (String::new(), t.data.clone()),
            1 => (format!("{}\0x", t.name), t.data.clone()),
            _ => (t.name.clone(), [&t.data[..], &[0]].concat()),
        };
        let (app, _, _) = self.appender();
        let e = app
            .add_tensor(&name, t.dtype, &t.shape, &data)
            .expect_err("a bad tensor is refused");
        std::hint::black_box(e);
    }

    fn set_metadata(&mut self, input: &mut Input<'_>) {
        let json = METADATA[input.below(METADATA.len())];
        let (app, pending, _) = self.appender();
        let parsed = serde_json::from_str::<Value>(json)
            .ok()
            .filter(Value::is_object);
        match (app.set_metadata(json), parsed) {
            (Ok(()), Some(v)) => pending.metadata = v,
            (Err(_), None) => {}
            (r, v) => panic!("set_metadata({json:?}): {r:?}, expected {v:?}"),
        }
    }

    fn commit(&mut self) {
        if let Handle::App { app, pending, .. } = std::mem::replace(&mut self.handle, Handle::None)
        {
            app.commit().unwrap_or_else(|e| panic!("commit: {e}"));
            self.committed = pending;
            self.check(false);
        }
    }

    /// Drops the appender: nothing it added reaches the file.
    fn abort(&mut self) {
        if matches!(self.handle, Handle::App { .. }) {
            self.handle = Handle::None;
            self.check(true);
        }
    }

    /// Writes one byte of a tensor in place through an editor.
    fn edit(&mut self, input: &mut Input<'_>) {
        let name = NAMES[input.below(NAMES.len())];
        let (at, value) = (input.byte() as usize, input.byte());
        if !matches!(self.handle, Handle::Ed(_)) {
            self.close();
            match Editor::open(self.path()) {
                Ok(ed) => self.handle = Handle::Ed(ed),
                Err(e) => {
                    assert!(!self.committed.exists, "open an editor: {e}");
                    return;
                }
            }
        }
        let Handle::Ed(ed) = &mut self.handle else {
            unreachable!()
        };
        let model = self.committed.tensors.iter_mut().find(|t| t.name == name);
        match (ed.data_mut(name), model) {
            (Ok(bytes), Some(t)) => {
                assert_eq!(bytes, &t.data[..], "{name}: editor view");
                if !bytes.is_empty() {
                    let i = at % bytes.len();
                    bytes[i] = value;
                    t.data[i] = value;
                }
                // A mapped reader sees the write: it no longer holds its
                // snapshot.
                self.reader = None;
            }
            (Err(_), None) => {}
            (r, t) => panic!("data_mut({name}): {:?}, model {t:?}", r.err()),
        }
    }

    fn flush(&mut self) {
        if let Handle::Ed(ed) = &mut self.handle {
            ed.flush().unwrap_or_else(|e| panic!("flush: {e}"));
            self.check(false);
        }
    }

    fn compact(&mut self) {
        self.close();
        match tenzor::compact(self.path()) {
            Ok(stats) => {
                assert!(self.committed.exists, "compacted a missing file");
                assert_eq!(stats.tensors, self.committed.tensors.len());
                let layout = TensorFile::open(self.path())
                    .ok()
                    .and_then(|f| f.append_layout());
                assert!(
                    layout.is_some_and(|l| !l.appendable),
                    "canonical after compact"
                );
            }
            Err(e) => assert!(!self.committed.exists, "compact: {e}"),
        }
        self.check(true);
    }

    /// An appender's view of a tensor before commit: the pending model's.
    fn get(&mut self, input: &mut Input<'_>) {
        let name = NAMES[input.below(NAMES.len())];
        if let Handle::App { app, pending, .. } = &mut self.handle {
            let want = pending.tensors.iter().position(|t| t.name == name);
            let got = app.get(name).unwrap_or_else(|e| panic!("get({name}): {e}"));
            match (got, want) {
                (Some(t), Some(p)) => {
                    let w = &pending.tensors[p];
                    assert_eq!(
                        (t.dtype(), t.shape(), t.data()),
                        (w.dtype, &w.shape[..], &w.data[..])
                    );
                    assert_eq!(t.position(), p, "{name}: position before commit");
                }
                (None, None) => {}
                (t, p) => panic!(
                    "appender get({name}): {:?}, model position {p:?}",
                    t.map(|t| t.position())
                ),
            }
        }
    }

    /// Closes the open handle: an appender commits, an editor flushes.
    fn close(&mut self) {
        match std::mem::replace(&mut self.handle, Handle::None) {
            Handle::None => {}
            h @ Handle::App { .. } => {
                self.handle = h;
                self.commit();
            }
            Handle::Ed(ed) => {
                ed.close()
                    .unwrap_or_else(|e| panic!("close the editor: {e}"));
                self.check(false);
            }
        }
    }

    /// The file holds the committed model (by every backend and level when
    /// `deep`); the last reader still holds its snapshot.
    fn check(&mut self, deep: bool) {
        if let Some((f, m)) = &self.reader {
            same(f, m, "a reader opened before");
        }
        let path = self.path();
        if !self.committed.exists {
            assert!(!path.exists(), "a file appeared without a commit");
        }
        if matches!(self.handle, Handle::None) {
            let want: Vec<String> = self
                .committed
                .exists
                .then(|| FILE.to_string())
                .into_iter()
                .collect();
            assert_eq!(entries(self.dir), want, "no temporary file stays");
        }
        if !self.committed.exists {
            return;
        }
        let f = TensorFile::open(&path).unwrap_or_else(|e| panic!("reopen: {e}"));
        f.verify().unwrap_or_else(|e| panic!("verify: {e}"));
        same(&f, &self.committed, "reopened");
        if deep {
            for backend in [Backend::Mmap, Backend::Read] {
                for validation in [Validation::Full, Validation::Lazy] {
                    let opts = OpenOptions {
                        backend,
                        validation,
                        ..Default::default()
                    };
                    let g = TensorFile::open_with(&path, &opts).expect("open_with");
                    same(&g, &self.committed, &format!("{backend:?} {validation:?}"));
                }
            }
        }
        self.reader = Some((f, self.committed.clone()));
    }
}

/// `f` holds exactly `m`.
fn same(f: &TensorFile<'_>, m: &Model, what: &str) {
    assert_eq!(f.len(), m.tensors.len(), "{what}: tensor count");
    for (p, t) in m.tensors.iter().enumerate() {
        let u = f
            .get_at(p)
            .unwrap_or_else(|| panic!("{what}: position {p}"));
        assert_eq!(u.name(), Some(t.name.as_str()), "{what}: name at {p}");
        assert_eq!(
            (u.dtype(), u.shape()),
            (t.dtype, &t.shape[..]),
            "{what}: {}",
            t.name
        );
        assert_eq!(u.data(), &t.data[..], "{what}: bytes of {}", t.name);
        let by_name = f.get(&t.name).map(|u| u.position());
        assert_eq!(by_name, Some(p), "{what}: {} found by name", t.name);
    }
    assert_eq!(
        f.metadata().expect("metadata"),
        m.metadata,
        "{what}: metadata"
    );
}
