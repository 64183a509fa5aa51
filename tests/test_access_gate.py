"""app.py's access.gate(): nothing in local mode (the README's first command asks for no sign-in);
in clinic mode a browser that is not signed in gets the sign-in screen and no page, no navigation."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LENADASH_DATABASE_URL", f"sqlite:///{tmp_path / 'clinic.sqlite'}")
    monkeypatch.setenv("LENADASH_DEMO_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.sqlite'}")
    return tmp_path


def _labels(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


def test_local_mode_opens_without_sign_in(env, monkeypatch):
    monkeypatch.delenv("LENADASH_MODE", raising=False)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "Sign in" not in _labels(at) and "Sign out" not in _labels(at)
    assert "Explore the sample clinic" in _labels(at)


def test_clinic_mode_refuses_to_start_on_sqlite_and_says_how_to_fix_it(env, monkeypatch):
    monkeypatch.setenv("LENADASH_MODE", "clinic")
    monkeypatch.delenv("LENADASH_CLINIC_ON_SQLITE", raising=False)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and _labels(at) == []
    assert [e.value for e in at.error] == ["lenadash cannot start in clinic mode on this database."]
    fix = " ".join(t.value for t in at.text)
    assert "set LENADASH_DATABASE_URL to it, e.g. postgresql+psycopg://" in fix
    assert "LENADASH_CLINIC_ON_SQLITE=1" in fix


def test_clinic_mode_shows_only_the_sign_in_screen(env, monkeypatch):
    monkeypatch.setenv("LENADASH_MODE", "clinic")
    monkeypatch.setenv("LENADASH_CLINIC_ON_SQLITE", "1")  # a one-machine trial; PostgreSQL otherwise
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert _labels(at) == ["Sign in"]
    assert "Explore the sample clinic" not in _labels(at)
    assert len(at.sidebar) == 0 or not any(b.label != "Sign in" for b in at.sidebar.button)
    # Without an [auth] section the button says what to set up instead of failing.
    at.button[0].click().run()
    assert not at.exception
    assert any("secrets.toml" in e.value for e in at.error)
