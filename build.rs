//! Gives libtenzor.so its soname, puts a soname link beside it in the build
//! tree, and tells the tests which target they run on (the `cc` crate needs
//! the triple to pick a C compiler).

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
        soname_link_in_build_tree(&soname);
    }
    println!("cargo:rustc-env=TENZOR_SONAME={soname}");
}

/// A program linked with `-Ltarget/<profile> -ltenzor` asks the loader for
/// the soname, which cargo never creates: put a `libtenzor.so.0.2` link in
/// `<profile>` so such a program starts (with `LD_LIBRARY_PATH=target/<profile>`
/// or an rpath). Cargo has no post-build step; the link is made before the
/// library exists and resolves once it does. OUT_DIR is
/// `<target-dir>[/<triple>]/<profile>/build/<pkg>-<hash>/out`.
///
/// The link points to `deps/libtenzor.so`, the library the latest cargo
/// command built, not to `<profile>/libtenzor.so`, which only `cargo build`
/// refreshes: cargo puts `<profile>` on the loader path of the programs it
/// runs (tests included), so a link to a stale copy there would shadow the
/// current library for every one of them.
fn soname_link_in_build_tree(soname: &str) {
    let Some(out_dir) = std::env::var_os("OUT_DIR") else {
        return;
    };
    let Some(profile_dir) = std::path::Path::new(&out_dir).ancestors().nth(3) else {
        return;
    };
    if !profile_dir.join("deps").is_dir() {
        return; // not the layout this function knows: leave the tree alone
    }
    let link = profile_dir.join(soname);
    let target = std::path::Path::new("deps/libtenzor.so");
    if std::fs::read_link(&link).is_ok_and(|t| t == target) {
        return;
    }
    let _ = std::fs::remove_file(&link);
    #[cfg(unix)]
    if let Err(e) = std::os::unix::fs::symlink(target, &link) {
        println!("cargo:warning=cannot create {}: {e}", link.display());
    }
}
