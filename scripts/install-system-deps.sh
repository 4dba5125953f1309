#!/usr/bin/env bash
# Install the system packages the test suite drives for real: Debian's Chromium (browser
# tests), PostgreSQL (storage tests), LibreOffice Writer and Calc (Word files open and
# convert; CSV exports read as a spreadsheet would), and
# Node.js with npm for JupyterHub's proxy. Runs apt-get only as root and only for what is
# missing; otherwise it says what is missing and the tests that need it are skipped
# (or fail, under CI=true).
#
# Then configurable-http-proxy (JupyterHub's proxy, an npm package) goes into a cache folder
# of this user, not into the repository: $CHP_DIR/node_modules/.bin/configurable-http-proxy,
# where tests/browser/test_hub.py finds it. Skipped when it is already there or on PATH.
set -euo pipefail

CHP_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/coprod_nb/chp"
CHP_VERSION="^5"

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
command -v libreoffice >/dev/null 2>&1 || need+=(libreoffice-writer fonts-dejavu-core)
# Calc reads the CSV exports as a spreadsheet would (tests/test_bad_outputs.py).
dpkg-query -W -f='${Status}' libreoffice-calc 2>/dev/null | grep -q "ok installed" \
  || need+=(libreoffice-calc)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${need[*]} (install them with apt-get as root)" >&2
  else
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
  fi
fi

# JupyterHub's proxy, for the JupyterHub browser test (a user-level install: no root needed).
if ! command -v configurable-http-proxy >/dev/null 2>&1 \
  && [ ! -x "$CHP_DIR/node_modules/.bin/configurable-http-proxy" ]; then
  if command -v npm >/dev/null 2>&1; then
    mkdir -p "$CHP_DIR"
    npm install --prefix "$CHP_DIR" --no-audit --no-fund --silent \
      "configurable-http-proxy@$CHP_VERSION" >/dev/null
    echo "installed: configurable-http-proxy in $CHP_DIR"
  else
    echo "missing: npm, so configurable-http-proxy is not installed" >&2
  fi
fi
