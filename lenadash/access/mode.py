"""Local or clinic mode (LENADASH_MODE): the one question every other part of access asks first."""

from __future__ import annotations

from lenadash.config import get_settings


def is_clinic() -> bool:
    """True in clinic mode: sign-in required, roles from the database. Local mode (the default) asks
    for no sign-in and records this computer's user as the actor."""
    return get_settings().mode == "clinic"


def idle_timeout_s() -> float:
    return get_settings().idle_timeout_min * 60.0
