"""Custom bundles (BNDL-01): `asbuilt bundle build / verify`, and one test per hostile zip.

Every hostile case asserts the one-line reason, that ``extract`` refuses it, and that nothing
was written anywhere under the test's directory (the "work dir" of the extraction included).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import struct
import warnings
import zipfile
from pathlib import Path

import pytest

from asbuilt import bundle
from asbuilt.bundle import BundleError, Limits
from asbuilt.cli import main as asbuilt_main

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "examples" / "reference" / "bundle"
JAR_NAME = "my-custom-processor-1.0.0.jar"


# --------------------------------------------------------------------------- helpers


def make_jar(path: Path, marker: str = "1.0.0") -> Path:
    """A tiny real JAR: a zip with META-INF/MANIFEST.MF and one class file."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/MANIFEST.MF", f"Manifest-Version: 1.0\r\nImplementation-Version: {marker}\r\n\r\n")
        z.writestr("com/example/conncentric/MyCustomProcessor.class", b"\xca\xfe\xba\xbe\x00\x00\x00\x3d" + marker.encode())
    return path


def jar_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
    return buf.getvalue()


def reference_source(tmp: Path) -> Path:
    """A copy of examples/reference/bundle with the plugin JAR built into it."""
    src = tmp / "src"
    shutil.copytree(REFERENCE, src)
    make_jar(src / "plugins" / JAR_NAME)
    return src


def make_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]], method=zipfile.ZIP_DEFLATED) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point of one test
        with zipfile.ZipFile(path, "w", method) as z:
            for name, data in entries:
                z.writestr(name, data)
    return path


VALID = [("manifests/a.json", b'{"name": "a", "type": "kafka-source"}'), ("plugins/p.jar", jar_bytes()),
         ("artifacts/d.xml", b"<fix/>")]


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def work(tmp_path: Path):
    """(directory for hostile zips, the extraction dest inside a work dir, a sentinel folder)."""
    zips = tmp_path / "zips"
    zips.mkdir()
    (tmp_path / "work").mkdir()
    (tmp_path / "outside").mkdir()
    return zips, tmp_path / "work" / "dest"


def assert_rejected(zip_path: Path, reason: str, limits: Limits | None = None) -> list[str]:
    """verify names the reason on one line; extract writes nothing anywhere under the test dir."""
    problems = bundle.verify(zip_path, limits)
    assert problems, "expected the bundle to be rejected"
    assert any(reason in p for p in problems), problems
    assert all("\n" not in p and p for p in problems)
    root = zip_path.parent.parent
    before = tree(root)
    with pytest.raises(BundleError) as exc:
        bundle.extract(zip_path, root / "work" / "dest", limits)
    assert reason in str(exc.value) or any(reason in p for p in exc.value.problems)
    assert tree(root) == before, "extract wrote something for a rejected bundle"
    assert not (root / "outside").exists() or not any((root / "outside").iterdir())
    return problems


def patch_central(data: bytes, index: int, *, file_size: int | None = None, header_offset: int | None = None,
                  set_flags: int = 0) -> bytes:
    """Rewrite fields of the index-th central directory record (crafted headers, no allocation);
    ``set_flags`` also goes into the entry's local header."""
    buf = bytearray(data)
    eocd = buf.rindex(b"PK\x05\x06")
    pos = struct.unpack_from("<I", buf, eocd + 16)[0]
    for _ in range(index):
        n, e, c = struct.unpack_from("<HHH", buf, pos + 28)
        pos += 46 + n + e + c
    assert buf[pos:pos + 4] == b"PK\x01\x02"
    if file_size is not None:
        struct.pack_into("<I", buf, pos + 24, file_size)
    if set_flags:
        struct.pack_into("<H", buf, pos + 8, struct.unpack_from("<H", buf, pos + 8)[0] | set_flags)
        local = struct.unpack_from("<I", buf, pos + 42)[0]
        struct.pack_into("<H", buf, local + 6, struct.unpack_from("<H", buf, local + 6)[0] | set_flags)
    if header_offset is not None:
        struct.pack_into("<I", buf, pos + 42, header_offset)
    return bytes(buf)


# --------------------------------------------------------------------------- build and verify the reference bundle


