"""The layout shows the architecture: nothing under utils/ or validation/ imports a top-level script,
and utils/core imports nothing of the other utils packages (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import constants

ROOT = constants.PROJECT_ROOT
SCRIPTS = {path.stem for path in ROOT.glob("*.py")} - {"constants"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def test_no_upward_import_into_a_script():
    assert len(SCRIPTS) >= 10 and "build_dataset" in SCRIPTS
    upward = {
        str(path.relative_to(ROOT)): sorted(name for name in _imports(path) if name.split(".")[0] in SCRIPTS)
        for path in _modules("utils", "validation")
    }
    assert {path: names for path, names in upward.items() if names} == {}


def test_core_stands_alone():
    others = ("utils.census", "utils.synth", "utils.chain", "utils.metrics", "utils.private_copy")
    found = {
        str(path.relative_to(ROOT)): sorted(n for n in _imports(path) if n.startswith(others))
        for path in _modules("utils/core")
    }
    assert {path: names for path, names in found.items() if names} == {}
