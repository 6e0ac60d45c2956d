//! Compiles tenzor_lite.h (c_tests/lite/lite_impl.c) into the fuzz crate for
//! the `lite_diff` target, with libFuzzer's coverage instrumentation when
//! the compiler is clang (so mutations are guided by the C reader's branches
//! too) and AddressSanitizer when the targets are built with it.

use std::path::Path;
use std::process::Command;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("fuzz/ is inside the repository");
    let sources = [
        root.join("c_tests/lite/lite_impl.c"),
        root.join("fuzz/lite/layout.c"),
    ];
    for p in sources.iter().chain(&[
        root.join("include/tenzor_lite.h"),
        root.join("include/tenzor_format.h"),
    ]) {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    println!("cargo:rustc-check-cfg=cfg(tzl_linked)");
    println!("cargo:rustc-cfg=tzl_linked");

    let mut build = cc::Build::new();
    build
        .files(&sources)
        .include(root.join("include"))
        .opt_level(2);
    let clang = Command::new("clang")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if clang {
        build
            .compiler("clang")
            .flag("-fsanitize-coverage=inline-8bit-counters,pc-table,trace-cmp");
        let sanitize = std::env::var("CARGO_CFG_SANITIZE").unwrap_or_default();
        if sanitize.split(',').any(|s| s == "address") {
            build.flag("-fsanitize=address");
        }
    }
    build.compile("tenzor_lite");
}
