"""Privacy at the edges: private files on disk, CSV exports that no spreadsheet runs, text shown as text."""

from __future__ import annotations

import os
import stat

import pytest

from lenadash import imports, store


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask():
    """The common default umask (022), under which a plain mkdir/open gives 0755 and 0644."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_fresh_data_folder_and_database_files_are_private(tmp_path, open_umask):
    data_dir = tmp_path / "new" / "lenadash"
    engine = store.make_engine(f"sqlite:///{data_dir / 'lenadash.sqlite'}")
    with engine.connect() as connection:  # the WAL and shared-memory files exist while a connection is open
        assert _mode(data_dir) == 0o700
        for name in ("lenadash.sqlite", "lenadash.sqlite-wal", "lenadash.sqlite-shm"):
            assert (data_dir / name).exists(), name
            assert _mode(data_dir / name) == 0o600, name
        connection.close()
    engine.dispose()


def test_demo_database_is_private(tmp_path, open_umask):
    data_dir = tmp_path / "fresh"
    imports.load_demo(url=f"sqlite:///{data_dir / 'demo.sqlite'}")
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "demo.sqlite") == 0o600
