//! A C program reads a GGUF tokenizer vocabulary through the typed metadata
//! API (c_tests/meta_vocab.c) and must print exactly what the `gguf` Python
//! package reads from the same file (tests/py/llm_gguf.py vocab): linked
//! dynamically, under valgrind, and with ASan + UBSan. The file is made by
//! the gguf package: 3,000 tokens (byte tokens, multi-byte UTF-8, an empty
//! string), 2,000 merges.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn make_vocab(dir: &Path) -> (std::path::PathBuf, String) {
    let gguf = dir.join("vocab.gguf");
    let script = root().join("tests/py/llm_gguf.py");
    run_ok(
        Command::new("python3")
            .arg(&script)
            .args(["make"])
            .arg(&gguf)
            .args(["3000", "2000", "20"]),
        "llm_gguf.py make (needs: pip install gguf numpy)",
    );
    let want = run_ok(
        Command::new("python3").arg(&script).arg("vocab").arg(&gguf),
        "llm_gguf.py vocab",
    );
    (gguf, stdout(&want))
}

fn check(out: &std::process::Output, want: &str, what: &str) {
    let got = stdout(out);
    assert_eq!(got.lines().count(), 5000, "{what}");
    if got != want {
        let first = got
            .lines()
            .zip(want.lines())
            .find(|(g, w)| g != w)
            .map(|(g, w)| format!("C: {g}\ngguf: {w}"));
        panic!("{what}: the C API and the gguf package differ:\n{first:?}");
    }
}

#[test]
fn c_reads_the_gguf_vocabulary_as_the_gguf_package_does() {
    let dir = tempfile::tempdir().unwrap();
    let (gguf, want) = make_vocab(dir.path());
    let src = root().join("c_tests/meta_vocab.c");

    let libs = shared_lib_dir(dir.path());
    let exe = dir.path().join("meta_vocab");
    run_ok(
        compiler(false)
            .arg(&src)
            .arg("-o")
            .arg(&exe)
            .arg("-L")
            .arg(&libs)
            .arg(format!("-Wl,-rpath,{}", libs.display()))
            .arg("-ltenzor"),
        "compiling meta_vocab.c",
    );
    check(
        &run_ok(Command::new(&exe).arg(&gguf), "meta_vocab"),
        &want,
        "dynamic",
    );

    if have("valgrind") {
        let out = run_ok(
            Command::new("valgrind")
                .args(["--error-exitcode=1", "--leak-check=full"])
                .arg(&exe)
                .arg(&gguf),
            "meta_vocab under valgrind",
        );
        check(&out, &want, "valgrind");
        assert!(
            stderr(&out).contains("ERROR SUMMARY: 0 errors"),
            "{}",
            stderr(&out)
        );
    }

    let asan = dir.path().join("meta_vocab_asan");
    run_ok(
        compiler(false)
            .args([
                "-fsanitize=address,undefined",
                "-fno-sanitize-recover=all",
                "-fno-omit-frame-pointer",
            ])
            .arg(&src)
            .arg("-o")
            .arg(&asan)
            .arg(lib_dir().join("libtenzor.a"))
            .args(native_static_libs()),
        "compiling meta_vocab.c with ASan + UBSan",
    );
    let out = run_ok(
        Command::new(&asan)
            .arg(&gguf)
            .env("ASAN_OPTIONS", "detect_leaks=1:exitcode=23"),
        "meta_vocab under ASan + UBSan",
    );
    check(&out, &want, "ASan");
    assert!(!stderr(&out).contains("runtime error:"), "{}", stderr(&out));
}
