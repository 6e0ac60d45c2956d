//! Installs the library with scripts/install.sh into a scratch prefix, then
//! builds and runs the C, C++ (plain and CMake), Go and Zig examples against
//! it and checks that each prints the expected summary of the sample model.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;

/// The prefix scripts/install.sh installed into (once per test process).
fn prefix() -> &'static Path {
    static PREFIX: OnceLock<PathBuf> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let prefix = lib_dir().join("tenzor-prefix");
        let _ = std::fs::remove_dir_all(&prefix);
        run_ok(
            Command::new("bash")
                .arg(root().join("scripts/install.sh"))
                .arg("--from")
                .arg(lib_dir())
                .arg(&prefix),
            "scripts/install.sh",
        );
        prefix
    })
}

fn pkg_config_path() -> PathBuf {
    prefix().join("lib/pkgconfig")
}

fn sample() -> PathBuf {
    root().join("examples/sample.safetensors")
}

/// What every example must print, computed with the Rust API.
fn expected(lang: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("sample.tenzor");
    tenzor::convert(&sample(), &model, &Default::default(), &mut |_, _| {}).unwrap();
    let f = tenzor::TensorFile::open(&model).unwrap();
    let head = f.get("lm_head.weight").unwrap();
    let emb = f.get("model.embed_tokens.weight").unwrap();
    let bits = u32::from_le_bytes(emb.data()[..4].try_into().unwrap());
    format!(
        "tenzor {version}\n\
         sample.tenzor: 21 tensors, alignment 64\n\
         lm_head.weight: BF16 [64, 32], 4096 bytes, hash {hash:#018x}\n\
         model.embed_tokens.weight: F32 [64, 32], 8192 bytes, first element bits {bits:#010x}\n\
         metadata: {meta}\n\
         lookup of 'missing': tensor not found\n\
         small.tenzor: 2 tensors, verified, metadata {{\"written_by\":\"{lang}\"}}\n",
        version = env!("CARGO_PKG_VERSION"),
        hash = head.name_hash(),
        meta = f.metadata_json(),
    )
}

/// Runs a built example in a fresh directory, checks its output and the
/// small file it wrote (read back with the Rust API).
fn run_example(exe: &Path, lang: &str) {
    let out_dir = tempfile::tempdir().unwrap();
    let out = run_ok(
        Command::new(exe)
            .arg(sample())
            .arg(out_dir.path())
            .env("LD_LIBRARY_PATH", prefix().join("lib")),
        &format!("running the {lang} example"),
    );
    assert_eq!(stdout(&out), expected(lang), "{lang} example output");
    let small = tenzor::TensorFile::open(out_dir.path().join("small.tenzor")).unwrap();
    assert_eq!(small.get("greeting").unwrap().data(), b"hello");
    let ones = small.get("ones").unwrap();
    assert_eq!(ones.shape(), &[2, 2]);
    assert_eq!(ones.as_slice::<f32>().unwrap(), &[1.0f32; 4]);
    small.verify().unwrap();
}

