//! tenzor: zero-copy, memory-mapped tensor files with a C ABI.
//!
//! - [`TensorFile`] opens a file (or borrows a buffer), validates its whole
//!   structure without touching tensor data, and hands out [`Tensor`] views
//!   that point into the mapping; [`TensorFile::get_rows`] views some rows
//!   and [`TensorFile::read_slice`] copies any hyper-rectangle into caller
//!   memory, reading only that part whatever the backend.
//! - [`Writer`] streams tensors into a new file and renames it into place.
//! - [`Editor`] opens an existing file to change tensor bytes in place
//!   (mode `r+`), keeping .tenzor checksums honest across crashes.
//! - [`convert()`] turns any file it reads into .tenzor, .safetensors or .gguf.
//!
//! The byte layout is specified in FORMAT.md.
//!
//! Cargo features (all on by default): `foreign` (reading .safetensors, GGUF
//! and shard sets), `write` (the writer, editor, appender, `compact` and
//! `convert`), `cli` (the `tenzor` command). Without them
//! (`--no-default-features`) the library reads .tenzor files only: the lean
//! build for edge targets (README, "Edge and embedded").
//!
//! ```
//! use tenzor::{DType, TensorFile, Writer, WriterOptions};
//!
//! # fn main() -> tenzor::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("model.tenzor");
//! let weights: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0].iter().flat_map(|v| v.to_le_bytes()).collect();
//! let mut w = Writer::create(&path, WriterOptions { alignment: 4096, ..Default::default() })?;
//! w.set_metadata(r#"{"arch": "llama", "layers": 2}"#)?;
//! w.add_tensor("w", DType::F32, &[2, 2], &weights)?; // written to disk now
//! w.finish()?; // index, checksums, fsync, atomic rename
//!
//! let f = TensorFile::open(&path)?; // also .safetensors, .gguf, *.index.json
//! let t = f.get("w").expect("present"); // O(log n), no allocation
//! assert_eq!((t.dtype(), t.shape()), (DType::F32, &[2u64, 2][..]));
//! assert_eq!(t.as_slice::<f32>(), Some(&[1.0, 2.0, 3.0, 4.0][..])); // typed, zero-copy
//! assert_eq!(t.data().as_ptr() as usize % 4096, 0); // page-aligned
//! assert_eq!(f.metadata()?["layers"], 2);
//! f.verify()?; // recompute every checksum
//! # Ok(())
//! # }
//! ```

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod append;
#[cfg(feature = "write")]
mod atomic;
#[cfg(feature = "write")]
pub mod convert;
pub mod dtype;
#[cfg(feature = "write")]
mod edit;
#[cfg(feature = "write")]
mod entries;
mod error;
pub mod ffi;
#[cfg(feature = "foreign")]
mod foreign;
#[cfg(all(feature = "write", feature = "foreign"))]
mod foreign_write;
pub mod format;
#[cfg(feature = "foreign")]
mod gguf;
#[cfg(feature = "foreign")]
mod gguf_meta;
#[cfg(all(feature = "write", feature = "foreign"))]
mod gguf_write;
pub mod io;
mod json_text;
mod loading;
#[cfg(feature = "write")]
mod lock;
pub mod meta;
mod native;
mod reader;
mod search;
#[cfg(feature = "foreign")]
mod shards;
mod slice;
#[cfg(feature = "foreign")]
mod st_header;
mod tensor;
#[cfg(test)]
mod test_rng;
mod verify;
#[cfg(not(all(feature = "foreign", feature = "write")))]
mod without;
#[cfg(feature = "write")]
mod writer;

// The modules of a left-out feature are replaced by stand-ins (src/without/)
// whose types can never be built and whose constructors fail with
// `ErrorKind::Unsupported`: the code that uses them has one shape in every build.
#[cfg(all(feature = "write", not(feature = "foreign")))]
use without::foreign_write;
#[cfg(not(feature = "foreign"))]
use without::{foreign, gguf_meta, shards};

#[cfg(feature = "write")]
pub use append::{compact, AppendOptions, Appender, CompactStats};
#[cfg(feature = "write")]
pub use convert::{convert, ConvertOptions, ConvertStats, FileKind};
pub use dtype::DType;
#[cfg(feature = "write")]
pub use edit::{rehash, Editor};
pub use error::{Error, ErrorKind, Result};
pub use format::fnv1a as hash_name;
pub use io::{
    Access, Backend, BackendChoice, BatchOptions, IoStats, OpenOptions, ReadRequest, Validation,
};
pub use meta::{Meta, MetaArray, MetaType, MetaValue};
pub use reader::{AppendLayout, Format, HeaderInfo, Iter, TensorFile};
pub use tensor::{Element, Tensor, TensorInfo};
#[cfg(feature = "write")]
pub use writer::{Writer, WriterOptions};
