#!/usr/bin/env bash
# The main job (the README's first command): the full suite against the embedded sandbox,
# writing the reports to reports/. Exit code as `asbuilt run` (0 conforming, 1, 2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/asbuilt run --target examples/targets/reference-static.yaml --report-dir reports "$@"
