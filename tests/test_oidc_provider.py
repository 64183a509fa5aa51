"""The test identity provider (tests/oidc/) is a full OpenID Connect provider: discovery, JWKS, code flow."""

from __future__ import annotations

import json
import urllib.request


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_the_provider_publishes_discovery_and_signing_keys(oidc_provider):
    provider, _port = oidc_provider
    discovery = _get(provider.server_metadata_url)
    assert discovery["issuer"] == provider.issuer
    assert "code" in discovery["response_types_supported"]
    assert {"authorization_endpoint", "token_endpoint", "jwks_uri", "end_session_endpoint"} <= set(discovery)
    keys = _get(discovery["jwks_uri"])["keys"]
    assert keys and all(key["kty"] in ("RSA", "EC", "OKP") for key in keys)


def _run_without_node(pytester, monkeypatch, require: bool):
    pytester.makeconftest('pytest_plugins = ["tests.conftest_oidc"]\n')
    pytester.makepyfile(test_needs_idp="def test_needs_idp(oidc_provider):\n    assert oidc_provider\n")
    monkeypatch.setenv("PATH", str(pytester.path))  # no node on it
    monkeypatch.setenv("LENADASH_REQUIRE_SERVICES", "1" if require else "0")
    return pytester.runpytest_inprocess("-ra", "-p", "no:cacheprovider")


def test_without_node_the_sign_in_tests_skip_with_the_install_hint(pytester, monkeypatch):
    result = _run_without_node(pytester, monkeypatch, require=False)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*npm ci*node is not on PATH*"])


def test_without_node_required_services_fail_loudly(pytester, monkeypatch):
    result = _run_without_node(pytester, monkeypatch, require=True)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*LENADASH_REQUIRE_SERVICES=1 but the identity provider is missing*"])
