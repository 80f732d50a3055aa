#!/usr/bin/env bash
# One command: set everything up and run the whole test suite (PostgreSQL started if it is down).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  if ! (command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432); then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest -q -p no:cacheprovider -n 2 --timeout 600 "$@"
