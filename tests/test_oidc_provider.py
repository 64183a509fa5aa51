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
