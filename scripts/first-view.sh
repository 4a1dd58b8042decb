#!/usr/bin/env bash
# What a phone downloads for the first view of the dashboard, compressed as served.
#
#   scripts/first-view.sh [base URL] [page]
#
# Against a running Nabd (default http://127.0.0.1:3000, page /en/clinic-dashboard): fetches the
# page with `Accept-Encoding: br, gzip` as a browser would, then every stylesheet, script,
# module preload and WASM file the page's HTML asks for, and prints each one's size on the wire
# (and raw), the total, and the total against the 450 KB budget (1 KB = 1,000 bytes).
# Serve a release build for meaningful figures: `make run`, or
# `cargo leptos build --release --split` and `target/release/nabd serve`.
set -euo pipefail
base="${1:-http://127.0.0.1:3000}"
page="${2:-/en/clinic-dashboard}"
budget=450000

wire() { curl -fsS -H 'Accept-Encoding: br, gzip' -o /dev/null -w '%{size_download} %header{content-encoding}\n' "$1"; }
raw() { curl -fsS -o /dev/null -w '%{size_download}' "$1"; }

html="$(curl -fsS "$base$page")"
# Every same-origin resource the first view fetches: stylesheets, scripts, preloads, WASM, the
# icon, and the modules those scripts import.
mapfile -t resources < <(
  {
    printf '%s' "$html" |
      grep -oE '(href|src)="/[^"]+\.(css|js|wasm|svg)"' |
      sed -E 's/^(href|src)="//; s/"$//'
    printf '%s' "$html" | grep -oE '(href|src)="/[^"]+\.js"' | sed -E 's/^(href|src)="//; s/"$//' |
      while read -r script; do
        curl -fsS "$base$script" | grep -oE 'from ?"\./[^"]+\.js"' |
          sed -E 's/^from ?"\.\///; s/"$//' | sed "s|^|${script%/*}/|"  || true
      done
  } | awk '!seen[$0]++'
)

total=0
printf '%-58s %10s %10s %s\n' "resource" "on wire" "raw" "encoding"
for path in "$page" "${resources[@]}"; do
  read -r size encoding < <(wire "$base$path")
  printf '%-58s %10d %10d %s\n' "$path" "$size" "$(raw "$base$path")" "${encoding:-identity}"
  total=$((total + size))
done
printf '%-58s %10d\n' "total" "$total"
if [ "$total" -le "$budget" ]; then
  echo "within the budget of $budget bytes ($((budget - total)) to spare)"
else
  echo "OVER the budget of $budget bytes by $((total - budget))"
  exit 1
fi
