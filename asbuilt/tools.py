"""External tools asbuilt runs, found (or built) the pinned way, never downloaded at scan time.

helm (>= 4.1) renders charts for the static checks. It comes from, in order:

1. ``$ASBUILT_HELM``: a helm binary the user points at (used as is; a missing or too old
   binary is an error, not a fallback);
2. the sandbox's Kubernetes part (``asbuilt_sandbox.parts.kube.KubePart``), which builds a pinned
   helm v4 from the Go module proxy into ``~/.cache/asbuilt/kube-<version>/bin/helm``; if the
   binary is not there yet and ``build`` is true, it is built now (a few minutes, once).

Anything else ends in ``RunError``: a chart is never reported as passing without helm.
"""

from __future__ import annotations

import os
import re
import subprocess
from functools import lru_cache
from pathlib import Path

from asbuilt.errors import RunError

MIN_HELM = (4, 1)


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


def helm_binary(build: bool = True) -> Path:
    """The helm binary to render charts with (see the module docstring)."""
    env = os.environ.get("ASBUILT_HELM")
    if env:
        return _checked(str(Path(env).expanduser()))
    try:
        from asbuilt_sandbox.parts.kube import KubePart
    except ImportError:
        raise RunError("helm >= 4.1 not found: set ASBUILT_HELM to a helm 4 binary") from None
    part = KubePart()
    binary = part.helm_bin()
    if not binary.exists() and build:
        try:
            _build_helm(part)
        except Exception as exc:  # PartError and friends: one line, exit 2
            raise RunError(f"helm >= 4.1 not found and could not be built from the Go module proxy: {exc}") from None
    if not binary.exists():
        raise RunError(f"helm >= 4.1 not found: {binary} is missing (run `asbuilt sandbox up` once, or set ASBUILT_HELM)")
    return _checked(str(binary))


def _build_helm(part) -> None:
    """Build only helm (not etcd / kube-apiserver) when the part allows it, else the whole part."""
    from asbuilt_sandbox.parts import kube

    helm = getattr(kube, "HELM", None)
    if helm is not None and hasattr(part, "_build") and hasattr(part, "_installed"):
        import fcntl

        part.bin_dir.mkdir(parents=True, exist_ok=True)
        with open(part.home / ".install.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not part._installed(helm):
                part._build(helm)
        return
    part.install()


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
