//! Sharded checkpoints opened as one logical file: a Hugging Face style
//! index (`model.safetensors.index.json`, and the same layout naming .tenzor
//! shards) and GGUF splits.
//!
//! Shards are mapped at open, not lazily: mapping costs one mmap and an
//! O(index) validation per shard, never tensor data, and opening them all
//! up front means a missing or corrupt shard fails `open` instead of a later
//! lookup, and lookups stay lock-free for many threads.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::format;
use crate::io::OpenOptions;
use crate::reader::{Format, TensorFile};
use crate::tensor::Tensor;

/// Several files seen as one.
pub(crate) struct Sharded {
    pub shards: Vec<TensorFile<'static>>,
    pub metadata: String,
    /// First global position of each shard.
    starts: Vec<usize>,
    /// (shard, position in shard), sorted by (hash, name).
    sorted: Vec<(u32, u32)>,
}

impl Sharded {
    /// Indexes shards that are already open; refuses names held twice.
    pub fn new(shards: Vec<TensorFile<'static>>, metadata: String) -> Result<Sharded> {
        let mut starts = Vec::with_capacity(shards.len());
        let mut total = 0usize;
        let mut sorted = Vec::new();
        for (s, f) in shards.iter().enumerate() {
            if f.format() == Format::TenzorLegacy {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "legacy v1 files store no names and cannot be shards",
                ));
            }
            starts.push(total);
            total += f.len();
            sorted.extend((0..f.len()).map(|p| (s as u32, p as u32)));
        }
        let mut set = Sharded {
            shards,
            metadata,
            starts,
            sorted: Vec::new(),
        };
        // Every entry is described once here, so a bad one (lazy
        // validation) fails the open of the set, and `key` cannot fail later.
        for &at in &sorted {
            set.shards[at.0 as usize].describe_at(at.1 as usize)?;
        }
        sorted.sort_unstable_by(|a, b| set.key(*a).cmp(&set.key(*b)));
        for w in sorted.windows(2) {
            if set.key(w[0]) == set.key(w[1]) {
                let name = String::from_utf8_lossy(set.key(w[0]).1).into_owned();
                return Err(
                    Error::new(ErrorKind::DuplicateName, "tensor appears in two shards")
                        .for_tensor(&name),
                );
            }
        }
        set.sorted = sorted;
        Ok(set)
    }

    /// The tensor at `at`, its data read, its position made global.
    fn tensor_in(&self, (s, p): (u32, u32)) -> Result<Tensor<'_>> {
        let mut t = self.shards[s as usize].try_get_at(p as usize)?;
        t.position += self.starts[s as usize];
        Ok(t)
    }

    /// (hash, name) of the tensor at `at` (checked by `new`).
    fn key(&self, (s, p): (u32, u32)) -> (u64, &[u8]) {
        match self.shards[s as usize].describe_at(p as usize) {
            Ok(t) => (t.name_hash(), t.name().unwrap_or("").as_bytes()),
            Err(_) => (u64::MAX, &[]),
        }
    }

    /// The files of the set, in order.
    pub fn shards(&self) -> &[TensorFile<'static>] {
        &self.shards
    }

    /// The set's metadata as JSON object text.
    pub fn metadata(&self) -> &str {
        &self.metadata
    }

    pub fn len(&self) -> usize {
        self.starts
            .last()
            .map_or(0, |&s| s + self.shards.last().map_or(0, |f| f.len()))
    }

    fn find(&self, name: &str) -> Option<(u32, u32)> {
        let hash = format::fnv1a(name.as_bytes());
        let first = self.lower_bound(hash);
        self.sorted[first..]
            .iter()
            .take_while(|&&at| self.key(at).0 == hash)
            .find(|&&at| self.key(at).1 == name.as_bytes())
            .copied()
    }

    pub fn get(&self, name: &str) -> Option<Result<Tensor<'_>>> {
        self.find(name).map(|at| self.tensor_in(at))
    }

    /// The shard holding `name` and the tensor's view there (not read).
    pub fn owner_of(&self, name: &str) -> Option<Result<(&TensorFile<'static>, Tensor<'_>)>> {
        let (s, p) = self.find(name)?;
        let f = &self.shards[s as usize];
        Some(f.describe_at(p as usize).map(|t| (f, t)))
    }

    pub fn describe(&self, name: &str) -> Option<Result<Tensor<'_>>> {
        self.find(name)
            .map(|(s, p)| self.describe_at(self.starts[s as usize] + p as usize))
    }

    pub fn get_by_hash(&self, hash: u64) -> Option<Result<Tensor<'_>>> {
        let at = *self.sorted.get(self.lower_bound(hash))?;
        (self.key(at).0 == hash).then(|| self.tensor_in(at))
    }

    fn lower_bound(&self, hash: u64) -> usize {
        crate::search::lower_bound(self.sorted.len(), |i| self.key(self.sorted[i]).0, hash)
    }

    fn locate(&self, position: usize) -> Option<(u32, u32)> {
        let s = self
            .starts
            .partition_point(|&start| start <= position)
            .checked_sub(1)?;
        let p = position - self.starts[s];
        (p < self.shards[s].len()).then_some((s as u32, p as u32))
    }

    pub fn get_at(&self, position: usize) -> Option<Result<Tensor<'_>>> {
        self.locate(position).map(|at| self.tensor_in(at))
    }

    /// The tensor at `position`, not read (see `TensorFile::describe_at`).
    pub fn describe_at(&self, position: usize) -> Result<Tensor<'_>> {
        let (s, p) = self
            .locate(position)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, "position out of range"))?;
        let mut t = self.shards[s as usize].describe_at(p as usize)?;
        t.position += self.starts[s as usize];
        Ok(t)
    }
}

