#!/usr/bin/env bash
# Build the Python virtual environments the data-tool tests use, from the pinned requirement files:
#   .venv-dbt      python/requirements-dbt.txt      dbt-core, dbt-duckdb, dbt-snowflake, mcp, sqlglot, jsonschema
#   .venv-airflow  python/requirements-airflow.txt  apache-airflow (its pins clash with dbt-core's)
# Usage: scripts/setup-python.sh [dbt] [airflow]   (default: both)
# A venv whose stamp (sha256 of its requirement file and the Python version) matches is left as is,
# so a second run takes a second. PYTHON picks the interpreter (default python3, 3.11 or newer).
# The server itself never needs Python: `npm ci && npm start` runs without these.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "setup-python: $PYTHON is missing or older than 3.11; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

build() {
  local name="$1" requirements="python/requirements-$1.txt" venv=".venv-$1"
  local stamp="$venv/.requirements-stamp" hash started
  hash="$( { cat "$requirements"; "$PYTHON" --version; } | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] && [ -x "$venv/bin/python" ]; then
    echo "setup-python: $venv is up to date ($requirements)"
    return
  fi
  started=$(date +%s)
  echo "setup-python: building $venv from $requirements"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  # Only the pinned set, exactly: --no-deps keeps pip from resolving anything the file does not name,
  # and `pip check` then proves the set is complete and consistent.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements" 2>&1 \
    | { grep -v "^WARNING: Location 'file:" || true; } >&2
  "$venv/bin/python" -m pip check
  echo "$hash" > "$stamp"
  echo "setup-python: $venv built in $(( $(date +%s) - started )) s"
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(dbt airflow)
for t in "${targets[@]}"; do
  case "$t" in
    dbt | airflow) build "$t" ;;
    *) echo "setup-python: unknown venv '$t' (dbt or airflow)" >&2; exit 1 ;;
  esac
done
