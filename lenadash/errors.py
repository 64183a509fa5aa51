"""What a user can fix: one error family that pages and the CLI catch and show, with the fix.

Anything that is not a `LenadashError` is a bug: the CLI lets it fail loudly, pages show a generic
"something went wrong, nothing was saved" (with Streamlit's error details off), and tests fail.
Every message says what happened and how to fix it, and never carries a patient's data.
"""

from __future__ import annotations


class LenadashError(Exception):
    """A problem the user can fix; `str(error)` is the message shown, fix included."""


class UnrecognisedFile(LenadashError, ValueError):
    """The file's shape is not one lenadash reads; the message names what was found and expected."""


class StoreError(LenadashError, ValueError):
    """Input the store cannot save, or a database it cannot use; the message says how to fix it."""


class ProfileError(LenadashError, ValueError):
    """A rule profile file is missing or malformed; the message names the file, line and fix."""


class InputError(LenadashError, ValueError):
    """A value typed into a form or given on the command line is not valid; the message says why."""
