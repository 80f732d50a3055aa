#!/usr/bin/env bash
# Set up everything the application and its tests need on a fresh machine (idempotent):
# the system libraries Qt needs (Debian/Ubuntu, when we may install them), a virtualenv in .venv
# and the project with its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

QT_DEBS="libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0
 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-render-util0 libxcb-image0
 libxcb-xinerama0 libxcb-randr0 libx11-xcb1 fonts-dejavu-core poppler-utils xvfb xauth"

missing_debs() {
  command -v dpkg-query >/dev/null 2>&1 || return 0
  local m=""
  for p in $QT_DEBS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || m="$m $p"
  done
  echo "$m"
}

if command -v apt-get >/dev/null 2>&1; then
  todo="$(missing_debs)"
  if [ -n "${todo// /}" ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
    if [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; then
      echo "bootstrap: installing system packages:$todo" >&2
      $SUDO apt-get update -qq >/dev/null
      # shellcheck disable=SC2086
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $todo >/dev/null
    else
      echo "bootstrap: please install:$todo" >&2
    fi
  fi
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".[dev]"
  touch .venv/.installed
fi
