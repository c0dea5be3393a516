"""The command line next to its neighbours: -o formats (and JSON on stdout), -q/-v, colour rules,
help on every option, exit codes and environment variables in --help, OCSF output."""

from __future__ import annotations

import argparse
import json
import os
import pty
import re
import subprocess
import sys

import pytest

from asbuilt.cli import build_parser
from asbuilt.console import ENVIRONMENT
from tests.helpers import ROOT, asbuilt

TF = ROOT / "examples" / "reference" / "terraform"


def _parsers(parser: argparse.ArgumentParser, path: str = "asbuilt"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


def test_every_option_has_help():
    missing = [f"{path} {a.dest}" for path, p in _parsers(build_parser()) for a in p._actions
               if not isinstance(a, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction))
               and not a.help]
    assert not missing, missing


def test_help_lists_exit_codes_and_every_environment_variable_read():
    text = asbuilt("run", "--help").stdout
    assert "exit codes:" in text and "3  drift" in text and "environment variables:" in text
    read = set()
    for folder in ("asbuilt", "asbuilt_sandbox", "steps"):
        for f in (ROOT / folder).rglob("*.py"):
            src = f.read_text()
            read |= set(re.findall(r"""(?:environ\.get|getenv|environ\[)\(?\s*["']([A-Z][A-Z0-9_]+)["']""", src))
            read |= set(re.findall(r"\bASBUILT_[A-Z0-9_]+\b", src))  # also names kept in tables (safeio)
    undocumented = {v for v in read if v not in ENVIRONMENT and not (v.startswith("AWS_") and "AWS_*" in ENVIRONMENT)}
    assert not undocumented, undocumented
    for name in ENVIRONMENT:
        assert name in text


