#!/usr/bin/env bash
# Installs every tool Nabd needs, from package registries only (crates.io, npm, Debian), and
# only what is missing, so a second run takes seconds.
#
#   .ci/setup.sh run    tools to build and serve Nabd
#   .ci/setup.sh test   the same, plus what the tests need (Chromium)
#
# cargo-leptos would otherwise download wasm-bindgen, wasm-opt, sass and tailwind from
# GitHub; with the right versions already on PATH it never does.
set -euo pipefail
cd "$(dirname "$0")/.."
purpose="${1:-run}"

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130 # must equal the `wasm-bindgen = "=..."` pin in Cargo.toml

say() { printf '\033[1;36m[setup]\033[0m %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
for component in clippy rustfmt; do
  if ! rustup component list --installed | grep -q "^$component"; then
    say "adding $component"
    rustup component add "$component"
  fi
done

if ! cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION"; then
  # 0.3.11 does not build on Rust 1.95; 0.3.10 needs its own lock file. This takes ~25 min once.
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (one time, about 25 minutes on 2 cores)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
  # Not --locked: its lock file pins a webpki-roots release the registry no longer serves.
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (one time, about 4 minutes)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# npm tools: ECharts (bundled with esbuild and served from our own origin), binaryen's
# wasm-opt, Playwright (no browser download: the tests drive Debian's Chromium).
if [ ! -f end2end/node_modules/.package-lock.json ] ||
   [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  say "installing npm tools (echarts, esbuild, binaryen, playwright)"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

mkdir -p public/assets/vendor
bundle=public/assets/vendor/echarts.min.js
if [ ! -f "$bundle" ] || [ end2end/echarts-nabd.js -nt "$bundle" ] ||
   [ end2end/package-lock.json -nt "$bundle" ]; then
  say "bundling the ECharts parts the dashboard uses into $bundle"
  (cd end2end && npx esbuild echarts-nabd.js --bundle --minify --format=iife --target=es2019 \
    --log-level=warning --outfile="../$bundle")
fi

if [ "$purpose" = "test" ] && [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's chromium for the browser tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

if [ "$purpose" = "test" ] && ! python3 -c "import phonenumbers" 2>/dev/null; then
  # libphonenumber's Python port: the phone-number differential test compares against it.
  say "installing phonenumbers (PyPI) for the phone-number differential test"
  python3 -m pip install --quiet phonenumbers==8.13.55 2>/dev/null ||
    python3 -m pip install --quiet --break-system-packages phonenumbers==8.13.55 || {
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-phonenumbers
    }
fi

if [ "$purpose" = "test" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  # The PostgreSQL suites start a throwaway server of their own (initdb and pg_ctl as the
  # `postgres` user); the package's own cluster is not used.
  say "installing Debian's postgresql for the PostgreSQL suites"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
fi

if [ "$purpose" = "test" ] && ! command -v systemd-analyze >/dev/null 2>&1; then
  # The deployment check verifies deploy/nabd.service with systemd's own analyser.
  say "installing systemd (systemd-analyze) for the deployment check"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd
fi

say "tools ready"
