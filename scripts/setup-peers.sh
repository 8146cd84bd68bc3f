#!/usr/bin/env bash
# Installs the peer tools Qraft is cross-checked against into their own environment, .venv-peers
# (never vendored, never mixed into .venv). Idempotent. Used by `make crosscheck`.
set -euo pipefail
cd "$(dirname "$0")/.."
req=scripts/peers/requirements.txt
stamp=.venv-peers/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x .venv-peers/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup-peers: creating .venv-peers from $req" >&2
  python3 -m venv .venv-peers
  .venv-peers/bin/python -m pip install -q --disable-pip-version-check -r "$req"
  echo "$want" >"$stamp"
fi
# NautilusTrader needs pandas < 3: its own environment, nested in the ignored .venv-peers.
req=scripts/peers/requirements-nautilus.txt
stamp=.venv-peers/nautilus/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x .venv-peers/nautilus/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup-peers: creating .venv-peers/nautilus from $req" >&2
  python3 -m venv .venv-peers/nautilus
  .venv-peers/nautilus/bin/python -m pip install -q --disable-pip-version-check -r "$req"
  echo "$want" >"$stamp"
fi
