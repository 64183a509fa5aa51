"""A real OpenID Connect provider for the sign-in tests: panva's oidc-provider (tests/oidc/), started
on a free loopback port. Skips without Node.js or `npm ci` in tests/oidc, fails instead under
LENADASH_REQUIRE_SERVICES=1 (like the PostgreSQL and Chromium fixtures)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
OIDC_SKIP_MESSAGE = (
    "install Node.js and the test identity provider (apt-get install nodejs npm; cd tests/oidc && npm ci) "
    "to run the sign-in tests"
)
CLIENT_ID = "lenadash"
CLIENT_SECRET = "lenadash-test-secret"


@dataclass(frozen=True)
class OidcProvider:
    """A running provider: its issuer URL, discovery document URL and the one client's credentials."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str

    @property
    def server_metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not on PATH"
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        return "tests/oidc/node_modules is missing (run npm ci there)"
    return None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200 and "issuer" in json.loads(response.read())
    except OSError:
        return False


def start_oidc_provider(log_path: Path, redirect_uri: str) -> tuple[subprocess.Popen, OidcProvider]:
    """Start tests/oidc/server.mjs for one Streamlit server's `redirect_uri`; skip or fail when missing."""
    if (reason := _missing()) is not None:
        if os.environ.get("LENADASH_REQUIRE_SERVICES") == "1":
            missing = f"the identity provider is missing ({reason})"
            pytest.fail(f"LENADASH_REQUIRE_SERVICES=1 but {missing}: {OIDC_SKIP_MESSAGE}")
        pytest.skip(f"{OIDC_SKIP_MESSAGE} ({reason})")
    port = _free_port()
    env = {**os.environ, "OIDC_PORT": str(port), "OIDC_REDIRECT_URIS": redirect_uri}
    env["OIDC_CLIENT_SECRET"] = CLIENT_SECRET
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            ["node", "server.mjs"],
            cwd=OIDC_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    provider = OidcProvider(f"http://127.0.0.1:{port}", CLIENT_ID, CLIENT_SECRET, redirect_uri)
    deadline = time.monotonic() + 30
    while not _answers(provider.server_metadata_url):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the identity provider did not start: {log_path.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)
    return proc, provider


def stop_oidc_provider(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def oidc_provider(tmp_path):
    """The provider with a client whose redirect URI is http://127.0.0.1:<streamlit port>/oauth2callback.

    Yields (provider, streamlit_port): the Streamlit server must be started on that port."""
    streamlit_port = _free_port()
    proc, provider = start_oidc_provider(tmp_path / "oidc.log", f"http://127.0.0.1:{streamlit_port}/oauth2callback")
    yield provider, streamlit_port
    stop_oidc_provider(proc)
