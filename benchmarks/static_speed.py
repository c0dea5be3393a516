"""How fast `asbuilt static` is, against checkov alone running the same custom checks.

    python benchmarks/static_speed.py [--repeat 5] [--copies 1 10 100] [--corpus 1 10 100] [--json out.json]

1. **Reference set** (examples/reference: Terraform, CloudFormation YAML + JSON, the chart with
   values/production.yaml): `asbuilt static` against `checkov -d ... --external-checks-dir
   checks/...` with the same ``ASB_*`` checks, both as the command a user runs (a fresh process
   each time), interleaved in the same run; the median of --repeat runs each. checkov alone gets
   the chart already rendered (it has no way to take --values), so the rendering is counted as
   asbuilt's overhead. The ratio asbuilt / checkov is the cost of asbuilt's own work: discovery,
   helm, the whole-set models, the per-control judgement, the reports.
2. **Scale**: a folder with 1, 10 and 100 copies of the reference Terraform (each its own root
   module), scanned by both. Linear growth means the time per copy stays flat: the script prints
   (t(N) - t(1)) / (N - 1) for each N.
3. **Corpus** (benchmarks/corpus.py): N roots written as module ecosystems write them (a local
   module with null defaults, coalesce/try, for_each subnets keyed by zone, count = 0, a dynamic
   ingress), scanned by both; the goal is asbuilt within 1.1x of checkov's runners with the same
   checks, and linear.

The machine's load matters (2 shared cores here): run it on an otherwise idle machine for
figures to quote, and compare ratios rather than absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REF = ROOT / "examples" / "reference"
PY = sys.executable
BIN = Path(PY).parent


def _ids() -> str:
    sys.path.insert(0, str(ROOT))
    from asbuilt.static.checkbase import check_id, declared_controls

    return ",".join(sorted(check_id(c) for c in declared_controls()))


def _time(argv: list[str], ok: tuple[int, ...] = (0, 1)) -> float:
    started = time.perf_counter()
    res = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    took = time.perf_counter() - started
    if res.returncode not in ok:
        raise SystemExit(f"{' '.join(argv[:4])}... exited {res.returncode}: {res.stderr.strip()[-400:]}")
    return took


def _checkov(dirs: list[Path], frameworks: list[str], ids: str) -> list[str]:
    argv = [str(BIN / "checkov")]
    for d in dirs:
        argv += ["-d", str(d)]
    argv += ["--framework", *frameworks, "--check", ids, "--skip-download", "--quiet", "--compact", "-o", "json"]
    for sub in ("aws", "kubernetes"):
        argv += ["--external-checks-dir", str(ROOT / "checks" / sub)]
    return argv


_RUNNERS = """
import os, sys
os.environ.setdefault("CHECKOV_PARALLELIZATION_TYPE", "none")
os.environ.setdefault("BC_SKIP_MAPPING", "TRUE")
from checkov.runner_filter import RunnerFilter
from checkov.terraform.runner import Runner as Tf
from checkov.cloudformation.runner import Runner as Cfn
from checkov.kubernetes.runner import Runner as K8s
checks = [os.path.join(sys.argv[1], d) for d in ("aws", "kubernetes")]
ids = sys.argv[2].split(",")
for spec in sys.argv[3:]:
    fw, path = spec.split("=", 1)
    runner = {"terraform": Tf, "cloudformation": Cfn, "kubernetes": K8s}[fw]()
    runner.run(root_folder=path, external_checks_dir=checks,
               runner_filter=RunnerFilter(framework=[fw], checks=ids, show_progress_bar=False))
"""


def _runners(specs: list[tuple[str, Path]], ids: str, script: Path) -> list[str]:
    """checkov's runners in-process (no CLI, no asbuilt): the engine floor."""
    script.write_text(_RUNNERS)
    return [PY, str(script), str(ROOT / "checks"), ids, *(f"{fw}={p}" for fw, p in specs)]


def _asbuilt(paths: list[Path], values: list[Path], reports: Path) -> list[str]:
    argv = [PY, "-m", "asbuilt", "static", *map(str, paths), "--report-dir", str(reports)]
    for v in values:
        argv += ["--values", str(v)]
    return argv


