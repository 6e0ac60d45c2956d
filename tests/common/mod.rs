//! Helpers shared by the integration tests: fixtures and Python read-back,
//! and building and running C, C++, Go and Zig code against the library
//! cargo just built.

#![allow(dead_code)] // each test binary uses a different subset

pub mod crash;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

/// Flags every C translation unit of the project must compile cleanly with.
pub const C_FLAGS: &[&str] = &["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror"];
/// The same for C++ (C++17: the wrapper uses std::string_view and std::optional).
pub const CXX_FLAGS: &[&str] = &["-std=c++17", "-Wall", "-Wextra", "-Wpedantic", "-Werror"];

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where `cargo test` put the libtenzor.a and libtenzor.so it built for this
/// run: target/<profile>/deps (cargo only copies them up to target/<profile>
/// on `cargo build`, so that copy may be missing or stale).
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test>-<hash>
    let deps = exe
        .parent()
        .expect("test executable lives in target/<profile>/deps")
        .to_path_buf();
    let has_both = |d: &Path| {
        ["libtenzor.a", "libtenzor.so"]
            .iter()
            .all(|l| d.join(l).is_file())
    };
    if has_both(&deps) {
        return deps;
    }
    let up = deps.parent().expect("target/<profile>").to_path_buf();
    assert!(
        has_both(&up),
        "libtenzor.a / libtenzor.so are missing from {} and {}: run these tests through `cargo test`",
        deps.display(),
        up.display()
    );
    up
}

/// The soname build.rs gave libtenzor.so.
pub fn soname() -> &'static str {
    env!("TENZOR_SONAME")
}

/// A directory holding libtenzor.so under its link name and its soname (as
/// an installation has them), for `-L` and the run-time path.
pub fn shared_lib_dir(tmp: &Path) -> PathBuf {
    let dir = tmp.join("lib");
    std::fs::create_dir_all(&dir).unwrap();
    let so = lib_dir().join("libtenzor.so");
    for name in ["libtenzor.so", soname()] {
        let link = dir.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&so, &link).unwrap();
    }
    dir
}

/// The native libraries a static link of libtenzor.a needs, as documented
/// in docs/C_API.md (tests/c_api.rs checks the list against rustc).
pub fn native_static_libs() -> Vec<String> {
    let doc = std::fs::read_to_string(root().join("docs/C_API.md")).expect("docs/C_API.md");
    let line = doc
        .lines()
        .find_map(|l| l.trim().strip_prefix("native-static-libs:"))
        .expect("docs/C_API.md has a `native-static-libs: ...` line");
    line.split_whitespace().map(str::to_string).collect()
}

/// The C or C++ compiler the `cc` crate picks for this target (honouring
/// CC/CXX and CFLAGS/CXXFLAGS), with the project's warning flags.
pub fn compiler(cpp: bool) -> Command {
    let target = env!("TENZOR_BUILD_TARGET");
    let tool = cc::Build::new()
        .cpp(cpp)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .target(target)
        .host(target)
        .opt_level(0)
        .debug(true)
        .try_get_compiler()
        .expect("no C/C++ compiler found (install gcc/g++)");
    let mut cmd = tool.to_command();
    cmd.args(if cpp { CXX_FLAGS } else { C_FLAGS });
    cmd.arg("-I").arg(root().join("include"));
    cmd
}

