"""How `run` and `static` talk to the user: report formats (-o), verbosity (-q/-v), colour, and the
help epilog (exit codes, environment variables).

The command line sets ``SETTINGS`` once (``configure``); the pipeline reads it (which report files
to keep, whether results.json goes to stdout, how much to print). Colour is used only when the
stream is a terminal, never with ``NO_COLOR`` set (https://no-color.org) or ``--no-color``.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

# -o/--output FORMAT -> the report file it is
FORMAT_FILES = {"json": "results.json", "junit": "junit.xml", "cucumber": "cucumber.json",
                "sarif": "results.sarif", "ocsf": "results.ocsf.json", "html": "report.html"}
DEFAULT_FORMATS = ("json", "junit", "cucumber", "sarif", "html")
DEFAULT_REPORT_DIR = Path("reports")

# Every environment variable asbuilt reads (the help epilog lists them; tests/test_cli_options.py
# checks the list against the code).
ENVIRONMENT = {
    "NO_COLOR": "set (to anything): no colour in the console output",
    "ASBUILT_DEBUG": "set: show the traceback of an internal error",
    "ASBUILT_HELM": "the helm binary to use (>= 4.1) for rendering charts and the sandbox's release",
    "ASBUILT_CACHE": "where fetched/built tools are cached (default ~/.cache/asbuilt)",
    "ASBUILT_STATE": "where the embedded sandbox keeps its state (default ~/.local/state/asbuilt/sandbox)",
    "ASBUILT_AWS_CALL_LOG": "a file every AWS request of the run is appended to (audit, benchmarks)",
    "ASBUILT_PYTHON313": "the Python 3.13 the sandbox's LocalStack venv is made with (default: ~/.pyenv/versions/3.13*)",
    "ASBUILT_KUBE_CONTROLLERS": "1: the sandbox also runs kube-controller-manager",
    "ASBUILT_MAX_CONFIG_BYTES": "size bound of target, profile, waiver and {file:} secret files (default 1 MiB)",
    "ASBUILT_MAX_IAC_BYTES": "size bound of each IaC file read (default 20 MiB)",
    "ASBUILT_MAX_RESULTS_BYTES": "size bound of results files read (report, drift, --baseline; default 64 MiB)",
    "AWS_*": "the standard AWS variables (read by boto3 when the target gives no credentials/endpoint: "
             "AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL, ...)",
}

EXIT_CODES = """exit codes:
  0  conforming (or: nothing failed)
  1  a `must` control failed (or a `should` with --strict); `bundle verify`: invalid bundle
  2  the run could not be carried out: bad input, unreachable or unsupported target, missing tool
     (one line on stderr)
  3  drift against the baseline (--baseline; `asbuilt drift`)"""


def epilog() -> str:
    width = max(len(k) for k in ENVIRONMENT)
    env = "\n".join(f"  {k:<{width}}  {v}" for k, v in ENVIRONMENT.items())
    return f"{EXIT_CODES}\n\nenvironment variables:\n{env}"


@dataclass
class Settings:
    formats: tuple[str, ...] | None = None  # None: DEFAULT_FORMATS
    to_stdout: bool = False                 # -o json without --report-dir: results.json on stdout
    verbosity: int = 0                      # -1 quiet, 0 normal, 1 verbose (full messages)
    color: bool | None = None               # None: decide per stream
    source_root: Path | None = None

    def kept_files(self) -> set[str]:
        return {FORMAT_FILES[f] for f in (self.formats or DEFAULT_FORMATS)}


SETTINGS = Settings()
ANNOUNCE_REPORTS = True  # the summary says where the reports are (the pre-commit hook's are temporary)


def _formats(value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(v.strip().lower() for v in value.split(",") if v.strip()))
    bad = [n for n in names if n not in FORMAT_FILES]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"unknown format {(bad or [value])[0][:20]!r} "
                                         f"(choose from {', '.join(FORMAT_FILES)})")
    return names


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """-o, --report-dir, --source-root, -q/-v and --no-color, for `run` and `static`."""
    parser.add_argument("-o", "--output", type=_formats, action="append", metavar="FORMAT[,FORMAT]",
                        help=f"report formats to write ({', '.join(FORMAT_FILES)}; repeatable; default: "
                             f"{','.join(DEFAULT_FORMATS)}). `-o json` without --report-dir prints results.json "
                             "on stdout (the summary goes to stderr)")
    parser.add_argument("--report-dir", type=Path, default=None, metavar="DIR",
                        help=f"where the reports are written (default: {DEFAULT_REPORT_DIR}/)")
    parser.add_argument("--source-root", type=Path, metavar="DIR",
                        help="what SARIF file URIs are relative to (default: the git top level of the scanned code)")
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument("-q", "--quiet", action="store_true", help="print only the verdict line and errors")
    loud.add_argument("-v", "--verbose", action="store_true",
                      help="print every control's full message (the table cuts them at 110 characters)")
    parser.add_argument("--no-color", action="store_true", help="no colour (as NO_COLOR=1)")


def configure(args: argparse.Namespace) -> None:
    """From the parsed `run`/`static` options: SETTINGS, and args.report_dir set."""
    formats = tuple(dict.fromkeys(f for group in (getattr(args, "output", None) or []) for f in group)) or None
    to_stdout = formats == ("json",) and getattr(args, "report_dir", None) is None
    if getattr(args, "report_dir", None) is None:
        args.report_dir = DEFAULT_REPORT_DIR
    SETTINGS.formats = formats
    SETTINGS.to_stdout = to_stdout
    SETTINGS.verbosity = -1 if getattr(args, "quiet", False) else (1 if getattr(args, "verbose", False) else 0)
    SETTINGS.color = False if getattr(args, "no_color", False) else None
    SETTINGS.source_root = getattr(args, "source_root", None)


def no_third_party_colour() -> None:
    """checkov calls ``colorama.init(autoreset=True)`` when imported, which wraps stdout/stderr and
    writes a colour reset after every write on a terminal (NO_COLOR or not). asbuilt prints its own
    console, so that init is made a no-op before checkov is imported."""
    try:
        import colorama
    except ImportError:
        return
    colorama.init = lambda *args, **kwargs: None


def use_color(stream=None) -> bool:
    if SETTINGS.color is False or os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


_COLORS = {"pass": "32", "FAIL": "1;31", "ERROR": "1;31", "warn": "33", "waived": "36",
           "skipped": "2", "pending": "35"}


def paint(word: str, padded: str, stream=None) -> str:
    """padded (the status column) coloured for word, when colour is on."""
    code = _COLORS.get(word)
    return f"\033[{code}m{padded}\033[0m" if code and use_color(stream) else padded


# --- progress on long work ------------------------------------------------------------------------
# A transient spinner (and a bar where the total is known) on stderr, drawn with rich, while static
# stacks are rendered and scanned, the sandbox's parts are built and started, and live scenarios
# run. Only on a terminal: never when stderr is not a TTY (CI logs, pipes, tests), never with
# NO_COLOR, --no-color or -q. Nothing of it is left on the screen when the work is done.

class _NoProgress:
    """What `progress()` yields when no display is drawn: every call does nothing."""

    def update(self, text: str | None = None, total: int | None = None) -> None:
        return None

    def advance(self, text: str | None = None) -> None:
        return None


_NO_PROGRESS = _NoProgress()
_ACTIVE: list = []  # the display being drawn (one at a time; nested `progress()` reuse it)


def progress_enabled(stream=None) -> bool:
    stream = stream or sys.stderr
    if SETTINGS.verbosity < 0 or SETTINGS.color is False or os.environ.get("NO_COLOR"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _terminal(stream):
    """The display's own handle on the terminal: a duplicate of stderr's descriptor, so that an
    in-process pytest capturing fd 2 during a scenario does not swallow half of the redraws (and the
    display then erase lines it never drew). Kept behind the run's redaction when there is one."""
    try:
        fd = os.dup(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return stream
    own = os.fdopen(fd, "w", encoding=getattr(stream, "encoding", None) or "utf-8", errors="replace")
    from asbuilt import secrets_guard

    if isinstance(stream, secrets_guard._RedactingStream):
        own = secrets_guard._RedactingStream(own, stream._name, stream._secrets, stream._findings)
    return own


class _Progress:
    def __init__(self, bar, task):
        self._bar, self._task = bar, task

    def update(self, text: str | None = None, total: int | None = None) -> None:
        fields = {}
        if text is not None:
            fields["description"] = text[:100]
        if total is not None:
            fields["total"] = total
        self._bar.update(self._task, **fields)

    def advance(self, text: str | None = None) -> None:
        self._bar.update(self._task, advance=1, **({"description": text[:100]} if text is not None else {}))


class progress:
    """``with progress("static: scanning") as p: ... p.update("chart x"); p.advance()``.

    Draws on the stderr in use when entered (the run's redacting stream, so a secret in a
    description is redacted as any output is). Nested uses share the outer display."""

    def __init__(self, text: str, total: int | None = None):
        self.text, self.total = text, total
        self._bar = None
        self._file = None
        self._handle: _Progress | _NoProgress = _NO_PROGRESS

    def __enter__(self):
        if _ACTIVE:
            self._handle = _ACTIVE[-1]
            self._handle.update(self.text, total=self.total)
            return self._handle
        if not progress_enabled():
            return _NO_PROGRESS
        try:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
            from rich.text import Text
        except ImportError:  # rich is a dependency; without it, no display (never an error)
            return _NO_PROGRESS
        self._file = _terminal(sys.stderr)
        console = Console(file=self._file, stderr=True)
        class Bar(BarColumn):  # a bar and "n/total" once the total is known (the scenarios collected)
            def render(self, task):
                return super().render(task) if task.total is not None else Text("")

        class Count(ProgressColumn):
            def render(self, task):
                return Text("" if task.total is None else f"{int(task.completed)}/{int(task.total)}",
                            style="progress.download")

        columns = [SpinnerColumn(), TextColumn("[progress.description]{task.description}"), Bar(bar_width=24),
                   Count(), TimeElapsedColumn()]
        # stdout is redirected above the display only when it is the terminal too (a pipe's text
        # must stay on stdout: `asbuilt static -o json | jq`)
        redirect_out = bool(getattr(sys.stdout, "isatty", lambda: False)())
        self._bar = Progress(*columns, console=console, transient=True, redirect_stdout=redirect_out,
                             redirect_stderr=True)
        self._handle = _Progress(self._bar, self._bar.add_task(self.text[:100], total=self.total))
        self._bar.start()
        _ACTIVE.append(self._handle)
        return self._handle

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            _ACTIVE.remove(self._handle)
            self._bar.stop()
            if self._file is not sys.stderr:
                try:
                    self._file.close()
                except (OSError, ValueError):
                    pass
            self._bar = None


def progress_note(text: str) -> None:
    """Change what the current display says (no-op without one): for deep steps (a chart rendered,
    a sandbox part started) that do not own the display."""
    if _ACTIVE:
        _ACTIVE[-1].update(text)


class ScenarioProgress:
    """A pytest plugin for the in-process live run: the display counts scenarios as they run."""

    def __init__(self, handle):
        self.handle = handle

    def pytest_collection_finish(self, session) -> None:
        self.handle.update(f"live: {len(session.items)} scenario(s)", total=len(session.items))

    def pytest_runtest_logstart(self, nodeid, location) -> None:
        self.handle.update(f"live: {location[2][:90]}")

    def pytest_runtest_logfinish(self, nodeid, location) -> None:
        self.handle.advance()
