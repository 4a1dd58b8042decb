#!/usr/bin/env bash
# Checks the deployment files in deploy/: the systemd unit passes `systemd-analyze verify`
# (with its ExecStart pointed at the binary just built, since /opt/nabd does not exist here),
# its stop timeout outlasts Nabd's drain, and the container file builds with the toolchain and
# scripts the project pins. The container itself cannot be built here (no container runtime).
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:?usage: scripts/verify-deploy.sh path/to/nabd}"
binary="$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sed "s#/opt/nabd/nabd#$binary#" deploy/nabd.service >"$work/nabd.service"
systemd-analyze verify "$work/nabd.service"
echo "deploy/nabd.service: systemd-analyze verify passed"

# Requests drain for up to 30 s, then jobs for up to 20 s (web::serve, jobs::run).
stop="$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s\{0,1\}$/\1/p' deploy/nabd.service)"
if [ -z "$stop" ] || [ "$stop" -le 50 ]; then
  echo "deploy/nabd.service: TimeoutStopSec=${stop:-unset} must exceed the 50 s drain" >&2
  exit 1
fi
for needed in 'User=nabd' 'EnvironmentFile=' 'Restart=on-failure' 'StateDirectory=nabd' \
  'NoNewPrivileges=yes' 'ProtectSystem=strict'; do
  grep -q "^$needed" deploy/nabd.service || { echo "deploy/nabd.service lacks $needed" >&2; exit 1; }
done

rust="$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)"
grep -q "^FROM rust:$rust-" deploy/Containerfile ||
  { echo "deploy/Containerfile must build with rust $rust (Cargo.toml's rust-version)" >&2; exit 1; }
grep -q '^RUN .ci/setup.sh run' deploy/Containerfile ||
  { echo "deploy/Containerfile must install its tools with .ci/setup.sh" >&2; exit 1; }
grep -A1 '^HEALTHCHECK' deploy/Containerfile | grep -q '/healthz' ||
  { echo "deploy/Containerfile needs a health check on /healthz" >&2; exit 1; }
for proxy in deploy/Caddyfile deploy/nginx.conf; do
  grep -q '/metrics' "$proxy" || { echo "$proxy must keep /metrics unforwarded" >&2; exit 1; }
done
echo "deploy/: the unit, the container file and the proxy examples are consistent"