fn pkg_config(args: &[&str]) -> Vec<String> {
    require("pkg-config");
    let out = run_ok(
        Command::new("pkg-config")
            .args(args)
            .arg("tenzor")
            .env("PKG_CONFIG_PATH", pkg_config_path()),
        "pkg-config",
    );
    stdout(&out)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn install_script_installs_libraries_headers_and_pkg_config() {
    let p = prefix();
    for f in [
        "include/tenzor.h",
        "include/tenzor.hpp",
        "lib/libtenzor.a",
        "lib/libtenzor.so",
        "lib/pkgconfig/tenzor.pc",
    ] {
        assert!(p.join(f).exists(), "{f} not installed");
    }
    let soname_link = p.join("lib").join(soname());
    assert!(
        soname_link.is_symlink() && soname_link.exists(),
        "soname link missing"
    );
    assert_eq!(
        pkg_config(&["--modversion"]),
        vec![env!("CARGO_PKG_VERSION")]
    );
    let libs = pkg_config(&["--libs"]);
    assert_eq!(
        libs,
        vec![format!("-L{}", p.join("lib").display()), "-ltenzor".into()]
    );
    let static_libs = pkg_config(&["--libs", "--static"]);
    assert_eq!(static_libs[2..], native_static_libs()[..]);
    assert_eq!(
        pkg_config(&["--cflags"]),
        vec![format!("-I{}", p.join("include").display())]
    );
}

#[test]
fn c_example_links_dynamically_and_statically() {
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("examples/c/main.c");

    let dynamic = dir.path().join("c_dynamic");
    let mut cc = compiler(false);
    cc.arg(&src)
        .arg("-o")
        .arg(&dynamic)
        .args(pkg_config(&["--cflags", "--libs"]))
        .arg(format!("-Wl,-rpath,{}", prefix().join("lib").display()));
    run_ok(&mut cc, "compiling the C example (dynamic)");
    run_example(&dynamic, "c");

    // The static link line documented in docs/C_API.md.
    let fixed = dir.path().join("c_static");
    let mut cc = compiler(false);
    cc.arg(&src)
        .arg("-I")
        .arg(prefix().join("include"))
        .arg(prefix().join("lib/libtenzor.a"))
        .args(native_static_libs())
        .arg("-o")
        .arg(&fixed);
    run_ok(&mut cc, "compiling the C example (static)");
    let dynamic_section = run_ok(Command::new("readelf").arg("-d").arg(&fixed), "readelf");
    assert!(
        !stdout(&dynamic_section).contains("libtenzor"),
        "the static build still needs libtenzor.so"
    );
    run_example(&fixed, "c");
}

#[test]
fn cpp_example_builds_with_cxx_and_cmake() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("cpp_plain");
    let mut cxx = compiler(true);
    cxx.arg(root().join("examples/cpp/main.cpp"))
        .arg("-o")
        .arg(&exe)
        .args(pkg_config(&["--cflags", "--libs"]))
        .arg(format!("-Wl,-rpath,{}", prefix().join("lib").display()));
    run_ok(&mut cxx, "compiling the C++ example");
    run_example(&exe, "cpp");

    require("cmake");
    let build = dir.path().join("cmake-build");
    run_ok(
        Command::new("cmake")
            .arg("-S")
            .arg(root().join("examples/cpp"))
            .arg("-B")
            .arg(&build)
            .env("PKG_CONFIG_PATH", pkg_config_path()),
        "cmake configure",
    );
    run_ok(
        Command::new("cmake").arg("--build").arg(&build),
        "cmake --build",
    );
    run_example(&build.join("tenzor_cpp_example"), "cpp");
}

#[test]
fn go_example_builds_with_cgo() {
    require("go");
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("go_example");
    let cache = lib_dir().join("go-cache");
    run_ok(
        Command::new("go")
            .args(["build", "-o"])
            .arg(&exe)
            .arg(".")
            .current_dir(root().join("examples/go"))
            .env("PKG_CONFIG_PATH", pkg_config_path())
            .env("CGO_ENABLED", "1")
            .env("GOCACHE", cache.join("build"))
            .env("GOPATH", cache.join("path"))
            .env("GOFLAGS", "-mod=mod")
            .env("GOTOOLCHAIN", "local")
            .env("GOPROXY", "off"),
        "go build examples/go",
    );
    run_example(&exe, "go");
}

#[test]
fn zig_example_builds_with_cimport() {
    let zig_ok = Command::new("python3")
        .args(["-m", "ziglang", "version"])
        .output()
        .is_ok_and(|o| o.status.success() && stdout(&o).starts_with("0.15."));
    assert!(
        zig_ok,
        "Zig 0.15 is not installed (python3 -m ziglang); run scripts/install-toolchains.sh"
    );
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("zig_example");
    let cache = lib_dir().join("zig-cache");
    run_ok(
        Command::new("python3")
            .args(["-m", "ziglang", "build-exe"])
            .arg(root().join("examples/zig/main.zig"))
            .arg("-I")
            .arg(prefix().join("include"))
            .arg("-L")
            .arg(prefix().join("lib"))
            .args(["-ltenzor", "-lc", "-rpath"])
            .arg(prefix().join("lib"))
            .arg("--cache-dir")
            .arg(cache.join("local"))
            .arg("--global-cache-dir")
            .arg(cache.join("global"))
            .arg(format!("-femit-bin={}", exe.display())),
        "zig build-exe examples/zig/main.zig",
    );
    run_example(&exe, "zig");
}
