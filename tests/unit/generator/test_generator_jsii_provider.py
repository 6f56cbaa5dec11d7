"""The lazy copy of the provider's jsii package: index.js rewrite and tarball building (tiny fake tarballs)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from generator.jsii_provider import build_lazy_tarball, rewrite_index

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
