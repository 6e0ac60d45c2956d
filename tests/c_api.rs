//! Builds the C test suite in c_tests/ against libtenzor and runs it:
//! linked dynamically, under valgrind, and with AddressSanitizer + UBSan;
//! plus the C++ wrapper test and the documented static-link line.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const C_SOURCES: &[&str] = &[
    "main.c",
    "test_read.c",
    "test_write.c",
    "test_errors.c",
    "test_threads.c",
    "test_load.c",
    "test_slice.c",
    "test_meta.c",
    "test_edit.c",
    "test_paths.c",
    "test_append.c",
    "header_twice_a.c",
    "header_twice_b.c",
];

fn c_sources() -> Vec<PathBuf> {
    C_SOURCES
        .iter()
        .map(|s| root().join("c_tests").join(s))
        .collect()
}

/// Compiles the C suite into `dir/name`, linked against the shared library.
fn build_dynamic(dir: &Path, name: &str) -> PathBuf {
    let libs = shared_lib_dir(dir);
    let exe = dir.join(name);
    let mut cc = compiler(false);
    cc.args(c_sources())
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(&libs)
        .arg(format!("-Wl,-rpath,{}", libs.display()))
        .args(["-ltenzor", "-lpthread"]);
    run_ok(&mut cc, "compiling the C tests (dynamic)");
    exe
}

/// Compiles with the sanitizers, linked against the static library.
fn build_sanitized(dir: &Path, sources: &[PathBuf], cpp: bool, name: &str) -> PathBuf {
    let exe = dir.join(name);
    let mut cc = compiler(cpp);
    cc.args([
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=all",
        "-fno-omit-frame-pointer",
    ])
    .args(sources)
    .arg("-o")
    .arg(&exe)
    .arg(lib_dir().join("libtenzor.a"))
    .args(native_static_libs());
    run_ok(&mut cc, "compiling with -fsanitize=address,undefined");
    exe
}

/// Runs a C test binary in a fresh work directory; returns its output.
fn run_suite(runner: Option<&[&str]>, exe: &Path, what: &str) -> std::process::Output {
    let work = tempfile::tempdir().unwrap();
    let sample = root().join("examples/sample.safetensors");
    let mut cmd = match runner {
        Some([prog, args @ ..]) => {
            let mut c = Command::new(prog);
            c.args(args).arg(exe);
            c
        }
        _ => Command::new(exe),
    };
    cmd.arg(work.path()).arg(&sample);
    let out = run_ok(&mut cmd, what);
    let text = stdout(&out);
    println!("{text}");
    assert!(
        text.contains(" passed, 0 failed"),
        "{what}: unexpected summary:\n{text}\n{}",
        stderr(&out)
    );
    out
}

#[test]
fn c_tests_pass_linked_against_the_shared_library() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build_dynamic(dir.path(), "c_tests_dynamic");
    // The program must ask for the soname, not the bare link name.
    let dynamic = run_ok(Command::new("readelf").arg("-d").arg(&exe), "readelf -d");
    let needed = format!("Shared library: [{}]", soname());
    assert!(
        stdout(&dynamic).contains(&needed),
        "the binary does not need {}:\n{}",
        soname(),
        stdout(&dynamic)
    );
    run_suite(None, &exe, "C tests (dynamic)");
}

#[test]
fn c_tests_are_clean_under_valgrind() {
    require("valgrind");
    let dir = tempfile::tempdir().unwrap();
    let exe = build_dynamic(dir.path(), "c_tests_valgrind");
    let out = run_suite(
        Some(&[
            "valgrind",
            "--error-exitcode=1",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect,possible",
        ]),
        &exe,
        "C tests under valgrind memcheck",
    );
    let log = stderr(&out);
    println!("{log}");
    assert!(
        log.contains("ERROR SUMMARY: 0 errors"),
        "valgrind reported errors:\n{log}"
    );
    assert!(
        log.contains("definitely lost: 0 bytes") || log.contains("All heap blocks were freed"),
        "valgrind reported leaks:\n{log}"
    );
}

