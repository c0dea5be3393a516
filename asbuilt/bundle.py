"""Custom bundles (BNDL-01): build, verify, inspect and safely extract them.

A custom bundle is a zip whose top level holds only ``manifests/`` (JSON adapter manifests),
``plugins/`` (JAR files) and ``artifacts/`` (auxiliary files) -- the seed's chapter 2.

Why the standard ``zipfile`` module and no library: the job is to *distrust* a zip, and every
check below needs the raw central-directory fields (``external_attr`` mode bits, flag bits,
extra fields, header offsets, declared sizes) before a byte is inflated. ``zipfile`` exposes
all of them, streams entries without touching disk, and is always present. The safe-extraction
libraries on PyPI either extract first and check later, or hide exactly those fields; the
archive libraries (libarchive bindings, py7zr) add a native dependency for formats we refuse.

What ``verify`` rejects, each with a one-line reason ``<entry>: <reason>``:

* not a zip file, data before the first entry, an empty bundle, more than ``max_entries``
  entries (counted from the end record *before* the central directory is parsed), a zip file
  larger than ``max_zip_bytes``;
* unsafe names: absolute (``/x``, ``\\x``, ``C:x``, ``//server``), ``..`` / ``.`` / empty
  components, backslashes, control characters, over-long names, duplicates (also ones that
  differ only in case or by a trailing slash -- they collide when extracted);
* anything outside the three folders, nested folders under ``manifests/`` or ``plugins/``,
  a manifest not named ``*.json``, a plugin not named ``*.jar``;
* links and special files: a Unix mode of symlink / fifo / device / socket in ``external_attr``,
  and the Unix extra fields that carry a link target (PKWARE 0x000d, ASi 0x756e) -- the
  "hard link" entries of some zip tools;
* encrypted entries, compression methods other than stored / deflate, overlapping entries;
* zip bombs: total declared uncompressed bytes over ``max_uncompressed_bytes``, a per-entry
  compression ratio over ``max_ratio`` (for entries over ``ratio_min_bytes``), and while
  streaming every entry the bytes are counted -- declared sizes are never used to allocate;
* a manifest that is not a JSON object (read with a cap of ``max_manifest_bytes``), two
  manifests with the same item name, a plugin that is not a JAR (it must start with a zip local
  file header and end with a zip end record; ``META-INF/MANIFEST.MF`` is reported when found).

``verify`` never writes to disk. ``extract`` verifies first, then writes each file only inside
``dest`` (re-checking every resolved path, ``O_EXCL | O_NOFOLLOW``) and re-checks each file's
SHA-256 against the verified one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterator

from asbuilt.errors import InputError

FOLDERS = ("manifests", "plugins", "artifacts")
KIND_OF_FOLDER = {"manifests": "manifest", "plugins": "plugin", "artifacts": "artifact"}
# Where the installer keeps each kind (the platform schema, asbuilt_sandbox/platform_schema.sql).
TABLE_OF_KIND = {"plugin": "plugin_records", "artifact": "artifacts"}
ADAPTER_TABLE = "adapter_configurations"
PIPELINE_TABLE = "pipeline_definitions"
# A manifest whose "type" (or "kind") is one of these is a pipeline definition; any other
# manifest is an adapter configuration.
PIPELINE_TYPES = frozenset({"pipeline", "pipeline-definition", "pipeline_definition", "pipelinedefinition"})

# Files of a source tree that document it and are not bundle content (plugins/README.md says
# so); left out of a build, reported as skipped.
SKIPPED_SOURCE_FILES = frozenset({".gitkeep", ".keep", "README", "README.md", "README.txt"})

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
DIR_MODE = 0o040755
MAX_NAME_CHARS = 1024
MAX_COMPONENT_CHARS = 255
CHUNK = 64 * 1024
JAR_TAIL_BYTES = 1024 * 1024  # kept from a plugin's end to find its end record / manifest entry

_LOCAL_HEADER = b"PK\x03\x04"
_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class Limits:
    """Bounds of a bundle. The first three are the profile thresholds of BNDL-01."""

    max_zip_bytes: int = 512 * 1024 * 1024
    max_uncompressed_bytes: int = 2 * 1024 * 1024 * 1024
    max_entries: int = 10000
    # Deflate tops out near 1032:1; JSON, XML and JARs stay well under 100:1 in practice. 200:1
    # leaves room for padded dictionaries while a bomb entry (thousands to one) is refused.
    max_ratio: float = 200.0
    # The ratio bound applies to entries that inflate to more than this; a 20 KiB file of
    # zeros is not a threat and would otherwise be a false alarm.
    ratio_min_bytes: int = 1024 * 1024
    max_manifest_bytes: int = 4 * 1024 * 1024

    @classmethod
    def from_profile(cls, profile: str = "conncentric-aws", **overrides) -> "Limits":
        """The BNDL-01 thresholds of a profile (name or file); other bounds keep their defaults."""
        from asbuilt.catalogue import load_profile

        params = load_profile(profile).params("BNDL-01")
        known = {k: params[k] for k in ("max_zip_bytes", "max_uncompressed_bytes", "max_entries") if k in params}
        return cls(**{**known, **overrides})


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Entry:
    """One entry of a verified bundle."""

    name: str             # the path inside the zip
    kind: str             # manifest | plugin | artifact | directory
    size: int             # bytes counted while streaming (not the declared size)
    compressed_size: int
    sha256: str           # hex digest of the content; "" for a directory
    table: str = ""       # where the installer stores it (platform schema table)
    item_name: str = ""   # the item's unique name in that table
    jar_manifest: bool | None = None  # plugins: META-INF/MANIFEST.MF seen in the JAR

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class Scan:
    problems: list[str] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class BundleError(Exception):
    """A bundle (or a bundle source tree) is invalid: ``problems`` holds one line per reason."""

    def __init__(self, problems: list[str], what: str = "bundle"):
        self.problems = list(problems)
        first = self.problems[0] if self.problems else "invalid"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"invalid {what}: {first}{more}")


# --------------------------------------------------------------------------- names


def show(name: str) -> str:
    """A name safe to print on one line (control characters escaped)."""
    return name if not _CONTROL.search(name) else name.encode("unicode_escape").decode("ascii")


def name_problem(name: str, is_dir: bool) -> str | None:
    """Why a zip entry name is unsafe or outside the bundle layout (None when fine)."""
    if not name:
        return "empty entry name"
    if _CONTROL.search(name):
        return "control character in the name"
    if len(name) > MAX_NAME_CHARS:
        return f"name longer than {MAX_NAME_CHARS} characters"
    if name.startswith(("/", "\\")):
        return "absolute path"
    if _DRIVE.match(name):
        return "absolute path (drive letter)"
    if "\\" in name:
        return "backslash in the path (a Windows separator; could escape the extraction directory)"
    parts = (name[:-1] if is_dir else name).split("/")
    if ".." in parts:
        return "path traversal ('..' component)"
    if any(p in ("", ".") for p in parts):
        return "non-canonical path (empty or '.' component)"
    if any(len(p) > MAX_COMPONENT_CHARS for p in parts):
        return f"path component longer than {MAX_COMPONENT_CHARS} characters"
    top = parts[0]
    if top not in FOLDERS:
        return "outside manifests/, plugins/ and artifacts/"
    if len(parts) == 1:
        return None if is_dir else f"a file named like the {top}/ folder"
    if is_dir:
        return None if top == "artifacts" else f"sub-folder in {top}/ (it holds files only)"
    if top == "manifests":
        if len(parts) > 2:
            return "manifest in a sub-folder of manifests/"
        if not parts[1].lower().endswith(".json") or len(parts[1]) <= 5:
            return "not a .json file (manifests/ holds JSON adapter manifests only)"
    if top == "plugins":
        if len(parts) > 2:
            return "plugin in a sub-folder of plugins/"
        if not parts[1].lower().endswith(".jar") or len(parts[1]) <= 4:
            return "not a .jar file (plugins/ holds JAR files only)"
    return None


def _kind(name: str, is_dir: bool) -> str:
    return "directory" if is_dir else KIND_OF_FOLDER[name.split("/", 1)[0]]


def manifest_item(name: str, doc: dict) -> tuple[str, str]:
    """(table, item name) of a manifest: pipeline definitions by type, else adapter configurations;
    named by its ``name`` field, else by its file name without ``.json``."""
    kind = str(doc.get("type") or doc.get("kind") or "").strip().lower()
    table = PIPELINE_TABLE if kind in PIPELINE_TYPES else ADAPTER_TABLE
    item = doc.get("name")
    if not isinstance(item, str) or not item.strip():
        item = PurePosixPath(name).name[: -len(".json")]
    return table, item.strip()


def item_of(name: str, kind: str) -> tuple[str, str]:
    """(table, item name) of a plugin or artifact entry."""
    if kind == "plugin":
        return TABLE_OF_KIND[kind], PurePosixPath(name).name
    return TABLE_OF_KIND[kind], name.split("/", 1)[1]


# --------------------------------------------------------------------------- low-level zip reading


def _end_record(f: BinaryIO, size: int) -> tuple[int, int] | None:
    """(entry count, central directory offset) from the end record(s), or None if there is none."""
    tail_len = min(size, 22 + 65535 + 20 + 56)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    pos = tail.rfind(_EOCD)
    while pos >= 0 and len(tail) - pos < 22:
        pos = tail.rfind(_EOCD, 0, pos)
    if pos < 0:
        return None
    (_, _, _, _, count, _, cd_offset, _) = struct.unpack("<4sHHHHIIH", tail[pos:pos + 22])
    if (count == 0xFFFF or cd_offset == 0xFFFFFFFF) and pos >= 20 and tail[pos - 20:pos - 16] == _EOCD64_LOCATOR:
        (_, _, eocd64_offset, _) = struct.unpack("<4sIQI", tail[pos - 20:pos])
        if eocd64_offset + 56 <= size:
            f.seek(eocd64_offset)
            rec = f.read(56)
            if rec[:4] == _EOCD64:
                count = struct.unpack("<Q", rec[32:40])[0]
                cd_offset = struct.unpack("<Q", rec[48:56])[0]
    return count, cd_offset


def _extra_fields(extra: bytes) -> Iterator[tuple[int, bytes]]:
    i = 0
    while i + 4 <= len(extra):
        hid, ln = struct.unpack("<HH", extra[i:i + 4])
        yield hid, extra[i + 4:i + 4 + ln]
        i += 4 + ln


def _link_problem(info: zipfile.ZipInfo) -> str | None:
    mode = info.external_attr >> 16
    if mode:
        fmt = stat.S_IFMT(mode)
        if stat.S_ISLNK(mode):
            return "symbolic link"
        if fmt and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            return "special file (device, fifo or socket)"
        if stat.S_ISDIR(mode) and not info.filename.endswith("/"):
            return "directory mode on a file entry"
    for hid, data in _extra_fields(info.extra):
        if hid == 0x000D and len(data) > 12:  # PKWARE Unix: atime mtime uid gid, then link/device data
            return "link entry (Unix extra field with a link target)"
        if hid == 0x756E and len(data) >= 14:  # ASi Unix: crc mode sizdev uid gid, then link name
            asi_mode = struct.unpack("<H", data[4:6])[0]
            if stat.S_ISLNK(asi_mode) or len(data) > 14:
                return "link entry (ASi Unix extra field with a link target)"
    return None


def _local_header_end(f: BinaryIO, offset: int) -> int | None:
    if offset < 0:  # a central directory whose offsets point outside the file (corrupt zip)
        return None
    try:
        f.seek(offset)
        head = f.read(30)
    except (OSError, ValueError, OverflowError):
        return None
    if len(head) < 30 or head[:4] != _LOCAL_HEADER:
        return None
    n, e = struct.unpack("<HH", head[26:30])
    return offset + 30 + n + e


def _jar_problem(head: bytes, tail: bytes) -> tuple[str | None, bool]:
    """(problem, has META-INF/MANIFEST.MF) of a plugin from its first and last bytes."""
    if len(head) < 30 or head[:4] != _LOCAL_HEADER:
        return "not a JAR (no zip local file header at its start)", False
    method = struct.unpack("<H", head[8:10])[0]
    n = struct.unpack("<H", head[26:28])[0]
    if method not in (0, 8, 12, 14) or n == 0:
        return "not a JAR (malformed zip local file header)", False
    pos = tail.rfind(_EOCD)
    if pos < 0 or len(tail) - pos < 22:
        return "not a JAR (no zip end record: truncated or not a zip)", False
    return None, b"META-INF/MANIFEST.MF" in tail


# --------------------------------------------------------------------------- the scan


def _scan_file(f: BinaryIO, size: int, limits: Limits, label: str) -> tuple[Scan, zipfile.ZipFile | None]:
    scan = Scan()
    bad = scan.problems.append

    if size > limits.max_zip_bytes:
        bad(f"{label}: {size} bytes, more than the bound of {limits.max_zip_bytes} bytes")
        return scan, None
    f.seek(0)
    magic = f.read(4)
    end = _end_record(f, size)
    if end is None or magic not in (_LOCAL_HEADER, _EOCD):
        bad(f"{label}: not a zip file" if end is None or not size else f"{label}: data before the first zip entry")
        return scan, None
    count, _cd_offset = end
    if count > limits.max_entries:
        bad(f"{label}: {count} entries, more than the bound of {limits.max_entries}")
        return scan, None
    try:
        f.seek(0)
        zf = zipfile.ZipFile(f)
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, EOFError, OSError) as exc:
        bad(f"{label}: not a readable zip file ({exc})")
        return scan, None
    if len(infos) > limits.max_entries:
        bad(f"{label}: {len(infos)} entries, more than the bound of {limits.max_entries}")
        return scan, zf
    if not infos:
        bad(f"{label}: empty bundle (no entries)")
        return scan, zf

    # Overlapping entries (the "non-recursive zip bomb" shares one compressed stream).
    spans = []
    for info in infos:
        start = _local_header_end(f, info.header_offset)
        if start is None:
            bad(f"{show(info.orig_filename)}: no local file header at its offset (corrupt zip)")
            continue
        spans.append((info.header_offset, start + info.compress_size, info.orig_filename))
    spans.sort()
    for (_, prev_end, prev), (off, _, cur) in zip(spans, spans[1:]):
        if off < prev_end:
            bad(f"{show(cur)}: overlaps the data of {show(prev)} (a zip bomb pattern)")
    if scan.problems:
        return scan, zf

    seen: dict[str, str] = {}
    items: dict[tuple[str, str], str] = {}
    declared_total = 0
    counted_total = 0
    for info in infos:
        name = info.orig_filename
        label_n = show(name)
        is_dir = name.endswith("/")
        key = name.rstrip("/").casefold()
        if key in seen:
            other = seen[key]
            bad(f"{label_n}: duplicate entry name" + ("" if other == name else f" (collides with {show(other)})"))
            continue
        seen[key] = name
        why = name_problem(name, is_dir) or _link_problem(info)
        if why:
            bad(f"{label_n}: {why}")
            continue
        if info.flag_bits & 0x41:
            bad(f"{label_n}: encrypted entry")
            continue
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            bad(f"{label_n}: compression method {info.compress_type} (only stored and deflate are accepted)")
            continue
        if is_dir:
            if info.file_size or info.compress_size > 16:  # an empty deflate stream is 2 bytes
                bad(f"{label_n}: directory entry with content")
                continue
            scan.entries.append(Entry(name, "directory", 0, 0, ""))
            continue
        declared_total += info.file_size
        if declared_total > limits.max_uncompressed_bytes:
            bad(f"{label_n}: total uncompressed size would exceed the bound of {limits.max_uncompressed_bytes} bytes"
                " (a zip bomb?)")
            break
        if info.file_size > limits.ratio_min_bytes and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            bad(f"{label_n}: compression ratio {ratio:.0f}:1 exceeds the bound of {limits.max_ratio:.0f}:1 (a zip bomb?)")
            continue
        kind = _kind(name, is_dir)
        if kind == "manifest" and info.file_size > limits.max_manifest_bytes:
            bad(f"{label_n}: manifest larger than {limits.max_manifest_bytes} bytes")
            continue

        # Stream the content: count real bytes, never trust (or allocate by) the header.
        digest = hashlib.sha256()
        counted = 0
        keep = bytearray()   # manifests: the whole (capped) content
        head = b""           # plugins: first bytes and a bounded tail
        tail = b""
        problem = None
        try:
            with zf.open(info) as src:
                while chunk := src.read(CHUNK):
                    counted += len(chunk)
                    counted_total += len(chunk)
                    if counted > info.file_size:
                        problem = "inflates to more than its declared size (a zip bomb?)"
                        break
                    if counted_total > limits.max_uncompressed_bytes:
                        problem = (f"total uncompressed size exceeds the bound of {limits.max_uncompressed_bytes}"
                                   " bytes (a zip bomb?)")
                        break
                    if counted > limits.ratio_min_bytes and counted > limits.max_ratio * max(info.compress_size, 1):
                        problem = f"compression ratio exceeds the bound of {limits.max_ratio:.0f}:1 (a zip bomb?)"
                        break
                    digest.update(chunk)
                    if kind == "manifest":
                        if counted > limits.max_manifest_bytes:
                            problem = f"manifest larger than {limits.max_manifest_bytes} bytes"
                            break
                        keep += chunk
                    elif kind == "plugin":
                        if len(head) < 64:
                            head = (head + chunk)[:64]
                        tail = (tail + chunk)[-JAR_TAIL_BYTES:]
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError) as exc:
            problem = f"corrupt entry ({exc})"
        if problem is None and counted != info.file_size:
            problem = f"{counted} bytes of content but {info.file_size} declared (corrupt zip)"
        if problem:
            bad(f"{label_n}: {problem}")
            if "total uncompressed" in problem:
                break
            continue

        table = item = ""
        jar_manifest = None
        if kind == "manifest":
            doc, why = _parse_manifest(bytes(keep))
            if why:
                bad(f"{label_n}: {why}")
                continue
            table, item = manifest_item(name, doc)
        elif kind == "plugin":
            why, jar_manifest = _jar_problem(head, tail)
            if why:
                bad(f"{label_n}: {why}")
                continue
            table, item = item_of(name, kind)
        else:
            table, item = item_of(name, kind)
        if (table, item) in items:
            bad(f"{label_n}: item name {item!r} in {table} also used by {show(items[(table, item)])}")
            continue
        items[(table, item)] = name
        scan.entries.append(Entry(name, kind, counted, info.compress_size, digest.hexdigest(), table, item,
                                  jar_manifest))

    files = {e.name for e in scan.entries if e.kind != "directory"}
    for e in scan.entries:
        parts = e.name.rstrip("/").split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in files:
                bad(f"{show(e.name)}: inside {show('/'.join(parts[:i]))}, which is a file")
                break
    if not scan.problems and not files:
        bad(f"{label}: empty bundle (no manifest, plugin or artifact)")
    return scan, zf


def _reject_constant(value: str):
    raise ValueError(f"{value} is not valid JSON")


def _parse_manifest(data: bytes) -> tuple[dict, str | None]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return {}, f"not valid JSON (not UTF-8 at byte {exc.start})"
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return {}, f"not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
    except (ValueError, RecursionError) as exc:
        return {}, f"not valid JSON ({exc})"
    if not isinstance(doc, dict):
        return {}, f"not a JSON object (a manifest is an object; got {type(doc).__name__})"
    return doc, None


@contextlib.contextmanager
def _open_zip(zip_path: str | os.PathLike) -> Iterator[tuple[BinaryIO, int]]:
    path = Path(zip_path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path}: not a regular file")
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    with f:
        yield f, os.fstat(f.fileno()).st_size


def scan(zip_path: str | os.PathLike, limits: Limits | None = None) -> Scan:
    """Problems and entries of a bundle zip, in one pass; never writes to disk."""
    limits = limits or Limits()
    with _open_zip(zip_path) as (f, size):
        result, zf = _scan_file(f, size, limits, Path(zip_path).name)
        if zf is not None:
            zf.close()
    return result


def verify(zip_path: str | os.PathLike, limits: Limits | None = None) -> list[str]:
    """The bundle's problems, one line each; an empty list means valid. A missing or unreadable
    file raises InputError."""
    return scan(zip_path, limits).problems


def inspect(zip_path: str | os.PathLike, limits: Limits | None = None) -> list[Entry]:
    """The entries of a valid bundle with their SHA-256; raises BundleError when invalid."""
    result = scan(zip_path, limits)
    if result.problems:
        raise BundleError(result.problems)
    return result.entries


# --------------------------------------------------------------------------- extraction


def _inside(dest_real: str, target: str) -> bool:
    return os.path.commonpath([dest_real, target]) == dest_real and target != dest_real


def extract(zip_path: str | os.PathLike, dest: str | os.PathLike, limits: Limits | None = None) -> list[Entry]:
    """Verify, then write the bundle's files under ``dest`` (created if missing; must be empty).

    Every target path is re-checked after resolution; files are created with O_EXCL|O_NOFOLLOW,
    and each written file's SHA-256 must equal the verified one. Raises BundleError when the
    bundle is invalid (nothing is written then)."""
    limits = limits or Limits()
    dest = Path(dest)
    with _open_zip(zip_path) as (f, size):
        result, zf = _scan_file(f, size, limits, Path(zip_path).name)
        try:
            if result.problems:
                raise BundleError(result.problems)
            if dest.is_symlink():
                raise BundleError([f"{dest}: the extraction directory is a link"], "extraction directory")
            dest.mkdir(parents=True, exist_ok=True)
            if any(dest.iterdir()):
                raise BundleError([f"{dest}: the extraction directory is not empty"], "extraction directory")
            dest_real = os.path.realpath(dest)
            for entry in result.entries:
                _extract_one(zf, entry, dest_real, limits)
        finally:
            if zf is not None:
                zf.close()
    return result.entries


def _extract_one(zf: zipfile.ZipFile, entry: Entry, dest_real: str, limits: Limits) -> None:
    why = name_problem(entry.name, entry.kind == "directory")
    if why:  # verified already; a second look costs nothing
        raise BundleError([f"{show(entry.name)}: {why}"])
    rel = entry.name.rstrip("/")
    target = os.path.normpath(os.path.join(dest_real, *rel.split("/")))
    if not _inside(dest_real, target):
        raise BundleError([f"{show(entry.name)}: resolves outside the extraction directory"])
    # Create parents one by one, refusing any that is (or became) a link.
    parent = dest_real
    for part in rel.split("/")[:-1] if entry.kind != "directory" else rel.split("/"):
        parent = os.path.join(parent, part)
        with contextlib.suppress(FileExistsError):
            os.mkdir(parent, 0o755)
        if os.path.islink(parent) or not os.path.isdir(parent) or os.path.realpath(parent) != parent:
            raise BundleError([f"{show(entry.name)}: {parent} is not a plain directory inside the extraction directory"])
    if entry.kind == "directory":
        return
    if os.path.realpath(os.path.dirname(target)) != os.path.dirname(target):
        raise BundleError([f"{show(entry.name)}: resolves outside the extraction directory"])
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o644)
    digest = hashlib.sha256()
    written = 0
    with os.fdopen(fd, "wb") as out, zf.open(entry.name) as src:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > entry.size:
                break
            digest.update(chunk)
            out.write(chunk)
    if written != entry.size or digest.hexdigest() != entry.sha256:
        os.unlink(target)
        raise BundleError([f"{show(entry.name)}: content changed between verification and extraction"])


# --------------------------------------------------------------------------- build


@dataclass
class BuildResult:
    path: Path
    sha256: str
    size: int
    entries: list[Entry]
    skipped: list[str]


def source_problems(src: Path) -> tuple[list[str], list[tuple[str, Path]], list[str]]:
    """(problems, [(zip name, file)], skipped) of a bundle source tree; follows no link."""
    problems: list[str] = []
    files: list[tuple[str, Path]] = []
    skipped: list[str] = []

    def walk(directory: Path, rel: str) -> None:
        try:
            children = sorted(os.scandir(directory), key=lambda d: d.name)
        except OSError as exc:
            problems.append(f"{rel or '.'}: cannot read ({exc.strerror})")
            return
        for child in children:
            name = f"{rel}/{child.name}" if rel else child.name
            if child.is_symlink():
                problems.append(f"{show(name)}: link (-> {show(os.readlink(child.path))}); bundles hold no links")
                continue
            if child.is_dir(follow_symlinks=False):
                why = name_problem(name + "/", True)
                if why:
                    problems.append(f"{show(name)}/: {why}")
                    continue
                files.append((name + "/", Path(child.path)))
                walk(Path(child.path), name)
                continue
            if not child.is_file(follow_symlinks=False):
                problems.append(f"{show(name)}: special file (device, fifo or socket)")
                continue
            top = name.split("/", 1)[0]
            if child.name in SKIPPED_SOURCE_FILES and (child.name.startswith(".") or top in ("manifests", "plugins")) \
                    and "/" in name:
                skipped.append(name)
                continue
            why = name_problem(name, False)
            if why:
                problems.append(f"{show(name)}: {why}")
                continue
            files.append((name, Path(child.path)))

    walk(src, "")
    return problems, files, skipped


def _zipinfo(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
    info.create_system = 3  # Unix, so the mode bits below mean what they say
    if name.endswith("/"):
        info.external_attr = (DIR_MODE << 16) | 0x10
        info.compress_type = zipfile.ZIP_STORED
    else:
        info.external_attr = FILE_MODE << 16
        info.compress_type = zipfile.ZIP_DEFLATED
    return info


def build(src_dir: str | os.PathLike, out_zip: str | os.PathLike, limits: Limits | None = None) -> BuildResult:
    """Validate a bundle source tree and write a deterministic zip of it.

    Deterministic: entries sorted by path, fixed timestamps (1980-01-01), fixed modes (0644 files,
    0755 folders), deflate at zlib's default level, no comment -- the same tree gives the same bytes. README /
    .gitkeep files of manifests/ and plugins/ are left out (reported in ``skipped``).
    Raises InputError for a missing source, BundleError for an invalid tree or result."""
    limits = limits or Limits()
    src = Path(src_dir)
    out = Path(out_zip)
    if not src.exists():
        raise InputError(f"{src}: no such directory")
    if not src.is_dir():
        raise InputError(f"{src}: not a directory")
    src_real = os.path.realpath(src)
    out_real = os.path.realpath(out.parent if str(out.parent) else ".")
    if os.path.commonpath([src_real, out_real]) == src_real:
        raise BundleError([f"{out}: the output is inside the source tree; write it elsewhere"], "bundle source")
    problems, files, skipped = source_problems(src)
    if not problems and not any(not n.endswith("/") for n, _ in files):
        problems.append(f"{src}: empty bundle (no manifest, plugin or artifact)")
    if problems:
        raise BundleError(problems, "bundle source")
    files.sort(key=lambda nf: nf[0].encode("utf-8"))
    if not out.parent.is_dir():
        raise InputError(f"{out.parent}: no such directory for the output")
    _check_output(out)

    fd, tmp_name = tempfile.mkstemp(prefix=".bundle-", suffix=".zip.tmp", dir=out.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w") as zf:
            for name, path in files:
                info = _zipinfo(name)
                if name.endswith("/"):
                    zf.writestr(info, b"")
                    continue
                with open(path, "rb", opener=lambda p, fl: os.open(p, fl | os.O_NOFOLLOW)) as src_f, \
                        zf.open(info, "w", force_zip64=os.fstat(src_f.fileno()).st_size > 0x7FFFFFFF) as dst:
                    while chunk := src_f.read(CHUNK):
                        dst.write(chunk)
        result = scan(tmp, limits)
        if result.problems:
            raise BundleError(result.problems, "bundle")
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    digest = hashlib.sha256()
    with open(out, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return BuildResult(out, digest.hexdigest(), out.stat().st_size, result.entries, skipped)


def _check_output(out: Path) -> None:
    """The output is a new path or a regular file (replaced by rename): never a device such as
    /dev/full, a FIFO or a directory."""
    try:
        st = os.lstat(out)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(f"{out}: cannot write the bundle there ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"-o {out}: is a directory; give the path of the zip to write")
    if stat.S_ISLNK(st.st_mode):
        raise InputError(f"-o {out}: is a symbolic link; give a regular file or a new path")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"-o {out}: not a regular file (a device, FIFO or socket); give a regular file or a new path")


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