def _render(dst: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from asbuilt.tools import helm_binary, helm_env

    dst.mkdir(parents=True, exist_ok=True)
    out = subprocess.run([str(helm_binary()), "template", "conncentric", str(REF / "chart" / "conncentric"), "-n",
                          "conncentric", "--values", str(REF / "values" / "production.yaml")],
                         capture_output=True, text=True, check=True, env=helm_env(dst.parent / ".helm"))
    (dst / "conncentric.yaml").write_text(out.stdout)
    return dst


def _pair(a: list[str], b: list[str], repeat: int) -> tuple[list[float], list[float]]:
    ta, tb = [], []
    for i in range(repeat):
        if i % 2:
            tb.append(_time(b))
            ta.append(_time(a))
        else:
            ta.append(_time(a))
            tb.append(_time(b))
    return ta, tb


def _corpus(tmp: Path, sizes: list[int], repeat: int, ids: str) -> list[dict]:
    sys.path.insert(0, str(ROOT))
    from benchmarks.corpus import write_corpus

    rows = []
    for n in sizes:
        root = write_corpus(tmp / f"corpus-{n}", n)
        argvs = {"asbuilt": _asbuilt([root], [], tmp / f"rc{n}"),
                 "runners": _runners([("terraform", root)], ids, tmp / "runners.py")}
        runs: dict[str, list[float]] = {k: [] for k in argvs}
        for i in range(repeat):  # interleaved, alternating the order
            for name in (list(argvs) if i % 2 == 0 else list(reversed(argvs))):
                runs[name].append(_time(argvs[name], ok=(0, 1, 2)))
        row = {"roots": n, **{f"{k}_median_s": round(statistics.median(v), 3) for k, v in runs.items()}}
        row["ratio_vs_runners"] = round(row["asbuilt_median_s"] / row["runners_median_s"], 3)
        rows.append(row)
        print(f"{n:>4} corpus roots: asbuilt {row['asbuilt_median_s']:.2f} s, checkov runners "
              f"{row['runners_median_s']:.2f} s (ratio {row['ratio_vs_runners']:.2f})")
        shutil.rmtree(root)
    base = rows[0]
    for row in rows[1:]:
        k = row["roots"] - base["roots"]
        for name in ("asbuilt", "runners"):
            row[f"{name}_per_root_ms"] = round((row[f"{name}_median_s"] - base[f"{name}_median_s"]) / k * 1000)
        print(f"  {row['roots']:>4} roots, per extra root: asbuilt {row['asbuilt_per_root_ms']} ms, checkov runners "
              f"{row['runners_per_root_ms']} ms")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--copies", type=int, nargs="+", default=[1, 10, 100])
    ap.add_argument("--corpus", type=int, nargs="*", default=[1, 10, 100],
                    help="sizes of the module-style corpus (none: skip it)")
    ap.add_argument("--only-corpus", action="store_true", help="skip the reference set and the copies")
    ap.add_argument("--scale-repeat", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    ids = _ids()
    env_note = {"cpus": os.cpu_count(), "load": os.getloadavg()[0], "python": sys.version.split()[0]}
    out: dict = {"environment": env_note}
    with tempfile.TemporaryDirectory(prefix="asbuilt-bench-") as tmp_:
        tmp = Path(tmp_)
        # warm-up: byte-compile, page cache
        _time(_asbuilt([REF / "terraform"], [], tmp / "warm"))
        _time(_checkov([REF / "terraform"], ["terraform"], ids))
        if args.corpus:
            out["corpus"] = _corpus(tmp, args.corpus, args.scale_repeat, ids)
        if args.only_corpus:
            if args.json:
                args.json.write_text(json.dumps(out, indent=2) + "\n")
            return 0
        rendered = _render(tmp / "rendered")

        a = _asbuilt([REF / "terraform", REF / "cloudformation", REF / "chart" / "conncentric"],
                     [REF / "values" / "production.yaml"], tmp / "reports")
        b = _checkov([REF / "terraform", REF / "cloudformation", rendered],
                     ["terraform", "cloudformation", "kubernetes"], ids)
        c = _runners([("terraform", REF / "terraform"), ("cloudformation", REF / "cloudformation"),
                      ("kubernetes", rendered)], ids, tmp / "runners.py")
        ta, tb, tc = [], [], []
        for i in range(args.repeat):  # interleaved, rotating the order
            order = [(a, ta), (b, tb), (c, tc)]
            for argv, acc in order[i % 3:] + order[:i % 3]:
                acc.append(_time(argv))
        ma, mb, mc = statistics.median(ta), statistics.median(tb), statistics.median(tc)
        out["reference"] = {"asbuilt_s": ta, "checkov_cli_s": tb, "checkov_runners_s": tc,
                            "asbuilt_median_s": round(ma, 3), "checkov_cli_median_s": round(mb, 3),
                            "checkov_runners_median_s": round(mc, 3),
                            "ratio_vs_cli": round(ma / mb, 3), "ratio_vs_runners": round(ma / mc, 3)}
        print(f"reference set (median of {args.repeat}): asbuilt {ma:.2f} s; checkov CLI with the same checks "
              f"{mb:.2f} s (ratio {ma / mb:.2f}, {(ma / mb - 1) * 100:+.0f} %); checkov runners in-process "
              f"{mc:.2f} s (ratio {ma / mc:.2f}, {(ma / mc - 1) * 100:+.0f} %)")

        scale = []
        for n in args.copies:
            root = tmp / f"copies-{n}"
            for i in range(n):
                shutil.copytree(REF / "terraform", root / f"stack-{i:03d}")
            runs: dict[str, list[float]] = {"asbuilt": [], "checkov": [], "runners": []}
            argvs = {"asbuilt": _asbuilt([root], [], tmp / f"r{n}"), "checkov": _checkov([root], ["terraform"], ids),
                     "runners": _runners([("terraform", root)], ids, tmp / "runners.py")}
            for _ in range(args.scale_repeat):
                for name, argv in argvs.items():
                    runs[name].append(_time(argv))
            row = {"copies": n, **{f"{k}_median_s": round(statistics.median(v), 3) for k, v in runs.items()}}
            scale.append(row)
            print(f"{n:>4} x reference Terraform: asbuilt {row['asbuilt_median_s']:.2f} s, checkov CLI "
                  f"{row['checkov_median_s']:.2f} s, checkov runners {row['runners_median_s']:.2f} s "
                  f"(asbuilt / runners {row['asbuilt_median_s'] / row['runners_median_s']:.2f})")
            shutil.rmtree(root)
        base = scale[0]
        for row in scale[1:]:
            k = row["copies"] - base["copies"]
            for name in ("asbuilt", "checkov", "runners"):
                row[f"{name}_per_copy_ms"] = round((row[f"{name}_median_s"] - base[f"{name}_median_s"]) / k * 1000)
            print(f"  {row['copies']:>4} copies, per extra copy: asbuilt {row['asbuilt_per_copy_ms']} ms, checkov CLI "
                  f"{row['checkov_per_copy_ms']} ms, checkov runners {row['runners_per_copy_ms']} ms")
        out["scale"] = scale
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