#[test]
fn c_tests_are_clean_under_asan_and_ubsan() {
    let dir = tempfile::tempdir().unwrap();

    // First prove the sanitizers are really linked and active: a probe that
    // leaks must be caught.
    let probe = build_sanitized(
        dir.path(),
        &[root().join("c_tests/asan_probe.c")],
        false,
        "asan_probe",
    );
    let out = Command::new(&probe).output().unwrap();
    assert!(
        !out.status.success() && stderr(&out).contains("LeakSanitizer: detected memory leaks"),
        "the leaking probe was not caught: ASan is not active\n{}",
        stderr(&out)
    );

    let exe = build_sanitized(dir.path(), &c_sources(), false, "c_tests_asan");
    let binary = std::fs::read(&exe).unwrap();
    assert!(
        binary.windows(11).any(|w| w == b"__asan_init"),
        "the test binary does not reference __asan_init"
    );
    let mut cmd = Command::new(&exe);
    cmd.env(
        "ASAN_OPTIONS",
        "detect_leaks=1:abort_on_error=0:exitcode=23",
    )
    .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1");
    let work = tempfile::tempdir().unwrap();
    cmd.arg(work.path())
        .arg(root().join("examples/sample.safetensors"));
    let out = run_ok(&mut cmd, "C tests under ASan + UBSan");
    let text = stdout(&out);
    println!("{text}");
    assert!(text.contains(" passed, 0 failed"), "{text}");
    let log = stderr(&out);
    assert!(
        !log.contains("ERROR: AddressSanitizer")
            && !log.contains("LeakSanitizer")
            && !log.contains("runtime error:"),
        "sanitizer reports:\n{log}"
    );
}

#[test]
fn cpp_wrapper_and_header_pass_as_cpp17() {
    let dir = tempfile::tempdir().unwrap();
    // The C header included twice in each of three C++ translation units.
    let sources = [
        root().join("c_tests/test_cpp.cpp"),
        root().join("c_tests/header_twice_a.c"),
        root().join("c_tests/header_twice_b.c"),
    ];
    let exe = dir.path().join("cpp_tests");
    let mut cxx = compiler(true);
    cxx.arg("-x")
        .arg("c++")
        .args(&sources)
        .arg("-x")
        .arg("none")
        .arg("-o")
        .arg(&exe)
        .arg(lib_dir().join("libtenzor.a"))
        .args(native_static_libs());
    run_ok(&mut cxx, "compiling the C++ tests");
    run_suite(None, &exe, "C++ wrapper tests");

    let asan = build_sanitized(dir.path(), &sources, true, "cpp_tests_asan");
    let asan_src_ok = std::fs::read(&asan)
        .unwrap()
        .windows(11)
        .any(|w| w == b"__asan_init");
    assert!(asan_src_ok, "C++ ASan binary lacks __asan_init");
    run_suite(None, &asan, "C++ wrapper tests under ASan + UBSan");
}

#[test]
fn header_compiles_as_strict_c_and_cpp() {
    let dir = tempfile::tempdir().unwrap();
    let tu = root().join("c_tests/header_twice_b.c");
    for (cpp, std) in [
        (false, "-std=c99"),
        (false, "-std=c11"),
        (true, "-std=c++11"),
        (true, "-std=c++17"),
    ] {
        let mut cc = compiler(cpp);
        if cpp {
            cc.arg("-x").arg("c++");
        }
        cc.arg(std)
            .arg("-c")
            .arg(&tu)
            .arg("-o")
            .arg(dir.path().join("tu.o"));
        run_ok(&mut cc, &format!("compiling tenzor.h with {std}"));
    }
}

/// rustls-ffi style: the documented static-link libraries must be exactly
/// what rustc says a static link of libtenzor.a needs.
#[test]
fn documented_static_libs_match_rustc() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // A separate target dir: the outer `cargo test` owns target/<profile>.
    // On later runs cargo replays the cached note without rebuilding.
    let out = run_ok(
        Command::new(cargo)
            .current_dir(root())
            .args([
                "rustc",
                "--lib",
                "--crate-type",
                "staticlib",
                "--target-dir",
            ])
            .arg(root().join("target/native-static-libs"))
            .args(["--", "--print", "native-static-libs"]),
        "cargo rustc --print native-static-libs",
    );
    let text = stderr(&out);
    let printed: Vec<String> = text
        .lines()
        .find_map(|l| l.split("native-static-libs:").nth(1))
        .unwrap_or_else(|| panic!("no native-static-libs note in:\n{text}"))
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(
        native_static_libs(),
        printed,
        "update the `native-static-libs:` line (and the link examples) in docs/C_API.md"
    );
    // The README's static link commands must list the same libraries.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let flags = printed.join(" ");
    let static_lines: Vec<&str> = readme
        .lines()
        .filter(|l| l.contains("libtenzor.a -l"))
        .collect();
    assert!(!static_lines.is_empty(), "README shows a static link line");
    for l in static_lines {
        assert!(
            l.contains(&flags),
            "README static link line lacks `{flags}`: {l}"
        );
    }
}