/// Runs `cmd`, panicking with its full output when it fails.
pub fn run_ok(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{what} failed ({}):\n{cmd:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// True when `program` runs (`program --version`, or `program version` as
/// the go tool spells it).
pub fn have(program: &str) -> bool {
    ["--version", "version"].iter().any(|arg| {
        Command::new(program)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Panics, naming the install script, when a required tool is missing.
pub fn require(program: &str) {
    assert!(
        have(program),
        "`{program}` is not installed; run scripts/install-toolchains.sh (it installs \
         valgrind, Go, CMake and Zig) and run the tests again"
    );
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// Fixtures and Python read-back.

pub fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures").join(rel)
}

pub fn sha256(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

pub fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// Runs a Python helper; fails the test (never skips) when Python or the
/// package is missing, naming what to install.
pub fn python_json(script: &str, arg: &Path) -> serde_json::Value {
    let out = Command::new("python3")
        .arg(root().join("tests/py").join(script))
        .arg(arg)
        .output()
        .expect("python3 is required for this test (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "{script} failed on {}: {}\n(install the packages with: pip install safetensors==0.8.0 gguf numpy)",
        arg.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every file name in a directory.
pub fn dir_names(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A tensor of a legacy version-1 file, for `build_v1`.
pub struct V1Tensor<'a> {
    pub name: &'a str,
    pub dtype: u8,
    pub shape: &'a [u32],
    pub data: &'a [u8],
}

/// Builds a v1 file: header, metadata, index at 64 + metadata rounded to 8,
/// data at a 4096 boundary, tensors packed back to back (unaligned).
pub fn build_v1(meta: &str, tensors: &[V1Tensor]) -> Vec<u8> {
    let index = (64 + meta.len()).next_multiple_of(8);
    let data = (index + 48 * tensors.len()).next_multiple_of(4096);
    let mut b = vec![0u8; data];
    b[..8].copy_from_slice(b"TENZOR\0\0");
    b[8..12].copy_from_slice(&1u32.to_le_bytes());
    b[16..20].copy_from_slice(&(tensors.len() as u32).to_le_bytes());
    b[24..32].copy_from_slice(&(index as u64).to_le_bytes());
    b[32..40].copy_from_slice(&(data as u64).to_le_bytes());
    b[40..44].copy_from_slice(&(meta.len() as u32).to_le_bytes());
    b[64..64 + meta.len()].copy_from_slice(meta.as_bytes());
    let mut off = 0u64;
    for (i, t) in tensors.iter().enumerate() {
        let e = index + 48 * i;
        b[e..e + 8].copy_from_slice(&tenzor::hash_name(t.name.as_bytes()).to_le_bytes());
        b[e + 8] = t.dtype;
        b[e + 9] = t.shape.len() as u8;
        for (d, s) in t.shape.iter().enumerate() {
            b[e + 12 + 4 * d..e + 16 + 4 * d].copy_from_slice(&s.to_le_bytes());
        }
        b[e + 32..e + 40].copy_from_slice(&off.to_le_bytes());
        b[e + 40..e + 48].copy_from_slice(&(t.data.len() as u64).to_le_bytes());
        off += t.data.len() as u64;
    }
    for t in tensors {
        b.extend_from_slice(t.data);
    }
    b
}

/// A v1 file of three tensors (u8 [3], f32 [2, 3] unaligned, i64 scalar).
pub fn legacy_sample() -> Vec<u8> {
    let f32s: Vec<u8> = [1.0f32, -2.0, 3.5, 4.25, 5.0, 6.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    build_v1(
        r#"{"producer": "zig tenzor"}"#,
        &[
            V1Tensor {
                name: "bias",
                dtype: 8,
                shape: &[3],
                data: &[7, 8, 9],
            },
            // Starts at data offset 3: not aligned for f32.
            V1Tensor {
                name: "weight",
                dtype: 0,
                shape: &[2, 3],
                data: &f32s,
            },
            V1Tensor {
                name: "steps",
                dtype: 7,
                shape: &[],
                data: &42i64.to_le_bytes(),
            },
        ],
    )
}

/// Compiles the one-file C program `c_tests/<name>.c` into `dir/<name>`,
/// linked against the shared library (found at run time through an rpath).
pub fn build_c_program(dir: &Path, name: &str) -> PathBuf {
    let libs = shared_lib_dir(dir);
    let exe = dir.join(name);
    let mut cc = compiler(false);
    cc.arg(root().join(format!("c_tests/{name}.c")))
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(&libs)
        .arg(format!("-Wl,-rpath,{}", libs.display()))
        .arg("-ltenzor");
    run_ok(&mut cc, &format!("compiling c_tests/{name}.c"));
    exe
}
