#!/bin/bash
# Regenerates tests/composex/fixtures/rendered-dev/ with the real ComposeX (ecs-composex 1.1.9),
# offline: in a fresh network namespace with only loopback (unshare -rn), against a private
# moto server provisioned with asbuilt_sandbox.composex_reference. Not run by the tests.
#   python3 -m venv /tmp/ecx && /tmp/ecx/bin/pip install ecs-composex==1.1.9
#   ECX_PYTHON=/tmp/ecx/bin/python unshare -rn bash tests/composex/render.sh
# Two changes ComposeX needs to run against moto (see tests/composex/test_rendered.py):
# x-cluster is dropped (its Lookup uses the Cloud Control API, which moto answers with a 500) and
# CloudFormation ValidateTemplate is skipped (moto's rejects a cfn-lint warning, W3005).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
ECX_PYTHON="${ECX_PYTHON:?set ECX_PYTHON to a Python with ecs-composex installed}"
WORK="$(mktemp -d)"
ip link set lo up
"$ROOT/.venv/bin/python" -m moto.server -H 127.0.0.1 -p 15170 >"$WORK/moto.log" 2>&1 &
MOTO=$!
trap 'kill $MOTO; rm -rf "$WORK"' EXIT
sleep 4
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:15170 AWS_ACCOUNT_ID=123456789012 CLUSTER_ID=sandbox ENV_NAME=dev
(cd "$ROOT" && .venv/bin/python -c "from asbuilt_sandbox import composex_reference as cx; cx.provision('$AWS_ENDPOINT_URL')")
cp -r "$ROOT/examples/reference/composex" "$WORK/proj"
sed -i '/^x-cluster:/,+1d' "$WORK/proj/envs/dev.yml"
cd "$WORK/proj"
"$ECX_PYTHON" "$ROOT/tests/composex/render_novalidate.py" render -n composex-reference-dev \
  -f docker-compose.yml -f envs/dev.yml -d "$WORK/out" --format yaml
cp "$WORK/out/connect.yaml" "$WORK/out/controlcenter.yaml" "$ROOT/tests/composex/fixtures/rendered-dev/"
