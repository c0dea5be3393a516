"""Where asbuilt keeps files on this machine, shared by the product and the embedded sandbox.

* ``cache_dir()``: fetched and built tools, keyed by name and version (``$ASBUILT_CACHE``,
  default ``~/.cache/asbuilt``): helm, and the sandbox's parts.
* ``sandbox_state_dir()``: where a running sandbox keeps pid files, logs, certificates, data and
  its target file (``$ASBUILT_STATE``). The product needs only the target file's location
  (``--target sandbox``); the sandbox package (``asbuilt_sandbox``) imports this module, never
  the other way round.
"""

from __future__ import annotations

import os
from pathlib import Path


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
