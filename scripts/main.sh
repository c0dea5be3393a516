#!/usr/bin/env bash
# The main job (the README's first command): bring up the embedded sandbox (a conforming
# reference deployment of all three profiles' platforms, from real parts) and run the full suite
# against it: conncentric-aws into reports/, conduktor-k8s and composex-ecs into
# reports/<profile>/. Given --profile or --control, it runs just that one run, into reports/.
# Exit code as `asbuilt run` (0 conforming, 1 not conforming, 2 could not be carried out, 3
# drift): the highest of the runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/asbuilt sandbox up
for arg in "$@"; do
  case "$arg" in
    --profile|--profile=*|--control|--control=*)
      exec .venv/bin/asbuilt run --target sandbox --report-dir reports "$@" ;;
  esac
done
status=0
.venv/bin/asbuilt run --target sandbox --report-dir reports "$@" || status=$?
for profile in conduktor-k8s composex-ecs; do
  code=0
  .venv/bin/asbuilt run --target sandbox --profile "$profile" --report-dir "reports/$profile" "$@" || code=$?
  if [ "$code" -gt "$status" ]; then status=$code; fi
done
exit "$status"
