#!/usr/bin/env bash
# Installs what Qraft needs on Debian 12 and is missing: Debian packages (C++ toolchain and
# libraries; headless Chromium and a fixed font for the report rendering test) and the project's
# Python environment `.venv` (pyarrow supplies Arrow/Parquet C++).
# Idempotent: a second run installs nothing. Works as root or through sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates tzdata
  python3 python3-venv python3-pip
  libssl-dev zlib1g-dev libzstd-dev libzip-dev libxxhash-dev
  libtbb-dev libfmt-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
  libhowardhinnant-date-dev libfast-float-dev libsqlite3-dev
  libboost-math-dev   # normal and t quantiles for the robust statistics
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-format clang-tidy
  chromium fonts-dejavu-core   # headless rendering check of `qraft report` (tests/integration)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The venv is rebuilt when requirements.txt changes (its hash is the stamp).
req=scripts/requirements.txt
stamp=.venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating .venv from $req" >&2
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
  # The wheel ships versioned libraries only (libarrow.so.NNNN); the linker wants libarrow.so.
  .venv/bin/python -c "import pyarrow; pyarrow.create_library_symlinks()"
  echo "$want" >"$stamp"
fi
