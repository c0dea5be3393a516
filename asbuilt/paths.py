"""Where asbuilt keeps files on this machine, shared by the product and the embedded sandbox.

* ``suite_root()``: the folder holding the live suite (``features/``, ``steps/``), ``checks/``,
  ``deploy/`` and ``examples/``: the repository's top level in a checkout (or an editable install),
  ``asbuilt/_suite/`` inside an installed wheel (pyproject.toml maps the folders there), found
  through the package with importlib.resources.

* ``cache_dir()``: fetched and built tools, keyed by name and version (``$ASBUILT_CACHE``,
  default ``~/.cache/asbuilt``): helm, and the sandbox's parts.
* ``sandbox_state_dir()``: where a running sandbox keeps pid files, logs, certificates, data and
  its target file (``$ASBUILT_STATE``). The product needs only the target file's location
  (``--target sandbox``); the sandbox package (``asbuilt_sandbox``) imports this module, never
  the other way round.
"""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from pathlib import Path


@cache
def suite_root() -> Path:
    """The folder holding features/, steps/, checks/, deploy/ and examples/ (see the module docstring)."""
    packaged = resources.files("asbuilt") / "_suite"
    if packaged.is_dir():  # an installed wheel: a real folder in site-packages
        return Path(str(packaged))
    return Path(str(resources.files("asbuilt"))).resolve().parent  # the checkout's top level


def cache_dir() -> Path:
    """Where fetched and built artifacts live, keyed by name and version: ``$ASBUILT_CACHE``."""
    root = Path(os.environ.get("ASBUILT_CACHE") or Path.home() / ".cache" / "asbuilt")
    root.mkdir(parents=True, exist_ok=True)
    return root


def sandbox_state_dir() -> Path:
    """Where a running sandbox keeps pid files, logs, certificates and data: ``$ASBUILT_STATE``."""
    root = Path(os.environ.get("ASBUILT_STATE") or Path.home() / ".local" / "state" / "asbuilt" / "sandbox")
    root.mkdir(parents=True, exist_ok=True)
    return root


def sandbox_target_file() -> Path:
    """The target file ``asbuilt sandbox up`` writes (``--target sandbox`` reads it)."""
    return sandbox_state_dir() / "target.yaml"
