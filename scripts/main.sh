#!/usr/bin/env bash
# The main job (the README's first command): bring up the embedded sandbox (a conforming
# reference deployment from real parts) and run the full suite against it, writing reports/.
# Exit code as `asbuilt run` (0 conforming, 1 not conforming, 2 could not be carried out).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/asbuilt sandbox up
exec .venv/bin/asbuilt run --target sandbox --report-dir reports "$@"
