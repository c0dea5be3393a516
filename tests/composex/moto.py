"""A private moto server for the composex tests (tests.moto_local's), with moto's credentials in
the environment for the block."""

from __future__ import annotations

import contextlib
import os

from tests.moto_local import moto_server as _moto_server


@contextlib.contextmanager
def moto_server():
    """Yields the endpoint URL of a fresh moto server; stops exactly that process afterwards."""
    with _moto_server() as url:
        saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
        os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_DEFAULT_REGION": "us-east-1"})
        try:
            yield url
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
