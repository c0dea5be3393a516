#!/usr/bin/env bash
# The project's tests, set-up included (the README's second command; .ci/run calls it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# pytest exits 5 when it collects no test: that is a failure here, not a pass.
# Two workers (pytest-xdist): the sandbox tests share one worker and the one sandbox (they are
# grouped in tests/conftest.py); the rest run beside them. ASBUILT_TEST_WORKERS=0 runs serially.
workers="${ASBUILT_TEST_WORKERS:-2}"
if [ "$workers" = "0" ]; then
  exec .venv/bin/python -m pytest "$@"
fi
exec .venv/bin/python -m pytest -n "$workers" --dist loadgroup "$@"
