"""Make the Node.js side of the AWS provider load per resource too.

``modules._provider`` already keeps Python from importing ~1500 provider submodules. The jsii kernel
(Node.js) still ran the provider package's ``lib/index.js``, which ``require``s every one of its 2212
modules: about 2 s of every cold start (profiled with ``JSII_DEBUG_TIMING=1``). This module writes,
once, a copy of the provider's jsii tarball whose ``index.js`` turns each ``exports.x = require(...)``
into a getter, and loads that copy into the kernel before the Python package would load the original.
The kernel treats a second load of the same name and version as done, so the classes, and the
synthesized JSON, are the same; only the loading is deferred to the first use of each resource.

The copy lives in ``BROKER_JSII_CACHE_DIR`` (default ``~/.cache/event-broker/jsii``); the container
image builds it at image build time. ``BROKER_STOCK_PROVIDER_IMPORT=1`` turns all of this off. Any
problem (unexpected ``index.js``, unwritable cache) only costs the speed-up: a warning, then the
original tarball.

The jsii kernel's own package cache must be writable: on a cache hit it touches a marker file in the
entry, and fails every load with ``EROFS`` on a read-only file system (Lambda's ``/opt``, a read-only
``HOME``). :func:`use_writable_package_cache` mirrors such a cache into the temporary directory with
symbolic links before the kernel starts, so the extracted packages and their indexes are still reused.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import logging
import os
import re
import sys
import tarfile
import tempfile
import time
from collections.abc import Mapping, MutableMapping
from pathlib import Path

# importing ``modules`` registers the provider package lazily (Python side) and starts no jsii kernel
from modules._provider import PROVIDER_PACKAGE, STOCK_IMPORT_VARIABLE

logger = logging.getLogger(__name__)

PROVIDER_ASSEMBLY = "@cdktf/provider-aws"
CACHE_DIR_VARIABLE = "BROKER_JSII_CACHE_DIR"
INDEX_MEMBER = "package/lib/index.js"
#: bump when the rewrite changes, so old copies are not reused
REWRITE_VERSION = 1

_preloaded: Path | None = None

_EAGER_EXPORT = re.compile(r'^exports\.([A-Za-z_$][\w$]*) = require\("(\./[^"]+)"\);$', re.MULTILINE)


def rewrite_index(source: str) -> tuple[str, int]:
    """``index.js`` with every ``exports.x = require("./x");`` made a lazy getter; the count rewritten."""

    def lazy(match: re.Match[str]) -> str:
        name, path = match.group(1), match.group(2)
        return (
            f'Object.defineProperty(exports, "{name}", '
            f'{{ enumerable: true, configurable: true, get: () => require("{path}") }});'
        )

    return _EAGER_EXPORT.subn(lazy, source)


def default_cache_dir() -> Path:
    configured = os.environ.get(CACHE_DIR_VARIABLE)
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "event-broker" / "jsii"


def _provider_tarball() -> tuple[Path, str]:
    """Path and version of the provider's own jsii tarball, found without importing the package."""
    # find_spec of a top-level package locates it without running its (eager) __init__
    spec = importlib.util.find_spec(PROVIDER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"{PROVIDER_PACKAGE} is not installed")
    directory = Path(next(iter(spec.submodule_search_locations))) / "_jsii"
    for entry in sorted(directory.glob("provider-aws@*.jsii.tgz")):
        match = re.fullmatch(r"provider-aws@(?P<version>[\w.+-]+)\.jsii\.tgz", entry.name)
        if match:
            return entry, match.group("version")
    raise FileNotFoundError(f"no provider-aws jsii tarball in {directory}")


def build_lazy_tarball(source: Path, target: Path) -> int:
    """Write ``target``: ``source`` with :func:`rewrite_index` applied; the number of exports rewritten."""
    target.parent.mkdir(parents=True, exist_ok=True)
    rewritten = 0
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".building-", suffix=".tgz")
    os.close(handle)
    try:
        # compresslevel 1: writing fast matters more than size; mtime 0: the same source always gives the same
        # bytes, so the jsii kernel (which caches extracted packages by content hash) reuses one cache entry
        with (
            tarfile.open(source, "r:gz") as original,
            open(temporary, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0) as compressed,
            tarfile.open(fileobj=compressed, mode="w") as copy,
        ):
            for member in original:
                content = original.extractfile(member) if member.isfile() else None
                if member.name == INDEX_MEMBER and content is not None:
                    text, rewritten = rewrite_index(content.read().decode("utf-8"))
                    data = text.encode("utf-8")
                    member.size = len(data)
                    copy.addfile(member, io.BytesIO(data))
                else:
                    copy.addfile(member, content)
        if rewritten == 0:
            raise ValueError(f"{INDEX_MEMBER} of {source.name} has no eager exports to rewrite")
        os.replace(temporary, target)  # atomic: concurrent builders never see half a file
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return rewritten


def lazy_tarball(cache_dir: Path | None = None) -> tuple[Path, str]:
    """The lazy copy of the provider tarball (built on first call) and the provider's version."""
    source, version = _provider_tarball()
    stat = source.stat()
    cache = cache_dir or default_cache_dir()
    target = cache / f"provider-aws@{version}-{stat.st_size}-lazy{REWRITE_VERSION}.jsii.tgz"
    if not target.exists():
        count = build_lazy_tarball(source, target)
        logger.info("built lazy provider tarball", extra={"path": str(target), "exports": count})
    return target, version