def test_reference_bundle_builds_verifies_and_is_deterministic(tmp_path, capsys):
    src = reference_source(tmp_path)
    out = tmp_path / "custom-bundle-v1.0.0.zip"
    assert asbuilt_main(["bundle", "build", str(src), "-o", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "left out: plugins/README.md (documents the source tree; not bundle content)"
    assert printed[-1].startswith(f"built {out}: 2 manifests, 1 plugin, 1 artifact;")

    assert bundle.verify(out) == []
    entries = {e.name: e for e in bundle.inspect(out)}
    for rel in ("manifests/fix-gateway.json", "manifests/market-data.json", "artifacts/FIX44.xml",
                f"plugins/{JAR_NAME}"):
        assert entries[rel].sha256 == hashlib.sha256((src / rel).read_bytes()).hexdigest()
    assert "plugins/README.md" not in entries
    assert entries[f"plugins/{JAR_NAME}"].jar_manifest is True
    assert (entries["manifests/fix-gateway.json"].table, entries["manifests/fix-gateway.json"].item_name) == \
        ("adapter_configurations", "fix-gateway")
    assert (entries["artifacts/FIX44.xml"].table, entries["artifacts/FIX44.xml"].item_name) == ("artifacts", "FIX44.xml")

    # Same tree, other mtimes and modes -> the same bytes; entries sorted, fixed timestamps.
    for p in src.rglob("*"):
        os.utime(p, (1_700_000_000, 1_700_000_000))
    os.chmod(src / "artifacts" / "FIX44.xml", 0o600)
    again = bundle.build(src, tmp_path / "again.zip")
    assert again.path.read_bytes() == out.read_bytes()
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        assert names == sorted(names, key=lambda n: n.encode())
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert all(not stat.S_ISLNK(i.external_attr >> 16) for i in z.infolist())
        assert {n.split("/")[0] for n in names} == {"manifests", "plugins", "artifacts"}

    assert asbuilt_main(["bundle", "verify", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        f"bundle {out}: valid (2 manifests, 1 plugin, 1 artifact; {sum(e.size for e in entries.values())} bytes uncompressed)"


def test_a_zip_made_the_seeds_way_verifies(tmp_path):
    """The seed's CI step: `cd custom-bundle && zip -r ../x.zip manifests/ plugins/ artifacts/`."""
    if not shutil.which("zip"):
        pytest.skip("no zip command")
    import subprocess

    src = reference_source(tmp_path)
    (src / "plugins" / "README.md").unlink()
    subprocess.run(["zip", "-qr", str(tmp_path / "seed.zip"), "manifests/", "plugins/", "artifacts/"], cwd=src, check=True)
    assert bundle.verify(tmp_path / "seed.zip") == []


def test_extract_writes_only_inside_dest_and_matches_checksums(tmp_path):
    src = reference_source(tmp_path)
    out = bundle.build(src, tmp_path / "b.zip").path
    dest = tmp_path / "work" / "dest"
    entries = bundle.extract(out, dest)
    assert tree(dest) == {"artifacts", "artifacts/FIX44.xml", "manifests", "manifests/fix-gateway.json",
                          "manifests/market-data.json", "plugins", f"plugins/{JAR_NAME}"}
    for e in entries:
        if e.kind != "directory":
            assert hashlib.sha256((dest / e.name).read_bytes()).hexdigest() == e.sha256
    with pytest.raises(BundleError, match="not empty"):
        bundle.extract(out, dest)


def test_limits_come_from_the_profile():
    limits = Limits.from_profile("conncentric-aws")
    assert (limits.max_zip_bytes, limits.max_uncompressed_bytes, limits.max_entries) == (536870912, 2147483648, 10000)


# --------------------------------------------------------------------------- the source tree


def test_build_refuses_a_link_in_the_source(tmp_path, capsys):
    src = reference_source(tmp_path)
    (src / "artifacts" / "passwd").symlink_to("/etc/passwd")
    out = tmp_path / "b.zip"
    assert asbuilt_main(["bundle", "build", str(src), "-o", str(out)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "artifacts/passwd: link (-> /etc/passwd); bundles hold no links" in lines
    assert lines[-1] == f"bundle source {src}: INVALID (1 problem, BNDL-01)"
    assert not out.exists() and not list(tmp_path.glob(".bundle-*"))


def test_build_refuses_a_linked_folder(tmp_path):
    src = reference_source(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    (src / "artifacts" / "more").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(BundleError, match="artifacts/more: link"):
        bundle.build(src, tmp_path / "b.zip")


def test_build_refuses_anything_outside_the_three_folders(tmp_path):
    src = reference_source(tmp_path)
    (src / "notes.txt").write_text("x")
    (src / "extra").mkdir()
    with pytest.raises(BundleError) as exc:
        bundle.build(src, tmp_path / "b.zip")
    assert "notes.txt: outside manifests/, plugins/ and artifacts/" in exc.value.problems
    assert "extra/: outside manifests/, plugins/ and artifacts/" in exc.value.problems


def test_build_refuses_a_bad_manifest_and_a_non_jar_plugin(tmp_path):
    src = reference_source(tmp_path)
    (src / "manifests" / "broken.json").write_text("{not json")
    (src / "plugins" / "fake.jar").write_text("not a jar")
    with pytest.raises(BundleError) as exc:
        bundle.build(src, tmp_path / "b.zip")
    text = "\n".join(exc.value.problems)
    assert "manifests/broken.json: not valid JSON (line 1 column 2" in text
    assert "plugins/fake.jar: not a JAR" in text
    assert not (tmp_path / "b.zip").exists()


def test_build_refuses_output_inside_the_source_and_an_empty_tree(tmp_path):
    src = reference_source(tmp_path)
    with pytest.raises(BundleError, match="inside the source tree"):
        bundle.build(src, src / "artifacts" / "b.zip")
    empty = tmp_path / "empty"
    for d in bundle.FOLDERS:
        (empty / d).mkdir(parents=True)
    (empty / "plugins" / "README.md").write_text("doc")
    with pytest.raises(BundleError, match="empty bundle"):
        bundle.build(empty, tmp_path / "e.zip")


def test_missing_input_is_exit_2_with_one_line(tmp_path, capsys):
    assert asbuilt_main(["bundle", "verify", str(tmp_path / "nope.zip")]) == 2
    err = capsys.readouterr().err
    assert err == f"asbuilt: error: {tmp_path / 'nope.zip'}: no such file\n"
    assert asbuilt_main(["bundle", "build", str(tmp_path / "nodir"), "-o", str(tmp_path / "x.zip")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


# --------------------------------------------------------------------------- hostile zips, one per case


@pytest.mark.parametrize("name, reason", [
    ("manifests/../../evil.json", "path traversal ('..' component)"),
    ("../evil.txt", "path traversal"),
    ("artifacts/../../../tmp/evil", "path traversal"),
    ("/etc/cron.d/evil", "absolute path"),
    ("C:/Windows/evil.dll", "absolute path (drive letter)"),
    ("C:\\Windows\\evil.dll", "absolute path (drive letter)"),
    ("\\\\server\\share\\evil", "absolute path"),
    ("manifests\\..\\..\\evil.json", "backslash in the path"),
    ("artifacts/a\x00b", "control character"),
    ("artifacts//x", "non-canonical path"),
])
def test_unsafe_paths_are_rejected(work, name, reason):
    zips, _ = work
    if "\x00" in name:  # zipfile cuts a written name at NUL: write a stand-in, then patch the bytes
        stand_in = name.replace("\x00", "X")
        data = make_zip(zips / "tmp.zip", [*VALID, (stand_in, b"x")]).read_bytes()
        (zips / "tmp.zip").unlink()
        (zips / "b.zip").write_bytes(data.replace(stand_in.encode(), name.encode()))
        z = zips / "b.zip"
    else:
        z = make_zip(zips / "b.zip", [*VALID, (name, b"x")])
    problems = assert_rejected(z, reason)
    assert any(p.startswith(bundle.show(name) + ":") or reason in p for p in problems)


def test_symlink_entry_is_rejected(work):
    zips, _ = work
    info = zipfile.ZipInfo("artifacts/passwd")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    z = make_zip(zips / "b.zip", [*VALID, (info, b"../../../../etc/passwd")])
    assert "artifacts/passwd: symbolic link" in assert_rejected(z, "symbolic link")


def test_symlink_stored_by_zip_y_is_rejected(work, tmp_path):
    if not shutil.which("zip"):
        pytest.skip("no zip command")
    import subprocess

    zips, _ = work
    src = reference_source(tmp_path)
    (src / "artifacts" / "shadow").symlink_to("/etc/shadow")
    subprocess.run(["zip", "-qry", str(zips / "b.zip"), "manifests", "artifacts"], cwd=src, check=True)
    assert_rejected(zips / "b.zip", "artifacts/shadow: symbolic link")


def test_hard_link_entry_is_rejected(work):
    """PKWARE's Unix extra field (0x000d) carries a link target after atime/mtime/uid/gid."""
    zips, _ = work
    info = zipfile.ZipInfo("artifacts/linked")
    target = b"/etc/shadow"
    info.extra = struct.pack("<HHIIHH", 0x000D, 12 + len(target), 0, 0, 0, 0) + target
    z = make_zip(zips / "b.zip", [*VALID, (info, b"")])
    assert_rejected(z, "artifacts/linked: link entry (Unix extra field with a link target)")


def test_special_file_entry_is_rejected(work):
    zips, _ = work
    info = zipfile.ZipInfo("artifacts/fifo")
    info.create_system = 3
    info.external_attr = (stat.S_IFIFO | 0o644) << 16
    assert_rejected(make_zip(zips / "b.zip", [*VALID, (info, b"")]), "special file")


def test_duplicate_names_are_rejected(work):
    zips, _ = work
    z = make_zip(zips / "b.zip", [*VALID, ("manifests/a.json", b'{"name": "other"}')])
    assert_rejected(z, "manifests/a.json: duplicate entry name")
    z = make_zip(zips / "c.zip", [*VALID, ("artifacts/D.xml", b"<x/>")])
    assert_rejected(z, "artifacts/D.xml: duplicate entry name (collides with artifacts/d.xml)")


def test_duplicate_item_names_are_rejected(work):
    zips, _ = work
    z = make_zip(zips / "b.zip", [*VALID, ("manifests/b.json", b'{"name": "a", "type": "kafka-source"}')])
    assert_rejected(z, "manifests/b.json: item name 'a' in adapter_configurations also used by manifests/a.json")


@pytest.mark.parametrize("name, reason", [
    ("README.md", "outside manifests/, plugins/ and artifacts/"),
    ("other/x.txt", "outside manifests/, plugins/ and artifacts/"),
    ("META-INF/MANIFEST.MF", "outside manifests/, plugins/ and artifacts/"),
    ("manifests/sub/a2.json", "manifest in a sub-folder of manifests/"),
    ("manifests/notes.txt", "not a .json file"),
    ("plugins/notes.txt", "not a .jar file"),
    ("manifests", "a file named like the manifests/ folder"),
])
def test_entries_outside_the_layout_are_rejected(work, name, reason):
    zips, _ = work
    assert_rejected(make_zip(zips / "b.zip", [*VALID, (name, b"{}")]), f"{name}: {reason}")


def test_file_and_folder_of_the_same_name_are_rejected(work):
    zips, _ = work
    z = make_zip(zips / "b.zip", [*VALID, ("artifacts/x", b"1"), ("artifacts/x/y", b"2")])
    assert_rejected(z, "artifacts/x/y: inside artifacts/x, which is a file")


def test_zip_bomb_by_ratio_is_rejected_without_inflating_it(work):
    """4 MiB of zeros deflate to ~4 KiB (1000:1); written in chunks, never held in memory."""
    zips, _ = work
    path = zips / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in VALID:
            z.writestr(name, data)
        with z.open("artifacts/zeros.bin", "w") as f:
            chunk = bytes(64 * 1024)
            for _ in range(64):
                f.write(chunk)
    assert path.stat().st_size < 64 * 1024
    limits = Limits(ratio_min_bytes=1024 * 1024, max_ratio=100)
    assert_rejected(path, "artifacts/zeros.bin: compression ratio", limits)
    # and by the total bound, with the ratio allowed
    assert_rejected(path, "total uncompressed size would exceed the bound of 1048576 bytes",
                    Limits(max_uncompressed_bytes=1024 * 1024, max_ratio=10_000))


def test_zip_bomb_by_declared_size_is_rejected_from_the_headers(work):
    """A central directory declaring 4 GiB for a tiny entry: refused before a byte is inflated."""
    zips, _ = work
    data = make_zip(zips / "tmp.zip", [*VALID, ("artifacts/huge.bin", b"x" * 100)]).read_bytes()
    (zips / "tmp.zip").unlink()
    (zips / "b.zip").write_bytes(patch_central(data, 3, file_size=0xFFFFFFF0))
    assert_rejected(zips / "b.zip", "artifacts/huge.bin: total uncompressed size would exceed the bound of 2147483648")


def test_lying_size_header_is_caught_while_streaming(work):
    """Declared smaller than the real content: streaming counts and the CRC check catch it."""
    zips, _ = work
    data = make_zip(zips / "tmp.zip", [*VALID, ("artifacts/big.txt", b"y" * 5000)], zipfile.ZIP_STORED).read_bytes()
    (zips / "tmp.zip").unlink()
    (zips / "b.zip").write_bytes(patch_central(data, 3, file_size=10))
    assert_rejected(zips / "b.zip", "artifacts/big.txt: corrupt entry")


def test_too_many_entries_are_rejected_before_parsing(work):
    zips, _ = work
    z = make_zip(zips / "b.zip", [*VALID] + [(f"artifacts/f{i}.txt", b"x") for i in range(10)])
    assert_rejected(z, "b.zip: 13 entries, more than the bound of 12", Limits(max_entries=12))


def test_too_large_zip_is_rejected(work):
    zips, _ = work
    z = make_zip(zips / "b.zip", VALID)
    assert_rejected(z, f"b.zip: {z.stat().st_size} bytes, more than the bound of 100 bytes", Limits(max_zip_bytes=100))


def test_overlapping_entries_are_rejected(work):
    zips, _ = work
    data = make_zip(zips / "tmp.zip", [*VALID, ("artifacts/e.xml", b"<e/>")]).read_bytes()
    (zips / "tmp.zip").unlink()
    (zips / "b.zip").write_bytes(patch_central(data, 3, header_offset=0))
    assert_rejected(zips / "b.zip", "overlaps the data of")


@pytest.mark.parametrize("content, reason", [
    (b"{not json", "manifests/a.json: not valid JSON (line 1 column 2: Expecting property name"),
    (b"", "manifests/a.json: not valid JSON"),
    (b"[1, 2]", "manifests/a.json: not a JSON object"),
    (b'{"x": NaN}', "manifests/a.json: not valid JSON (NaN is not valid JSON)"),
    (b"\xff\xfe{}", "manifests/a.json: not valid JSON (not UTF-8"),
])
def test_manifest_that_is_not_json_is_rejected(work, content, reason):
    zips, _ = work
    z = make_zip(zips / "b.zip", [("manifests/a.json", content), *VALID[1:]])
    assert_rejected(z, reason)


def test_oversized_manifest_is_rejected(work):
    zips, _ = work
    z = make_zip(zips / "b.zip", [("manifests/a.json", b'{"pad": "' + b" " * 200 + b'"}'), *VALID[1:]])
    assert_rejected(z, "manifests/a.json: manifest larger than 64 bytes", Limits(max_manifest_bytes=64))


@pytest.mark.parametrize("content, reason", [
    (b"hello, not a jar", "plugins/p.jar: not a JAR (no zip local file header at its start)"),
    (jar_bytes()[:40], "plugins/p.jar: not a JAR (no zip end record"),
    (b"", "plugins/p.jar: not a JAR"),
], ids=["text", "truncated-jar", "empty"])  # the truncated jar holds its build time: xdist workers must agree on ids
def test_plugin_that_is_not_a_jar_is_rejected(work, content, reason):
    zips, _ = work
    z = make_zip(zips / "b.zip", [VALID[0], ("plugins/p.jar", content), VALID[2]])
    assert_rejected(z, reason)


def test_empty_bundle_is_rejected(work):
    zips, _ = work
    assert_rejected(make_zip(zips / "b.zip", []), "b.zip: empty bundle (no entries)")
    assert_rejected(make_zip(zips / "c.zip", [("manifests/", b""), ("plugins/", b"")]),
                    "c.zip: empty bundle (no manifest, plugin or artifact)")


def test_encrypted_entry_is_rejected(work):
    zips, _ = work
    data = make_zip(zips / "tmp.zip", [*VALID, ("artifacts/secret.bin", b"\x00" * 32)]).read_bytes()
    (zips / "tmp.zip").unlink()
    (zips / "b.zip").write_bytes(patch_central(data, 3, set_flags=0x1))  # the "encrypted" flag bit
    assert_rejected(zips / "b.zip", "artifacts/secret.bin: encrypted entry")


def test_unsupported_compression_is_rejected(work):
    zips, _ = work
    info = zipfile.ZipInfo("artifacts/x.bin")
    info.compress_type = zipfile.ZIP_BZIP2
    assert_rejected(make_zip(zips / "b.zip", [*VALID, (info, b"abc")]), "compression method 12")


def test_non_zip_files_are_rejected(work, capsys):
    zips, _ = work
    (zips / "b.zip").write_text("just text\n")
    assert_rejected(zips / "b.zip", "b.zip: not a zip file")
    (zips / "e.zip").write_bytes(b"")
    assert_rejected(zips / "e.zip", "e.zip: not a zip file")
    good = make_zip(zips / "g.zip", VALID).read_bytes()
    (zips / "p.zip").write_bytes(b"#!/bin/sh\nexit 0\n" + good)  # a polyglot: a script with a zip appended
    assert_rejected(zips / "p.zip", "p.zip: data before the first zip entry")

    assert asbuilt_main(["bundle", "verify", str(zips / "b.zip")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == ["b.zip: not a zip file", f"bundle {zips / 'b.zip'}: INVALID (1 problem, BNDL-01)"]


def test_verify_never_writes(work, tmp_path):
    zips, _ = work
    z = make_zip(zips / "b.zip", [*VALID, ("../../outside/evil", b"x"), ("/tmp/evil-asbuilt", b"x")])
    before = tree(tmp_path)
    assert len(bundle.verify(z)) == 2
    assert tree(tmp_path) == before
    assert not Path("/tmp/evil-asbuilt").exists()
