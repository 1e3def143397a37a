"""What CI installs is what pyproject.toml promises: the newest releases it allows, and its floors.

`.ci/run` runs the quick suite a second time with every direct dependency at its floor
(`uv pip install --resolution lowest-direct`) and `CLAUDE_MAGIC_FLOORS=1`: there these tests check that
the run really is at the floors, so that a green floors run means every `>=` is true.
"""

from __future__ import annotations

import os
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def requirements() -> list[Requirement]:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    listed = [*project["dependencies"], *project["optional-dependencies"]["tutorials"],
              *project["optional-dependencies"]["dev"]]
    return [Requirement(line) for line in listed if not line.startswith("claude-magic")]


def floor(requirement: Requirement) -> Version | None:
    floors = [Version(spec.version) for spec in requirement.specifier if spec.operator == ">="]
    return floors[0] if floors else None


def test_every_dependency_has_a_floor_and_the_sdk_a_ceiling():
    """A dependency without a floor lets `lowest-direct` pick a release from another age (numpy 1.3)."""
    assert [str(r) for r in requirements() if floor(r) is None] == []
    (anthropic,) = [r for r in requirements() if r.name == "anthropic"]
    assert any(spec.operator == "<" for spec in anthropic.specifier)  # semi-private SDK parts: see pyproject
    assert floor(anthropic) >= Version("2.5")


def test_the_installed_releases_satisfy_pyproject():
    wrong = [f"{r.name} {version(r.name)} not {r.specifier}" for r in requirements()
             if not r.specifier.contains(version(r.name), prereleases=True)]
    assert wrong == []


@pytest.mark.skipif(os.environ.get("CLAUDE_MAGIC_FLOORS") != "1", reason="only in .ci/run's floors venv")
def test_the_floors_run_is_at_the_floors():
    """Every direct dependency installed exactly at its floor (`uv --resolution lowest-direct`)."""
    above = [f"{r.name} {version(r.name)} > {floor(r)}" for r in requirements()
             if Version(version(r.name)) != floor(r)]
    assert above == []

