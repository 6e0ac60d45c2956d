#!/usr/bin/env bash
# The Python package (python/): installs it the way a user does, with
# `pip install ./python` (build isolation on, so the package's own build
# finds the crate), into a venv under target/ that also sees the system's
# numpy, ml_dtypes, torch and safetensors; then runs its pytest suite from
# outside the source tree (so the installed copy, with its bundled
# libtenzor, is what gets imported).
#
# Budget: about a minute after `cargo test` (the venv, the install, ~1 minute
# of tests). TENZOR_CARGO_PROFILE defaults to dev here so the install reuses
# the library `cargo test` already built instead of a ~2-minute release
# build; set TENZOR_CARGO_PROFILE=release to test the release build users get.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$PWD/target/python-venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv --system-site-packages "$venv"
fi
TENZOR_CARGO_PROFILE="${TENZOR_CARGO_PROFILE:-dev}" \
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps ./python
cd target
"$venv/bin/python" -m pytest -q -p no:cacheprovider ../python/tests "$@"
