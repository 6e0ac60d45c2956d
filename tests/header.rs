//! The committed include/tenzor.h must be exactly what the pinned cbindgen
//! generates from src/ffi/ now.

use std::path::Path;

#[test]
fn committed_header_matches_cbindgen_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        // Only the C surface: src/ffi/ and the modules it declares.
        .with_src(root.join("src/ffi/mod.rs"))
        .generate()
        .expect("cbindgen failed to generate the header")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("header is UTF-8");
    let path = root.join("include/tenzor.h");
    if std::env::var_os("TENZOR_BLESS_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write include/tenzor.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || "at the end".to_string(),
                |l| format!("at line {}", l + 1),
            );
        panic!(
            "include/tenzor.h is out of date (first difference {line}).\n\
             Regenerate it with:  TENZOR_BLESS_HEADER=1 cargo test --test header\n\
             and commit the result; never edit the header by hand."
        );
    }
}