@pytest.fixture(scope="module")
def json_stdout(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("stdout")
    return cwd, asbuilt("static", TF, "-o", "json", "--control", "VER-01", cwd=cwd)


def test_json_to_stdout(json_stdout):
    cwd, res = json_stdout
    assert res.code == 0, res.stderr
    doc = json.loads(res.stdout)  # nothing else on stdout
    assert {c["id"]: c["status"] for c in doc["controls"]}["VER-01"] == "pass"
    assert "CONFORMING" in res.stderr
    assert not (cwd / "reports").exists()


def test_output_formats_choose_the_files(tmp_path):
    reports = tmp_path / "r"
    reports.mkdir()
    (reports / "junit.xml").write_text("<stale/>")  # an earlier run's file of a format not asked for
    res = asbuilt("static", TF, "-o", "sarif,ocsf", "--control", "S3-01", "--control", "VER-01",
                  "--report-dir", reports)
    assert res.code == 0, res.stdout + res.stderr
    assert sorted(p.name for p in reports.iterdir()) == ["results.ocsf.json", "results.sarif"]
    from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding

    events = json.loads((reports / "results.ocsf.json").read_text())
    parsed = [ComplianceFinding.model_validate(e) for e in events]
    by = {e.compliance.control: e for e in parsed}
    assert set(by) >= {"S3-01", "VER-01"} and all(e.class_uid == 2003 for e in parsed)
    assert by["VER-01"].compliance.status_id == 1 and by["VER-01"].severity == "High"
    assert by["VER-01"].finding_info.src_url.endswith("docs/controls.md#ver-01")
    bad = asbuilt("static", TF, "-o", "pdf", "--report-dir", tmp_path / "x")
    assert bad.code == 2 and "unknown format 'pdf'" in bad.stderr and "Traceback" not in bad.stderr


def test_quiet_verbose_and_no_colour_off_a_terminal(tmp_path):
    quiet = asbuilt("static", TF, "-q", "--control", "VER-01", "--report-dir", tmp_path / "q")
    assert quiet.code == 0 and quiet.stdout.strip().startswith("CONFORMING") and "VER-01" not in quiet.stdout
    verbose = asbuilt("static", TF, "-v", "--report-dir", tmp_path / "v")
    normal = asbuilt("static", TF, "--report-dir", tmp_path / "n")
    longest = lambda out: max(len(ln) for ln in out.splitlines() if re.match(r"[A-Z]+-\d+ ", ln))  # noqa: E731
    assert longest(normal.stdout) <= 12 + 1 + 6 + 1 + 8 + 1 + 7 + 1 + 110 and longest(verbose.stdout) > longest(normal.stdout)
    assert "\033[" not in normal.stdout + verbose.stdout + quiet.stdout  # not a terminal: no colour


def _on_a_terminal(*args, env, stderr_too: bool = False):
    """The CLI with stdout (and stderr, with stderr_too) on a pseudo-terminal (as a user's shell)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "asbuilt", *map(str, args)], stdout=follower,
                            stderr=follower if stderr_too else subprocess.DEVNULL, cwd=ROOT, env={**os.environ, **env})
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=300)
    os.close(leader)
    return proc.returncode, b"".join(chunks).decode(errors="replace")


def test_colour_on_a_terminal_unless_no_color(tmp_path):
    env = {k: "" for k in ("NO_COLOR",)}
    code, out = _on_a_terminal("static", TF, "--control", "VER-01", "--report-dir", tmp_path / "a", env=env)
    assert code == 0 and "\033[32m" in out
    code, out = _on_a_terminal("static", TF, "--control", "VER-01", "--report-dir", tmp_path / "b",
                               env={"NO_COLOR": "1"})
    assert code == 0 and "\033[" not in out


HIDE_CURSOR = "\033[?25l"  # what rich's live display writes first


def test_progress_on_a_terminal_only(tmp_path):
    """The static scan shows a transient progress display on a terminal's stderr; never with
    NO_COLOR, -q, or stderr that is not a terminal (CI logs, pipes)."""
    code, out = _on_a_terminal("static", TF, "--control", "VER-01", "--report-dir", tmp_path / "a",
                               env={"NO_COLOR": "", "TERM": "xterm"}, stderr_too=True)
    assert code == 0 and HIDE_CURSOR in out and "static: terraform examples/reference/terraform" in out, out[-800:]
    # transient: the cursor is given back and the display erased before the summary is printed
    assert "\033[?25h" in out and out.rindex("static: ") < out.rindex("\033[2K") < out.index("control      sev")
    for extra, env in ((["-q"], {"NO_COLOR": ""}), ([], {"NO_COLOR": "1"}), (["--no-color"], {"NO_COLOR": ""})):
        code, out = _on_a_terminal("static", TF, "--control", "VER-01", "--report-dir", tmp_path / "b", *extra,
                                   env={**env, "TERM": "xterm"}, stderr_too=True)
        assert code == 0 and HIDE_CURSOR not in out and "static: " not in out, (extra, env, out[-500:])
    piped = asbuilt("static", TF, "--control", "VER-01", "--report-dir", tmp_path / "c", env={"NO_COLOR": ""})
    assert piped.code == 0 and "\033[" not in piped.stderr + piped.stdout and "static: " not in piped.stderr


def test_progress_counts_live_scenarios_on_a_terminal(tmp_path, moto_endpoint):
    target = tmp_path / "t.yaml"
    target.write_text(f"name: progress\nprofile: conncentric-aws\nallowed_networks: [127.0.0.0/8]\n"
                      f"aws:\n  region: us-east-1\n  endpoint_url: {moto_endpoint}\n")
    code, out = _on_a_terminal("run", "--target", target, "--live-only", "--report-dir", tmp_path / "r",
                               env={"NO_COLOR": "", "TERM": "xterm"}, stderr_too=True)
    # an empty moto: controls over absent resources are `error` (exit 2); the scenarios ran all the same
    assert code in (0, 1, 2) and (tmp_path / "r" / "results.json").is_file() and HIDE_CURSOR in out, out[-800:]
    counts = re.findall(r"(\d+)/(\d+)", out)
    totals = {int(t) for _, t in counts}
    assert len(totals) == 1 and min(totals) >= 5, counts[:5]  # a bar over the collected scenarios
    assert 0 < max(int(n) for n, _ in counts) <= totals.pop()  # ... that advances as they run
    assert re.search(r"live: \w", out)
    assert "asbuilt: live scenarios against progress" in out  # printed above the display, not lost


def test_sandbox_steps_show_in_the_progress_and_stay_above_it():
    """`asbuilt sandbox up` (not started here): each step the manager says is printed above the
    display and becomes its description."""
    code = ("import time\nfrom asbuilt.console import progress\nfrom asbuilt_sandbox import manager\n"
            "with progress('sandbox: starting'):\n"
            "    manager._say('kube: starting'); time.sleep(0.3)\n"
            "print('done')\n")
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=follower, stderr=follower, cwd=ROOT,
                            env={**os.environ, "NO_COLOR": "", "TERM": "xterm"})
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    out = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0 and HIDE_CURSOR in out, out
    assert "\x1b[2Ksandbox: kube: starting\r\n" in out  # the log line, whole, above the display
    assert re.search(r"\S sandbox: kube: starting +\x1b\[33m", out)  # ... and the display's description