def preload_lazy_provider(cache_dir: Path | None = None) -> bool:
    """Load the lazy provider copy into the jsii kernel; True when done, False when skipped or failed.

    Call after ``import modules`` and before any ``cdktf_cdktf_provider_aws.<resource>`` import.
    """
    if os.environ.get(STOCK_IMPORT_VARIABLE) == "1":
        return False
    import cdktf  # noqa: F401, PLC0415  (the provider's dependencies must be in the kernel first)
    import jsii  # noqa: PLC0415  (starts nothing by itself; the kernel starts on first use)

    if f"{PROVIDER_PACKAGE}._jsii" in sys.modules:
        return False  # the original is loaded already
    try:
        path, version = lazy_tarball(cache_dir)
        jsii.kernel.load(PROVIDER_ASSEMBLY, version, str(path))
    except (OSError, ValueError, tarfile.TarError, RuntimeError) as error:
        logger.warning("lazy provider loading unavailable, using the stock tarball", extra={"reason": str(error)})
        return False
    global _preloaded  # noqa: PLW0603  (the kernel is process-wide, so is this fact)
    _preloaded = path
    return True


def preloaded_tarball() -> Path | None:
    """The lazy copy loaded into this process's kernel, if any."""
    return _preloaded


#: the file the jsii kernel keeps in each complete package cache entry (and touches on every hit)
PACKAGE_CACHE_MARKER = ".jsii-runtime-package-cache"
PACKAGE_CACHE_VARIABLE = "JSII_RUNTIME_PACKAGE_CACHE_ROOT"


def _writable(directory: Path) -> bool:
    if directory.is_dir():
        return os.access(directory, os.W_OK | os.X_OK)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return True


def shadow_package_cache(source: Path, target: Path) -> int:
    """Mirror the jsii package cache ``source`` into ``target``; the number of complete entries mirrored.

    Directories are recreated, each entry's marker file is a real (writable) file, and everything else in
    an entry is a symbolic link into ``source``. The kernel runs Node.js with ``--preserve-symlinks``, so
    modules resolve their dependencies from the kernel's install directory, as with a normal cache.
    Idempotent: existing links and markers are kept.
    """
    entries = 0
    target.mkdir(parents=True, exist_ok=True)
    for child in sorted(source.iterdir()) if source.is_dir() else []:
        if not child.is_dir() or child.is_symlink():
            continue  # lock files and stray files of the cache itself
        mirror = target / child.name
        if (child / PACKAGE_CACHE_MARKER).is_file():
            mirror.mkdir(exist_ok=True)
            for item in child.iterdir():
                link = mirror / item.name
                if item.name == PACKAGE_CACHE_MARKER:
                    link.touch()
                elif not link.is_symlink():
                    link.symlink_to(item)
            entries += 1
        else:
            entries += shadow_package_cache(child, mirror)
    return entries


def use_writable_package_cache(
    environ: MutableMapping[str, str] | None = None, temp_root: Path | None = None
) -> Path | None:
    """Point the jsii kernel at a writable mirror when its package cache is read-only; the mirror, if any.

    Must run before the kernel starts (the first ``import cdktf``): Node.js reads the variable once.
    """
    env = os.environ if environ is None else environ
    if env.get("JSII_RUNTIME_PACKAGE_CACHE", "enabled").lower() != "enabled":
        return None
    root = package_cache_root(env)
    if _writable(root):
        return None
    mirror = (temp_root or Path(tempfile.gettempdir())) / "event-broker-jsii-package-cache"
    try:
        entries = shadow_package_cache(root, mirror)
    except OSError as error:
        # the kernel would fail on the read-only cache anyway; without the mirror it extracts afresh
        logger.warning("cannot mirror the jsii package cache", extra={"root": str(root), "reason": str(error)})
        env["JSII_RUNTIME_PACKAGE_CACHE"] = "disabled"
        return None
    env[PACKAGE_CACHE_VARIABLE] = str(mirror)
    logger.info("jsii package cache is read-only, using a mirror", extra={"root": str(root), "entries": entries})
    return mirror


def package_cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """Where the jsii kernel keeps extracted packages and their runtime indexes."""
    env = os.environ if environ is None else environ
    configured = env.get(PACKAGE_CACHE_VARIABLE)
    if configured:
        return Path(configured)
    return Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aws" / "jsii" / "package-cache"


def lazy_runtime_index_ready(version: str) -> bool:
    """True when the kernel has indexed the lazy copy, so later cold starts skip parsing its 125 MB assembly."""
    for directory in (package_cache_root() / PROVIDER_ASSEMBLY / version).glob("*"):
        index = directory / "lib" / "index.js"
        if (directory / ".jsii.runtime.v1.json").exists() and index.exists():
            with index.open(encoding="utf-8") as handle:
                if "Object.defineProperty(exports" in handle.read(1_000_000):
                    return True
    return False


def wait_for_runtime_index(version: str, timeout_seconds: float) -> bool:
    """Wait for the kernel's background index of the lazy copy (image build: keep the process alive)."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if lazy_runtime_index_ready(version):
            return True
        time.sleep(0.5)
    return lazy_runtime_index_ready(version)
