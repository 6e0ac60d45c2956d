//! Gives libtenzor.so its soname and tells the tests which target they run
//! on (the `cc` crate needs the triple to pick a C compiler).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").expect("cargo sets TARGET");
    println!("cargo:rustc-env=TENZOR_BUILD_TARGET={target}");

    // ABI policy (docs/C_API.md): before 1.0 every minor release may break
    // the ABI, so the soname carries MAJOR.MINOR; from 1.0 on, MAJOR alone.
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets the version");
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").expect("cargo sets the version");
    let soname = if major == "0" {
        format!("libtenzor.so.0.{minor}")
    } else {
        format!("libtenzor.so.{major}")
    };
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(
        os.as_str(),
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" | "illumos"
    ) {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    }
    println!("cargo:rustc-env=TENZOR_SONAME={soname}");
}
