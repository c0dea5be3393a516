"""The live AWS controls on a moto server of its own (no sandbox): the conforming reference and
each drift of asbuilt_sandbox/drifts.py that changes the AWS estate, provisioned in turn; writes
every control's status, message and the AWS calls per run to OUT.json. Run it before and after a
change to the live steps or the AWS reader and compare the two files (IDs differ run to run):

    ASBUILT_TEST_MOTO_PORT=15210 python benchmarks/live_on_moto.py OUT.json [DRIFT ...]
"""
import json, os, subprocess, sys, tempfile
from collections import Counter
from pathlib import Path
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests import moto_local
from asbuilt_sandbox.drifts import DRIFTS
CONTROLS = ("VER-01","VER-02","VER-03","SIZE-01","SIZE-02","SIZE-03","HA-01","HA-02","HA-03","HA-04","HA-06",
            "NET-01","NET-02","NET-03","NET-06","NET-07","NET-08","IAM-01","IAM-03","IAM-04","IAM-05","S3-01","S3-02","ECR-01")
out_file = sys.argv[1]
only = sys.argv[2:]
cases = [("conforming", {})] + [(d.name, d.aws) for d in DRIFTS if d.aws]
if only: cases = [c for c in cases if c[0] in only]
res = {}
with moto_local.moto_server() as ep, tempfile.TemporaryDirectory() as tmp:
    for name, changes in cases:
        ids = moto_local.provision(ep, **changes)
        t = moto_local.write_target(Path(tmp) / "target.yaml", ep, ids)
        rd = Path(tmp) / name; log = Path(tmp) / f"{name}.jsonl"
        args = [sys.executable, "-m", "asbuilt", "run", "--target", str(t), "--live-only", "--report-dir", str(rd)]
        for c in CONTROLS: args += ["--control", c]
        p = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "ASBUILT_AWS_CALL_LOG": str(log)}, cwd=ROOT, timeout=600)
        r = json.loads((rd / "results.json").read_text())
        calls = Counter(json.loads(l)["op"] for l in log.read_text().splitlines()) if log.exists() else Counter()
        res[name] = {"exit": p.returncode, "calls": sum(calls.values()), "ops": dict(calls),
                     "controls": {c["id"]: {"status": c["status"], "message": c.get("message"), "findings": c.get("findings")} for c in r["controls"]}}
        print(name, p.returncode, sum(calls.values()), {k: v["status"] for k, v in res[name]["controls"].items() if v["status"] != "pass"}, flush=True)
Path(out_file).write_text(json.dumps(res, indent=1, sort_keys=True, default=str))
