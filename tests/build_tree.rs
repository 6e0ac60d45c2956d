//! A C program linked against the build tree, as the README shows
//! (`cc app.c -Iinclude -Ltarget/<profile> -ltenzor`), starts: build.rs puts
//! the soname link (`libtenzor.so.0.2 -> deps/libtenzor.so`) beside the
//! library. `cargo test` does not copy the library up into target/<profile>
//! (only `cargo build` does), so the test checks the link build.rs made
//! there, then links against a copy of that layout: the library this run
//! built, in `deps/` and beside it, and the same link.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

/// target/<profile>, where `cargo build` puts libtenzor.so.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf()
}

#[test]
fn a_program_linked_in_the_build_tree_starts() {
    let link = profile_dir().join(soname());
    assert_eq!(
        std::fs::read_link(&link).ok(),
        Some(PathBuf::from("deps/libtenzor.so")),
        "build.rs did not create {}",
        link.display()
    );

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("build-tree");
    std::fs::create_dir_all(dir.join("deps")).unwrap();
    let lib = lib_dir().join("libtenzor.so");
    std::fs::copy(&lib, dir.join("libtenzor.so")).unwrap();
    std::fs::copy(&lib, dir.join("deps/libtenzor.so")).unwrap();
    std::os::unix::fs::symlink(std::fs::read_link(&link).unwrap(), dir.join(soname())).unwrap();
    let app = tmp.path().join("app");
    let mut cc = compiler(false);
    cc.arg(root().join("c_tests/build_tree_app.c"))
        .arg("-L")
        .arg(&dir)
        .arg("-ltenzor")
        .arg("-o")
        .arg(&app);
    run_ok(&mut cc, "cc app.c -Iinclude -Ltarget/<profile> -ltenzor");
    let out = run_ok(
        Command::new(&app)
            .env("LD_LIBRARY_PATH", &dir)
            .arg(root().join("examples/sample.safetensors")),
        "running the program linked in the build tree",
    );
    let expected = tenzor::TensorFile::open(root().join("examples/sample.safetensors"))
        .unwrap()
        .len();
    assert_eq!(stdout(&out), format!("tensors: {expected}\n"));
}
