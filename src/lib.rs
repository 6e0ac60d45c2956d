//! tenzor: zero-copy, memory-mapped tensor files with a C ABI.
//!
//! - [`TensorFile`] opens a file (or borrows a buffer), validates its whole
//!   structure without touching tensor data, and hands out [`Tensor`] views
//!   that point into the mapping.
//! - [`Writer`] streams tensors into a new file and renames it into place.
//! - [`convert`] turns .safetensors and .gguf into .tenzor and back.
//!
//! The byte layout is specified in FORMAT.md.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod atomic;
pub mod convert;
pub mod dtype;
mod error;
pub mod ffi;
mod foreign;
pub mod format;
mod gguf;
mod gguf_write;
mod native;
mod reader;
mod search;
mod shards;
mod tensor;
mod writer;

pub use convert::{convert, ConvertOptions, ConvertStats, FileKind};
pub use dtype::DType;
pub use error::{Error, ErrorKind, Result};
pub use format::fnv1a as hash_name;
pub use reader::{Format, HeaderInfo, TensorFile};
pub use tensor::{Element, Tensor};
pub use writer::{Writer, WriterOptions};
