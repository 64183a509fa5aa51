"""The dashboard server's watched folder (LENADASH_WATCH_FOLDER): one background watcher per server process."""

from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st

from lenadash import watch
from lenadash.config import get_settings


@st.cache_resource(show_spinner=False)
def start_watch() -> threading.Thread | None:
    """Start watching LENADASH_WATCH_FOLDER into the clinic database (never the sample clinic's), once per
    server process; None when the setting is empty. Imported files show in the upload history as "folder"."""
    settings = get_settings()
    if not settings.watch_folder:
        return None
    return watch.start_in_background(Path(settings.watch_folder), settings.database_url)
