"""The lazy copy of the provider's jsii package: index.js rewrite and tarball building (tiny fake tarballs)."""

from __future__ import annotations

import io
import tarfile
import threading
from pathlib import Path

import pytest

from generator.jsii_provider import (
    PACKAGE_CACHE_MARKER,
    build_lazy_tarball,
    package_cache_root,
    rewrite_index,
    shadow_package_cache,
    use_writable_package_cache,
)

INDEX = """"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.sqsQueue = exports.provider = void 0;
exports.provider = require("./provider");
exports.sqsQueue = require("./sqs-queue");
"""


def fake_package(path: Path, index: str) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in {"package/lib/index.js": index, "package/.jsii": '{"name": "x"}'}.items():
            data = text.encode()
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return path


def read(path: Path, member: str) -> str:
    with tarfile.open(path, "r:gz") as archive:
        handle = archive.extractfile(member)
        assert handle is not None
        return handle.read().decode()


def test_each_eager_export_becomes_a_getter() -> None:
    text, count = rewrite_index(INDEX)

    assert count == 2
    assert 'exports.provider = require("./provider");' not in text
    assert (
        'Object.defineProperty(exports, "sqsQueue", '
        '{ enumerable: true, configurable: true, get: () => require("./sqs-queue") });'
    ) in text
    assert text.startswith('"use strict";\nObject.defineProperty(exports, "__esModule"')


def test_tarball_copy_changes_only_index_js(tmp_path: Path) -> None:
    source = fake_package(tmp_path / "provider-aws@1.0.0.jsii.tgz", INDEX)
    target = tmp_path / "cache" / "lazy.tgz"

    assert build_lazy_tarball(source, target) == 2

    assert read(target, "package/.jsii") == '{"name": "x"}'
    assert read(target, "package/lib/index.js") == rewrite_index(INDEX)[0]
    assert [p.name for p in target.parent.iterdir()] == ["lazy.tgz"]


def test_unexpected_index_leaves_no_copy(tmp_path: Path) -> None:
    source = fake_package(tmp_path / "provider-aws@1.0.0.jsii.tgz", "module.exports = {};\n")
    target = tmp_path / "cache" / "lazy.tgz"

    with pytest.raises(ValueError, match="no eager exports"):
        build_lazy_tarball(source, target)
    assert list(target.parent.iterdir()) == []


def test_copies_of_the_same_source_are_byte_identical(tmp_path: Path) -> None:
    source = fake_package(tmp_path / "provider-aws@1.0.0.jsii.tgz", INDEX)
    build_lazy_tarball(source, tmp_path / "a.tgz")
    build_lazy_tarball(source, tmp_path / "b.tgz")

    assert (tmp_path / "a.tgz").read_bytes() == (tmp_path / "b.tgz").read_bytes()


def test_concurrent_builders_leave_one_complete_copy(tmp_path: Path) -> None:
    # xdist workers (or two cold processes) may build the same copy at the same moment
    source = fake_package(tmp_path / "provider-aws@1.0.0.jsii.tgz", INDEX)
    build_lazy_tarball(source, tmp_path / "serial.tgz")
    target = tmp_path / "cache" / "lazy.tgz"
    errors: list[BaseException] = []

    def build() -> None:
        try:
            build_lazy_tarball(source, target)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=build) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert [p.name for p in target.parent.iterdir()] == ["lazy.tgz"]
    assert target.read_bytes() == (tmp_path / "serial.tgz").read_bytes()


def package_cache(root: Path) -> Path:
    """A jsii package cache with one complete entry, one unfinished entry and a lock file."""
    entry = root / "@cdktf" / "provider-aws" / "1.0.0" / "abc123"
    (entry / "lib").mkdir(parents=True)
    (entry / "lib" / "index.js").write_text("module.exports = {};")
    (entry / ".jsii").write_text("{}")
    (entry / PACKAGE_CACHE_MARKER).write_text("")
    (root / "@cdktf" / "provider-aws" / "1.0.0" / "abc123.lock").write_text("")
    (root / "constructs" / "10.0.0" / "unfinished" / "lib").mkdir(parents=True)
    return entry


def test_read_only_package_cache_is_mirrored_with_a_writable_marker(tmp_path: Path) -> None:
    entry = package_cache(tmp_path / "cache")
    mirror = tmp_path / "mirror"

    assert shadow_package_cache(tmp_path / "cache", mirror) == 1

    shadow = mirror / "@cdktf" / "provider-aws" / "1.0.0" / "abc123"
    assert sorted(p.name for p in shadow.iterdir()) == [".jsii", PACKAGE_CACHE_MARKER, "lib"]
    marker = shadow / PACKAGE_CACHE_MARKER
    assert marker.is_file() and not marker.is_symlink()
    assert (shadow / "lib").readlink() == entry / "lib"
    assert (shadow / "lib" / "index.js").read_text() == "module.exports = {};"
    assert not (mirror / "@cdktf" / "provider-aws" / "1.0.0" / "abc123.lock").exists()
    # a second cold start in the same Lambda environment finds the mirror and keeps it
    assert shadow_package_cache(tmp_path / "cache", mirror) == 1
    assert (shadow / "lib").readlink() == entry / "lib"


def test_writable_package_cache_is_left_alone(tmp_path: Path) -> None:
    environ = {"JSII_RUNTIME_PACKAGE_CACHE_ROOT": str(tmp_path / "cache")}

    assert use_writable_package_cache(environ, tmp_path / "tmp") is None
    assert environ == {"JSII_RUNTIME_PACKAGE_CACHE_ROOT": str(tmp_path / "cache")}
    assert (tmp_path / "cache").is_dir()  # created, as the kernel would


def test_unwritable_package_cache_is_replaced_by_a_mirror(tmp_path: Path) -> None:
    # a read-only HOME: the cache directory cannot be created (its parent is a file)
    (tmp_path / "home").write_text("")
    environ = {"XDG_CACHE_HOME": str(tmp_path / "home" / ".cache")}

    mirror = use_writable_package_cache(environ, tmp_path / "tmp")

    assert mirror == tmp_path / "tmp" / "event-broker-jsii-package-cache"
    assert environ["JSII_RUNTIME_PACKAGE_CACHE_ROOT"] == str(mirror)
    assert package_cache_root(environ) == mirror
    assert mirror.is_dir()


def test_disabled_package_cache_needs_no_mirror(tmp_path: Path) -> None:
    (tmp_path / "home").write_text("")
    environ = {"XDG_CACHE_HOME": str(tmp_path / "home"), "JSII_RUNTIME_PACKAGE_CACHE": "disabled"}

    assert use_writable_package_cache(environ, tmp_path / "tmp") is None
    assert "JSII_RUNTIME_PACKAGE_CACHE_ROOT" not in environ
