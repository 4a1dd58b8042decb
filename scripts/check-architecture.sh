#!/usr/bin/env bash
# The two rules of ARCHITECTURE.md that a machine can check, run by .ci/test.sh:
#   1. no import cycle between modules (scripts/module-cycles.py);
#   2. the capabilities (and what they stand on) never import axum, the web state, the web
#      layer or app's port traits: only server/src/web and server/src/cli do.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 scripts/module-cycles.py server/src app/src
capabilities=(server/src/{admin,campaign,config,dashboard,gateway,messaging,platform,demo,jobs} server/src/check.rs)
if grep -rnE '\baxum\b|AppState|crate::web\b|::source::|app::port::' "${capabilities[@]}"; then
  echo "a capability reaches into the HTTP layer (lines above); see ARCHITECTURE.md" >&2
  exit 1
fi
echo "the capabilities import nothing of the HTTP layer"
