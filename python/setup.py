"""Builds libtenzor with cargo and bundles it inside the ``tenzor`` package.

``pip install ./python`` (from the repository root) runs this with the
source tree in place (pip builds in-tree), so the crate is found one
directory up, whatever temporary environment build isolation uses.
``TENZOR_CRATE_DIR`` names another checkout; ``CARGO`` another cargo;
``TENZOR_CARGO_PROFILE`` another cargo profile (default release); cargo's
own ``CARGO_TARGET_DIR`` is honoured (the library's path comes from cargo's
JSON messages, not from a guess).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1 without build isolation
    try:
        from wheel.bdist_wheel import bdist_wheel
    except ImportError:
        bdist_wheel = None

HERE = Path(__file__).resolve().parent
LIB_NAMES = {"linux": "libtenzor.so", "darwin": "libtenzor.dylib", "win32": "tenzor.dll"}


def lib_name() -> str:
    for prefix, name in LIB_NAMES.items():
        if sys.platform.startswith(prefix):
            return name
    return "libtenzor.so"


def crate_dir() -> Path:
    d = Path(os.environ.get("TENZOR_CRATE_DIR", HERE.parent)).resolve()
    if not (d / "Cargo.toml").is_file() or not (d / "src" / "ffi").is_dir():
        raise SystemExit(
            f"tenzor: no tenzor crate at {d} (looked for Cargo.toml and src/ffi). Install "
            "from a checkout with `pip install ./python`, or set TENZOR_CRATE_DIR to one."
        )
    return d


def cargo_build() -> Path:
    """Runs cargo build --release --lib; returns the shared library's path."""
    cargo = os.environ.get("CARGO", "cargo")
    # TENZOR_CARGO_PROFILE=dev lets the test script reuse what `cargo test`
    # already built; users get the release build.
    profile = os.environ.get("TENZOR_CARGO_PROFILE", "release")
    cmd = [cargo, "build", "--profile", profile, "--lib", "--message-format=json-render-diagnostics"]
    crate = crate_dir()
    print(f"tenzor: {' '.join(cmd)} (in {crate})", file=sys.stderr)
    try:
        out = subprocess.run(cmd, cwd=crate, check=True, stdout=subprocess.PIPE, text=True).stdout
    except FileNotFoundError:
        raise SystemExit("tenzor: cargo not found: install a Rust toolchain (https://rustup.rs)")
    except subprocess.CalledProcessError as e:
        raise SystemExit(f"tenzor: cargo build failed (exit status {e.returncode})")
    want = lib_name()
    for line in out.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "tenzor":
            for f in msg.get("filenames", []):
                if Path(f).name == want:
                    return Path(f)
    raise SystemExit(f"tenzor: cargo did not report building {want}")


class BuildPyWithLibrary(build_py):
    """build_py, then cargo: the library lands in build/lib/tenzor/."""

    def run(self):
        super().run()
        built = cargo_build()
        dest = Path(self.build_lib) / "tenzor" / lib_name()
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, dest)
        os.chmod(dest, 0o755)


cmdclass = {"build_py": BuildPyWithLibrary}
if bdist_wheel is not None:

    class PlatformWheel(bdist_wheel):
        """The wheel carries a native library: platform-specific, but any
        Python 3 (ctypes, no extension module)."""

        def finalize_options(self):
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self):
            _, _, plat = super().get_tag()
            return "py3", "none", plat

    cmdclass["bdist_wheel"] = PlatformWheel

setup(cmdclass=cmdclass)
