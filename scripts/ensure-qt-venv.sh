#!/usr/bin/env bash
# Makes the virtualenv with real Qt (PySide6's pyside6-essentials: QtCore and QtNetwork) that the
# differential suite (packages/sdk/test/differential) compares the SDK with, under .cache/qt-venv
# (gitignored); reuses it when it is there with the right version. Prints the venv's python.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.cache/qt-venv
version=6.11.2
python="$PWD/$venv/bin/python"
if ! "$python" -c "import sys, PySide6; sys.exit(PySide6.__version__ != '$version')" >/dev/null 2>&1; then
  echo "making $venv with pyside6-essentials==$version" >&2
  rm -rf "$venv"
  mkdir -p .cache
  python3 -m venv "$venv"
  # The machines' pip is configured with local indexes beside the default one, which may be
  # unreachable: no retries against it.
  "$venv/bin/pip" install --quiet --retries 0 --timeout 15 "pyside6-essentials==$version" >&2
  "$python" -c "from PySide6 import QtNetwork" >&2
fi
echo "$python"
