"""A moto server of the test's own (not the sandbox's): moto in server mode on 127.0.0.1, on a
port the kernel gives, provisioned with the sandbox's
reference definition (asbuilt_sandbox/aws_reference.py), and a target file that points asbuilt
at it with its AWS section only. Real moto over HTTP, read by the real probe and reader: no
fake of AWS, and no Kafka, Kubernetes or network namespace needed."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import yaml

KEY_ID = "AKIAASBUILTMOTOTEST01"
SECRET = "asbuilt-moto-test-secret-key-0123456789abcd"


@contextlib.contextmanager
def moto_server(log: Path | None = None) -> Iterator[str]:
    """A real moto server (``python -m moto.server``) on 127.0.0.1, on a port the kernel gives, for
    the block; yields its endpoint URL and stops exactly that process afterwards. The one way the
    tests start a moto of their own (the sandbox has its part, asbuilt_sandbox.parts.moto_server)."""
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with opener.open(f"{url}/moto-api/", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-500:] if log else ""
                    raise RuntimeError(f"moto server did not start on {url}: {tail}") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if log:
            out.close()


def reset(endpoint: str) -> None:
    req = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(req, timeout=10).read()  # noqa: S310 (loopback only)


@contextlib.contextmanager
def _credentials() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"] = KEY_ID, SECRET
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def provision(endpoint: str, **changes: Any) -> dict:
    """Reset moto and provision the reference estate (with ``changes``: a drift's ``aws`` facts)."""
    from asbuilt_sandbox import aws_reference

    reset(endpoint)
    ref = dataclasses.replace(aws_reference.Reference(), **changes)
    with _credentials():
        return aws_reference.provision(endpoint, ref)


def write_target(path: Path, endpoint: str, ids: dict) -> Path:
    """A target file for the provisioned estate: its AWS section only (what the sandbox writes)."""
    key, secret = path.parent / "moto_key_id", path.parent / "moto_secret"
    key.write_text(KEY_ID)
    secret.write_text(SECRET)
    target = {
        "name": "moto-local", "description": "the reference AWS estate in the test's own moto server",
        "profile": "conncentric-aws", "allowed_networks": ["127.0.0.0/8"],
        "aws": {
            "region": "us-east-1", "endpoint_url": endpoint,
            "credentials": {"access_key_id": {"file": str(key)}, "secret_access_key": {"file": str(secret)}},
            "timeouts": {"connect": 5, "read": 20, "max_attempts": 3},
            "resources": {
                "eks_cluster": ids["eks_cluster"], "eks_nodegroup": ids["eks_nodegroup"],
                "rds_instance": ids["rds_instance"], "msk_cluster": ids["msk_cluster_arn"], "alb": ids["alb"],
                "bundle_bucket": ids["bundle_bucket"], "installer_role": ids["installer_role"],
                "installer_policy": ids["installer_policy_arn"], "node_role": ids["node_role"],
                "ecr_repositories": ids["ecr_repositories"],
            },
        },
    }
    path.write_text(yaml.safe_dump(target, sort_keys=False))
    return path


def probe(target_file: Path):
    """The run's AWS probe for the target file (read-only, inside allowed_networks)."""
    from asbuilt.probes.aws import AwsProbe
    from asbuilt.target import load_target

    target = load_target(target_file)
    return AwsProbe(target.aws, allowed_networks=target.allowed_networks)
