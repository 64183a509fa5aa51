"""pyproject.toml names the packages requirements.txt pins, and constraints.txt pins all of them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import lenadash

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _pins(name: str) -> dict[str, str]:
    """{normalised package name: version} of the `name==version` lines of a requirements file."""
    pins = {}
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==(\S+)", line):
            pins[_normal(match[1])] = match[3]
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()  # PEP 503: psycopg[binary] -> psycopg


def test_pyproject_names_exactly_the_pinned_requirements():
    named = {_normal(n) for n in PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"]}
    assert named == set(_pins("requirements.txt"))


def test_constraints_pin_every_requirement_at_the_same_version():
    constraints = _pins("constraints.txt")
    for name, version in _pins("requirements.txt").items():
        assert constraints.get(name) == version, name


def test_the_version_comes_from_the_package():
    assert PROJECT["dynamic"] == ["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", lenadash.__version__)