/// True for a shard path that stays inside the index's directory: relative,
/// without `..`. (Symlinks are followed, as the Hugging Face cache needs.)
fn contained(rel: &str) -> bool {
    let p = Path::new(rel);
    !rel.is_empty()
        && p.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// Opens a `*.index.json` checkpoint index: `{"metadata": {...},
/// "weight_map": {tensor: shard file}}`. Every listed tensor must be in the
/// shard the map names, and every shard tensor must be listed.
pub(crate) fn open_index(path: &Path, bytes: &[u8], opts: &OpenOptions) -> Result<Sharded> {
    let v: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::format(format!("shard index is not valid JSON: {e}")))?;
    let map = v
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| Error::format("shard index has no \"weight_map\" object"))?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut files: Vec<&str> = Vec::new();
    for (name, file) in map {
        let file = file
            .as_str()
            .ok_or_else(|| Error::format("weight_map value is not a file name").for_tensor(name))?;
        if !contained(file) {
            return Err(Error::format(format!(
                "shard path '{file}' escapes the index's directory"
            ))
            .for_tensor(name));
        }
        if !files.contains(&file) {
            files.push(file);
        }
    }
    files.sort_unstable();
    let mut shards = Vec::with_capacity(files.len());
    for file in &files {
        let shard_path: PathBuf = dir.join(file);
        let f = TensorFile::open_single(&shard_path, opts)?;
        for p in 0..f.len() {
            let name = f.describe_at(p)?.display_name();
            if map.get(&name).and_then(|v| v.as_str()) != Some(*file) {
                return Err(Error::format(format!(
                    "shard {file} holds a tensor the index does not list there"
                ))
                .for_tensor(&name));
            }
        }
        shards.push(f);
    }
    for (name, file) in map {
        let s = files
            .iter()
            .position(|f| Some(*f) == file.as_str())
            .expect("listed above");
        if shards[s].describe(name).is_none() {
            return Err(Error::format(format!(
                "index lists it in {} but that shard does not hold it",
                files[s]
            ))
            .for_tensor(name));
        }
    }
    // Logical metadata: the index's "metadata", then the first shard's keys.
    let mut meta = v
        .get("metadata")
        .and_then(|m| m.as_object())
        .cloned()
        .unwrap_or_default();
    if let Some(first) = shards.first() {
        if let Ok(serde_json::Value::Object(m)) = first.metadata() {
            for (k, val) in m {
                meta.entry(k).or_insert(val);
            }
        }
    }
    Sharded::new(shards, serde_json::Value::Object(meta).to_string())
}

/// The `split.no` and `split.count` of a GGUF file, when it is part of a
/// split. Only GGUF files are splits: other formats may hold keys of those
/// names for their own purposes (a copied shard's metadata, a dataset split).
/// Read through the typed metadata: no JSON is built at open.
pub(crate) fn gguf_split_info(f: &TensorFile<'_>) -> Option<(u64, u64)> {
    if f.format() != Format::Gguf {
        return None;
    }
    let meta = f.meta().ok()?;
    let uint = |k: &str| match meta.value(k)? {
        crate::meta::MetaValue::Int { value, .. } => u64::try_from(value).ok(),
        _ => None,
    };
    let count = uint("split.count")?;
    let no = uint("split.no")?;
    (count > 1).then_some((no, count))
}

/// Opens the other files of a GGUF split (as llama.cpp's gguf-split names
/// them: `<prefix>-00001-of-00003.gguf` ...) given the first, already open.
pub(crate) fn open_gguf_split(
    path: &Path,
    first: TensorFile<'static>,
    count: u64,
    opts: &OpenOptions,
) -> Result<Sharded> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let suffix = format!("-00001-of-{count:05}.gguf");
    let prefix = name.strip_suffix(&suffix).ok_or_else(|| {
        Error::format(format!(
            "first file of a {count}-file GGUF split should be named <prefix>{suffix}"
        ))
    })?;
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut shards = vec![first];
    for i in 2..=count {
        let p = dir.join(format!("{prefix}-{i:05}-of-{count:05}.gguf"));
        let f = TensorFile::open_single(&p, opts)?;
        if gguf_split_info(&f) != Some((i - 1, count)) {
            return Err(Error::format(format!("is not split {} of {count}", i - 1)).in_file(&p));
        }
        shards.push(f);
    }
    // The set is one model: the split bookkeeping keys describe the files,
    // not the model, and must not follow it into a conversion.
    let mut meta = match shards[0].metadata()? {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    let split_keys = ["split.no", "split.count", "split.tensors.count"];
    for k in split_keys {
        meta.shift_remove(k);
    }
    if let Some(serde_json::Value::Object(types)) = meta.get_mut(crate::gguf::TYPES_KEY) {
        for k in split_keys {
            types.shift_remove(k);
        }
    }
    Sharded::new(shards, serde_json::Value::Object(meta).to_string())
}
