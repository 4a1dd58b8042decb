#!/usr/bin/env bash
# `make run`: build the release site, make sure there is a clinic to read (the demo clinic,
# generated on first run and again each new day, when no clinic is configured), then serve.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/env.sh

cargo leptos build --release --split
nabd="${CARGO_TARGET_DIR:-target}/release/nabd"

configured_in_dotenv() { [ -f .env ] && grep -Eq '^[[:space:]]*NABD_CLINIC_URL=.+' .env; }
if [ -z "${NABD_CLINIC_URL:-}" ] && ! configured_in_dotenv; then
  demo="data/demo-clinic.db"
  # The demo clinic is dated relative to today: regenerate it when it was made on another day.
  if [ ! -f "$demo" ] || [ "$(date -r "$demo" +%F)" != "$(date +%F)" ]; then
    echo "No clinic configured (NABD_CLINIC_URL): generating the demo clinic at $demo"
    "$nabd" demo seed --out "$demo"
  fi
  export NABD_CLINIC_URL="sqlite://$demo"
fi

export NABD_SITE_ROOT="${NABD_SITE_ROOT:-target/site}"
export LEPTOS_ENV="${LEPTOS_ENV:-PROD}"
exec "$nabd" serve
