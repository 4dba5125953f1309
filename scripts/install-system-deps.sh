#!/usr/bin/env bash
# Install the system packages the test suite drives for real: Debian's Chromium (browser
# tests), PostgreSQL (storage tests) and LibreOffice Writer (Word files open and convert). Runs apt-get only as root and only for what is
# missing; otherwise it says what is missing and the tests that need it are skipped
# (or fail, under CI=true).
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
command -v libreoffice >/dev/null 2>&1 || need+=(libreoffice-writer fonts-dejavu-core)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${need[*]} (install them with apt-get as root)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts a cluster on install; the tests start their own throwaway server.
if command -v pg_ctlcluster >/dev/null 2>&1; then
  for c in /etc/postgresql/*/main; do
    [ -d "$c" ] || continue
    v=$(basename "$(dirname "$c")")
    pg_ctlcluster "$v" main stop >/dev/null 2>&1 || true
  done
fi
echo "installed: ${need[*]}"
