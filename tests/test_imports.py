"""What the package imports: its own modules in one direction only (no cycle, not even inside functions),
and from outside exactly its declared dependencies."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "claude_magic"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, name: str, modules: set[str]) -> set[str]:
    """Every package module `path` imports, at the top or inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = {f"{base}.{alias.name}" for alias in node.names} & modules
            # `from . import batches` loads the submodule; the package itself is already importing.
            found.update(submodules if submodules and node.level else {base, *submodules})
    return {module for module in found if module in modules and module != name}


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: imported(path, name, set(paths)) for name, path in paths.items()}


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    assert "claude_magic.magic" in graph["claude_magic"]  # imported inside load_ipython_extension
    assert "claude_magic.failures" in graph["claude_magic.retry"]


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        raise AssertionError(f"import cycle: {' -> '.join(error.args[1])}") from None
    assert order


def test_failures_is_next_to_a_leaf_that_retry_and_errors_build_on():
    graph = import_graph()
    assert graph["claude_magic.failures"] == {"claude_magic.secrets"}  # one list of credentials, kept there
    assert graph["claude_magic.secrets"] == set()
    assert "claude_magic.errors" not in graph["claude_magic.retry"]
    assert {"claude_magic.failures", "claude_magic.retry"} <= graph["claude_magic.errors"]


def test_every_module_imports_first_in_a_fresh_interpreter():
    """Imported first, each module must load: a hidden cycle breaks exactly this."""
    script = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m.split('.')[0] == 'claude_magic']:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, *sorted(import_graph())], check=False, capture_output=True,
                          text=True, cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stderr


# Imported only when the user's own object is one of theirs (a DataFrame, an array), or for type checkers.
OPTIONAL = {"numpy", "pandas", "typing_extensions", "mcp"}  # mcp: the `mcp` extra, for --mcp
DISTRIBUTION = {"IPython": "ipython"}


def third_party_imports() -> set[str]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.add(node.module.split(".")[0])
    return {name for name in found - set(sys.stdlib_module_names) if name != "claude_magic"}


def test_the_declared_dependencies_are_what_the_package_imports():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {re.split(r"[<>=!~\[ ]", requirement)[0].lower(): requirement for requirement in project["dependencies"]}
    imported = {DISTRIBUTION.get(name, name).lower() for name in third_party_imports() - OPTIONAL}
    assert set(declared) == imported
    assert declared["anthropic"].startswith("anthropic>=2.") and "<3" in declared["anthropic"]  # see pyproject
    assert "nest_asyncio" not in third_party_imports()
    assert any(r.startswith("nest_asyncio") for r in project["optional-dependencies"]["dev"])  # tutorial 04


PUBLIC_ERRORS = ("ClaudeMagicError", "BadInput", "Stopped", "Failed")


def test_the_public_api_is_importable_from_the_package_and_importing_it_stays_cheap():
    """`from claude_magic import BadInput, …` works, `__all__` lists what the package offers, and none of it
    loads the SDK, IPython or the widgets: they come with the first question."""
    script = (
        "import sys\n"
        f"from claude_magic import {', '.join(PUBLIC_ERRORS)}\n"
        "import claude_magic\n"
        "from claude_magic import *  # noqa: F403\n"
        "assert issubclass(BadInput, ClaudeMagicError) and issubclass(Stopped, KeyboardInterrupt)\n"
        "assert not Failed('x') and str(Failed('rate limited')) == '⚠ rate limited'\n"
        "missing = [name for name in claude_magic.__all__ if not hasattr(claude_magic, name)]\n"
        "assert not missing, missing\n"
        "heavy = {'anthropic', 'IPython', 'ipywidgets', 'pydantic', 'jsonschema', 'httpx2', 'pandas'}\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "assert not loaded, loaded\n"
        "print(' '.join(sorted(claude_magic.__all__)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True,
                          cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stderr
    exported = set(done.stdout.split())
    assert set(PUBLIC_ERRORS) | {"ask", "aask", "load_ipython_extension", "client", "history"} <= exported
    assert not {name for name in exported if name.startswith("_") and name != "__version__"}


def test_the_errors_a_cell_raises_are_the_public_ones(nb):
    import claude_magic

    result, _ = nb.run('%%claude --model ""\nhi')
    assert isinstance(result.error_in_exec, claude_magic.BadInput)
    assert isinstance(result.error_in_exec, claude_magic.ClaudeMagicError)


def test_required_dependencies_are_imported_plainly_never_behind_an_importerror_fallback():
    """jsonschema and ipywidgets are required: no code path pretends they might be missing."""
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    required = {re.split(r"[<>=!~\[ ;]", requirement)[0].lower() for requirement in project["dependencies"]}
    assert {"jsonschema", "ipywidgets"} <= required
    guarded = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Try):
                continue
            catches = {ast.unparse(handler.type) for handler in node.handlers if handler.type is not None}
            if not catches & {"ImportError", "ModuleNotFoundError"}:
                continue
            for inner in ast.walk(ast.Module(body=node.body, type_ignores=[])):
                names = ([alias.name for alias in inner.names] if isinstance(inner, ast.Import)
                         else [inner.module or ""] if isinstance(inner, ast.ImportFrom) else [])
                guarded += [f"{path.name}: {name}" for name in names
                            if DISTRIBUTION.get(name.split(".")[0], name.split(".")[0]).lower() in required]
    assert guarded == []
