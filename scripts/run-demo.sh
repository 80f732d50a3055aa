#!/usr/bin/env bash
# One command: set everything up, build a demo clinic (first time only) and start the application.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
DATA="${PMS_DEMO_DIR:-$PWD/demo-data}"
PATIENTS="${PMS_DEMO_PATIENTS:-5000}"

if ! .venv/bin/python -c 'import sys, keyring; b = type(keyring.get_keyring()).__module__; sys.exit("fail" in b or "null" in b)'; then
  echo "NOTE: this computer has no OS keyring (no desktop session?). For this DEMO ONLY the database" >&2
  echo "      key is kept in a plaintext file keyring under $DATA-keyring. Real clinics use the OS keyring." >&2
  export PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring
  export XDG_DATA_HOME="$DATA-keyring"
fi

if [ ! -f "$DATA/clinic.db" ]; then
  echo "Building a demo clinic with $PATIENTS patients in $DATA ..." >&2
  .venv/bin/pms-desktop demo --data-dir "$DATA" --patients "$PATIENTS" > "$DATA.logins.txt"
fi
echo "Demo sign-ins (user, password, TOTP secret for an authenticator app) are in $DATA.logins.txt:" >&2
grep '^sign-in' "$DATA.logins.txt" >&2 || true

if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "$(uname)" = "Linux" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
  echo "No display found: starting under a virtual X server (xvfb-run)." >&2
  exec xvfb-run -a .venv/bin/pms-desktop --data-dir "$DATA"
fi
exec .venv/bin/pms-desktop --data-dir "$DATA"
