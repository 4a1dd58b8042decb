#!/usr/bin/env bash
# Every check and test Nabd has: formatting, clippy for the server build and for the WASM build
# (never `ssr` and `hydrate` together), unit and integration tests per package, then the
# browser tests in Debian's Chromium against a freshly built server on a loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/env.sh

step() { printf '\n\033[1;36m==> %s\033[0m\n' "$*"; }
target_dir="${CARGO_TARGET_DIR:-target}"

step "cargo fmt --check"
cargo fmt --all --check

step "architecture: no import cycles; capabilities never import the HTTP layer"
scripts/check-architecture.sh

step "clippy: server build (app with ssr)"
cargo clippy -p server --all-targets -- -D warnings

step "clippy: browser build (app with hydrate, wasm32)"
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "tests: app (ssr)"
cargo test -p app --features ssr

step "tests: server (app database on SQLite)"
cargo test -p server

step "tests: the outbox, messaging, campaign, conversations and admin suites again, app database on PostgreSQL"
# One test at a time: the suites share one throwaway PostgreSQL server per binary.
NABD_TEST_BACKEND=postgres cargo test -p server --test outbox --test messaging --test campaign \
  --test conversations --test admin -- --test-threads=1

step "deployment files: systemd-analyze verify, the container file, the proxy examples"
scripts/verify-deploy.sh "$target_dir/debug/nabd"

step "build the site (cargo leptos build --split)"
cargo leptos build --split

step "browser tests"
work="$(mktemp -d)"
port="${NABD_E2E_PORT:-3107}"
server_log="$work/server.log"
# A small demo clinic with Nabd's clock fixed at noon on its "today", so every figure is known.
e2e_now="2026-01-05T12:00"
"$target_dir/debug/nabd" demo seed --out "$work/clinic.db" --patients 800 --seed 11 \
  --today "${e2e_now%T*}" --now "$e2e_now"
# The admin user the browser tests sign in as (the password on standard input, as a script
# would give it).
printf 'e2e password 2026\n' | NABD_DATABASE_URL="sqlite://$work/nabd.db" \
  "$target_dir/debug/nabd" admin create-user e2e-admin >/dev/null
# The day's same-day reminders, queued before the server starts; it sends them (log provider)
# as it comes up, and the inbox tests answer them through the whatsapp-web bridge endpoint.
NABD_DATABASE_URL="sqlite://$work/nabd.db" NABD_CLINIC_URL="sqlite://$work/clinic.db" \
NABD_NOW="$e2e_now" NABD_STAGGER_SECONDS=0-0 \
  "$target_dir/debug/nabd" reminders send --touch same_day >/dev/null
# Broadcasts go out a second or two apart, so the browser sees them all sent.
NABD_ADDR="127.0.0.1:$port" \
NABD_WHATSAPP_WEB_SECRET="e2e-bridge-secret" \
NABD_DATABASE_URL="sqlite://$work/nabd.db" \
NABD_CLINIC_URL="sqlite://$work/clinic.db" \
NABD_NOW="$e2e_now" \
NABD_DASHBOARD_TTL_SECS=0 \
NABD_DASHBOARD_REFRESH_SECS=2 \
NABD_BROADCAST_STAGGER_SECONDS=0-2 \
NABD_SITE_ROOT="target/site" \
  "$target_dir/debug/nabd" serve >"$server_log" 2>&1 &
server_pid=$!
cleanup() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}
trap cleanup EXIT

for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "the server exited before answering; its log:" >&2
    cat "$server_log" >&2
    exit 1
  fi
  sleep 0.5
done

if ! (cd end2end && NABD_E2E_URL="http://127.0.0.1:$port" npx playwright test); then
  echo "browser tests failed; the server's log:" >&2
  tail -n 100 "$server_log" >&2
  exit 1
fi
