#!/usr/bin/env bash
# The project's tests, set-up included (the README's second command; .ci/run calls it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# pytest exits 5 when it collects no test: that is a failure here, not a pass.
exec .venv/bin/python -m pytest "$@"
