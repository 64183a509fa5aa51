"""The README documents every setting, both entry commands, every docs page and each profile."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from lenadash import config
from lenadash.clinical.dosing import list_profiles

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("variable", sorted(config.SETTINGS_DOC))
def test_every_setting_is_in_the_readme(variable):
    assert f"`{variable}`" in README, f"{variable} is read by lenadash/config.py but not documented in README.md"


def test_config_documents_every_variable_it_reads():
    source = (ROOT / "lenadash" / "config.py").read_text(encoding="utf-8")
    read = set(re.findall(r"\"(LENADASH_[A-Z_]+)\"", source))
    assert read == set(config.SETTINGS_DOC)


def test_settings_from_env_reads_each_documented_variable(tmp_path):
    env = {
        "LENADASH_DATA_DIR": str(tmp_path),
        "LENADASH_DATABASE_URL": "sqlite:///x.sqlite",
        "LENADASH_DEMO_DATABASE_URL": "sqlite:///y.sqlite",
        "LENADASH_RULES": "eu_smpc",
    }
    s = config.Settings.from_env(env)
    assert (s.data_dir, s.database_url, s.demo_database_url, s.rules) == (
        tmp_path,
        "sqlite:///x.sqlite",
        "sqlite:///y.sqlite",
        "eu_smpc",
    )
    default = config.Settings.from_env({"LENADASH_DATA_DIR": str(tmp_path)})
    assert default.database_url == f"sqlite:///{tmp_path / 'lenadash.sqlite'}"
    assert default.demo_database_url != default.database_url  # the sample clinic never mixes with real patients


@pytest.mark.parametrize("page", sorted(p.name for p in (ROOT / "docs").glob("*.md")))
def test_every_docs_page_is_linked_from_the_readme(page):
    assert f"docs/{page}" in README, f"docs/{page} is not linked from README.md"


def test_readme_names_the_two_commands_and_dev_knows_them():
    assert "./dev open" in README and "./dev test" in README
    usage = subprocess.run(["bash", str(ROOT / "dev")], capture_output=True, text=True)
    assert usage.returncode == 2
    assert "open" in usage.stderr and "test" in usage.stderr


def test_ci_runs_the_readme_test_command_with_services_required():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "LENADASH_REQUIRE_SERVICES=1 ./dev test" in ci
    assert "postgresql" in ci and "chromium" in ci


def test_every_rule_profile_is_named_in_the_readme_or_dosing_docs():
    dosing_doc = (ROOT / "docs" / "dosing.md").read_text(encoding="utf-8")
    for pid in list_profiles()["id"]:
        assert f"`{pid}`" in README + dosing_doc


def test_readme_images_exist():
    for image in re.findall(r"\]\((docs/screenshots/[^)]+)\)", README):
        assert (ROOT / image).is_file(), image
