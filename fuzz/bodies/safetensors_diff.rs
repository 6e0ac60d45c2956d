//! Differential: for bytes the official `safetensors` crate accepts, tenzor
//! gives the same view (names, dtypes, shapes, bytes, metadata), or refuses
//! for one of the stricter rules listed in [`STRICTER`]. tenzor never
//! accepts as safetensors what the crate refuses.

use safetensors::SafeTensors;
use tenzor::{DType, Format, TensorFile};

/// Rules tenzor adds to the crate's (README, "Formats read"), as pieces of
/// its error messages. Anything else the crate accepts, tenzor must too.
pub const STRICTER: &[&str] = &[
    // The safetensors spec: "The header data MUST begin with a {".
    "unrecognised format",
    // The crate keeps the last of two equal keys (serde into a HashMap).
    "name appears twice",
    // Names C code can hold (NUL-terminated) and look up.
    "name is empty",
    "contains a NUL byte",
    // tenzor's MAX_DIMS.
    "exceeds the maximum of 8",
];

/// The `safetensors_diff` target.
pub fn safetensors_diff(data: &[u8]) {
    // safetensors 0.8.0 computes `buffer_end + N_LEN + n` unchecked
    // (tensor.rs:420): with debug assertions, offsets near u64::MAX panic
    // there; released builds wrap and refuse the file. Both are a refusal.
    let Some(official) = without_panic_hook(|| SafeTensors::deserialize(data)) else {
        assert!(TensorFile::from_bytes(data).map_or(true, |f| f.format() != Format::Safetensors));
        return;
    };
    let ours = TensorFile::from_bytes(data);
    match (official, ours) {
        (Ok(st), Ok(f)) => same_view(data, &st, &f),
        (Ok(_), Err(e)) => {
            let msg = e.to_string();
            assert!(
                STRICTER.iter().any(|s| msg.contains(s)),
                "the safetensors crate accepts what tenzor refuses: {msg}"
            );
        }
        (Err(e), Ok(f)) => assert_ne!(
            f.format(),
            Format::Safetensors,
            "tenzor accepts as safetensors what the crate refuses: {e}"
        ),
        (Err(_), Err(_)) => {}
    }
}

fn same_view(data: &[u8], st: &SafeTensors<'_>, f: &TensorFile<'_>) {
    assert_eq!(f.format(), Format::Safetensors);
    assert_eq!(f.len(), st.len());
    for (name, view) in st.tensors() {
        let t = f
            .get(&name)
            .unwrap_or_else(|| panic!("tensor {name:?} missing"));
        assert_eq!(
            Some(t.dtype()),
            DType::from_safetensors(view.dtype()),
            "{name}"
        );
        let shape: Vec<u64> = view.shape().iter().map(|&d| d as u64).collect();
        assert_eq!(t.shape(), &shape[..], "{name}");
        assert_eq!(
            t.data().as_ptr(),
            view.data().as_ptr(),
            "{name}: same bytes"
        );
        assert_eq!(t.data().len(), view.data().len(), "{name}");
    }
    let (_, meta) = SafeTensors::read_metadata(data).expect("accepted above");
    let ours = f.metadata().expect("json");
    let ours = ours.as_object().expect("object");
    let theirs = meta.metadata().clone().unwrap_or_default();
    assert_eq!(ours.len(), theirs.len(), "metadata keys");
    for (k, v) in &theirs {
        assert_eq!(
            ours.get(k).and_then(|x| x.as_str()),
            Some(v.as_str()),
            "{k}"
        );
    }
}

/// Runs `f`, turning a panic into `None` without reporting it (libFuzzer's
/// hook would abort). Only for code outside tenzor.
fn without_panic_hook<R>(f: impl FnOnce() -> R) -> Option<R> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok();
    std::panic::set_hook(hook);
    r
}
