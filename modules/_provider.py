"""Import only the AWS provider submodules a stack uses.

``cdktf_cdktf_provider_aws/__init__.py`` imports all ~1500 resource submodules: 7-12 s and about
1.7 GB before any stack exists, paid by every cold generator start. Each submodule only needs the
package's ``_jsii`` assembly loader, so we register the package without running its ``__init__``
and let ``import cdktf_cdktf_provider_aws.<resource>`` load just what is asked for. The classes
are the very same ones, so the synthesized JSON is identical (a test compares both paths).

Set ``BROKER_STOCK_PROVIDER_IMPORT=1`` to use the stock package import instead.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import types

#: the AWS provider's Python package; ``generator.jsii_provider`` loads its jsii side
PROVIDER_PACKAGE = "cdktf_cdktf_provider_aws"
STOCK_IMPORT_VARIABLE = "BROKER_STOCK_PROVIDER_IMPORT"


# jsii prints a banner on every start under an old Node.js; the machines we run on carry Node 20.
JSII_QUIET = {
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20",
}


class NodeMissingError(RuntimeError):
    """cdktf cannot run: jsii needs Node.js on the PATH."""


def prepare_jsii() -> None:
    """Fail with a clear message when Node.js is missing, and quiet jsii's Node version banners."""
    if shutil.which("node") is None:
        raise NodeMissingError(
            "Node.js not found: cdktf runs through jsii, which needs Node.js 18 or newer on the PATH"
        )
    for name, value in JSII_QUIET.items():
        os.environ.setdefault(name, value)


def install_lazy_provider() -> bool:
    """Register the provider package without its eager ``__init__``; True when the lazy path is active."""
    prepare_jsii()
    if os.environ.get(STOCK_IMPORT_VARIABLE) == "1":
        return False
    existing = sys.modules.get(PROVIDER_PACKAGE)
    if existing is not None:
        return getattr(existing, "__broker_lazy__", False)
    spec = importlib.util.find_spec(PROVIDER_PACKAGE)
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError(f"{PROVIDER_PACKAGE} is not installed; run `make install`")
    package = types.ModuleType(PROVIDER_PACKAGE)
    package.__path__ = list(spec.submodule_search_locations)
    package.__file__ = spec.origin
    package.__package__ = PROVIDER_PACKAGE
    package.__spec__ = spec
    package.__broker_lazy__ = True  # type: ignore[attr-defined]
    sys.modules[PROVIDER_PACKAGE] = package
    return True
