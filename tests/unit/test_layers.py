"""Who may import whom, checked on the source (docs/architecture.md).

Each module's layer comes from its package, so a file is checked the day it is added: no
list of files to keep. A package's modules may import their own package, the layers it may
use (LAYERS) and the third-party libraries not forbidden to it (FORBIDDEN).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "loadprofile"

#: Subpackages whose layer differs from their parent's (the longest prefix wins).
OWN_LAYER = {
    "client.apis": "pure",
    "client.server_metrics": "pure",
    "client.server_context": "pure",
}

#: layer -> the packages of the first level that belong to it.
PACKAGES = {
    "pure": {"config", "contract", "core", "dataset", "quality"},
    "client": {"client"},
    "launch": {"launch"},
    "rundir": {"rundir"},
    "report": {"report"},
    "commands": {"commands"},
    "engine": {"engine"},
    "mock": {"mock"},
    "terminal": {"console"},
    "top": {"cli", "errors", "users", "shapes", "__init__", "__main__"},
}
#: layer -> the layers its modules may import (besides their own and ``loadprofile.errors``).
LAYERS = {
    "pure": set(),
    "client": {"pure", "rundir"},
    "launch": set(),
    "rundir": {"pure"},
    # The report reads run folders (and snapshots, for the drift report).
    "report": {"pure", "rundir"},
    # The commands read run folders and snapshots, and draw through the report; ``snapshot``
    # alone asks a server, through the client, the embedded mock if none is given.
    "commands": {"pure", "rundir", "client", "launch", "report"},
    "engine": {"pure", "client", "launch", "rundir", "terminal"},
    "mock": set(),
    "terminal": {"pure"},
    "top": {
        "pure",
        "client",
        "launch",
        "rundir",
        "report",
        "commands",
        "engine",
        "mock",
        "terminal",
    },
}
#: Third-party imports a layer must never make (Locust monkey-patches the process).
FORBIDDEN = {
    "pure": {"locust", "gevent", "matplotlib", "aiohttp", "asyncio", "socket", "ssl"},
    "client": {"locust", "matplotlib", "aiohttp", "asyncio"},
    "launch": {"locust", "gevent", "matplotlib"},
    "rundir": {"locust", "gevent", "matplotlib", "aiohttp", "asyncio"},
    "report": {"locust", "gevent", "aiohttp", "asyncio"},
    # Only the report draws (matplotlib is slow to import and has no business elsewhere).
    "commands": {"locust", "gevent", "aiohttp", "asyncio", "matplotlib"},
    "engine": {"matplotlib", "aiohttp", "asyncio"},
    "mock": {"locust", "gevent", "matplotlib"},
    "terminal": {"locust", "gevent", "matplotlib"},
    "top": set(),
}
#: The top of the package stays small: a newcomer starts in the packages.
MAX_TOP_MODULES = 10


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def _layer(module: str) -> str:
    for prefix in sorted(OWN_LAYER, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return OWN_LAYER[prefix]
    first = module.split(".")[0]
    for layer, packages in PACKAGES.items():
        if first in packages:
            return layer
    raise AssertionError(f"loadprofile.{module} is in no layer: add its package to PACKAGES")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "loadprofile":  # from loadprofile import x
                names.update(f"loadprofile.{alias.name}" for alias in node.names)
    return names


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module(p))
def test_every_module_imports_only_what_its_layer_may(path: Path) -> None:
    module = _module(path)
    layer = _layer(module)
    own_package = module.split(".")[0]
    wrong = []
    for name in sorted(_imports(path)):
        if name == "loadprofile.__version__" or name == "loadprofile":
            continue
        if name.startswith("loadprofile."):
            target = name.removeprefix("loadprofile.")
            if target == "errors" or target.split(".")[0] == own_package:
                continue
            if _layer(target) not in LAYERS[layer] | {layer}:
                wrong.append(f"{name} ({_layer(target)})")
        elif name.split(".")[0] in FORBIDDEN[layer]:
            wrong.append(name)
    assert wrong == [], f"loadprofile.{module} ({layer}) may not import these"


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "contract").rglob("*.py")), ids=lambda p: _module(p)
)
def test_the_contract_imports_only_the_standard_library_and_msgspec(path: Path) -> None:
    """summary.json's and run.json's models stand alone: any reader may take them."""
    import sys

    wrong = [
        name
        for name in sorted(_imports(path))
        if not name.startswith("loadprofile.contract")
        and name.split(".")[0] not in sys.stdlib_module_names | {"msgspec", "__future__"}
    ]
    assert wrong == []


def test_the_top_of_the_package_stays_small() -> None:
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top
    assert set(top) <= PACKAGES["top"] | PACKAGES["terminal"]


def test_the_layer_rules_catch_an_engine_import_in_the_core(tmp_path: Path) -> None:
    """The check itself: a pure module importing the engine or gevent is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("import gevent\nfrom loadprofile.engine.session import RunSession\n")
    names = _imports(bad)
    assert {n for n in names if n.split(".")[0] in FORBIDDEN["pure"]} == {"gevent"}
    assert _layer("engine.session") not in LAYERS["pure"]
    assert _layer("client.apis.sse") == "pure" and _layer("client.http.client") == "client"
