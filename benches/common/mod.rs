//! What the benchmarks share: the same N small tensors written as
//! .safetensors and .tenzor.

use std::path::{Path, PathBuf};

use tenzor::ConvertOptions;

pub fn name(i: usize) -> String {
    format!("model.layers.{i}.self_attn.q_proj.weight")
}

/// Writes the same N small F32 tensors as .safetensors and .tenzor.
pub fn make_pair(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    let st = dir.join(format!("n{n}.safetensors"));
    let tz = dir.join(format!("n{n}.tenzor"));
    let data = [0u8; 64];
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = (0..n)
        .map(|i| {
            (
                name(i),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![16], &data)
                    .unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, &st).unwrap();
    tenzor::convert(&st, &tz, &ConvertOptions::default(), &mut |_, _| {}).unwrap();
    (st, tz)
}
