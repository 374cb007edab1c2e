"""Digest authentication: the challenge parser, a standard server we did not write (httpbin), and
the sandbox's strict rules (nonce reuse, stale nonces, refused credentials)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from werkzeug.serving import make_server

from local.minted_sandbox.control import SandboxControl
from minted_gateway.minted import MintedClient, PartnerCredentials, StaticCredentials
from minted_gateway.minted import errors as e
from minted_gateway.minted.digest import DigestAuth, choose_challenge, parse_challenges
from minted_gateway.minted.models import PriceFixRequest
from tests.conftest import partner_credentials


def test_parses_several_challenges_from_one_header_and_prefers_sha256() -> None:
    header = (
        'Digest realm="a, b", nonce="n1", qop="auth,auth-int", algorithm=MD5, opaque="o", '
        'Basic realm="x", Digest realm="r2", nonce="n2", qop="auth", algorithm=SHA-256, stale=TRUE'
    )
    challenges = parse_challenges([header])
    assert [(c.realm, c.nonce, c.algorithm) for c in challenges] == [("a, b", "n1", "MD5"), ("r2", "n2", "SHA-256")]
    assert challenges[0].qop == ("auth", "auth-int") and challenges[1].stale
    chosen = choose_challenge(challenges, ("SHA-256", "MD5"))
    assert chosen is not None and chosen.nonce == "n2"
    assert choose_challenge(challenges, ("MD5",)).nonce == "n1"  # type: ignore[union-attr]


def test_refuses_challenges_it_cannot_answer() -> None:
    only_int = parse_challenges(['Digest realm="r", nonce="n", qop="auth-int", algorithm=MD5'])
    sha512 = parse_challenges(['Digest realm="r", nonce="n", qop="auth", algorithm=SHA-512'])
    assert choose_challenge(only_int, ("MD5",)) is None
    assert choose_challenge(sha512, ("SHA-256", "MD5")) is None


# ---------------------------------------------------------------- httpbin: a Digest server we did not write
@pytest.fixture(scope="module")
def httpbin_url() -> Iterator[str]:
    from httpbin import app as httpbin_app

    server = make_server("127.0.0.1", 0, httpbin_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class CountingSecret:
    def __init__(self, username: str, password: str, base_url: str) -> None:
        self.credentials = PartnerCredentials.model_validate(
            {"username": username, "password": password, "base_url": base_url}
        )
        self.forced_refreshes = 0

    def __call__(self, force_refresh: bool) -> PartnerCredentials:
        self.forced_refreshes += force_refresh
        return self.credentials


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_authenticates_against_httpbin(httpbin_url: str, algorithm: str) -> None:
    secret = CountingSecret("user", "passwd", httpbin_url)
    session = requests.Session()
    response = session.get(
        f"{httpbin_url}/digest-auth/auth/user/passwd/{algorithm}", auth=DigestAuth(secret), timeout=5
    )
    assert response.status_code == 200
    assert response.json() == {"authenticated": True, "user": "user"}
    assert secret.forced_refreshes == 0


def test_renews_a_stale_nonce_from_httpbin_without_failing(httpbin_url: str) -> None:
    secret = CountingSecret("user", "passwd", httpbin_url)
    session, auth = requests.Session(), DigestAuth(secret)
    url = f"{httpbin_url}/digest-auth/auth/user/passwd/MD5/2"  # httpbin calls the nonce stale after 2 uses
    statuses = [session.get(url, auth=auth, timeout=5).status_code for _ in range(5)]
    assert statuses == [200] * 5
    assert secret.forced_refreshes == 0


def test_wrong_password_at_httpbin_refreshes_once_then_gives_up(httpbin_url: str) -> None:
    secret = CountingSecret("user", "wrong", httpbin_url)
    response = requests.get(f"{httpbin_url}/digest-auth/auth/user/passwd/MD5", auth=DigestAuth(secret), timeout=5)
    assert response.status_code == 401
    assert secret.forced_refreshes == 1


# ---------------------------------------------------------------- the sandbox's strict Digest
def test_a_warm_call_is_exactly_one_http_request(minted: MintedClient, sandbox: SandboxControl) -> None:
    minted.order_statuses()  # first call pays the challenge
    before = sandbox.counters()
    assert before["unauthorized"]["order_statuses"] == 1
    minted.order_statuses()
    minted.price_fix(PriceFixRequest())
    after = sandbox.counters()
    assert after["requests"]["order_statuses"] - before["requests"]["order_statuses"] == 1
    assert after["requests"]["pricefix"] == 1
    assert after["unauthorized"].get("pricefix", 0) == 0


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_each_algorithm_works_when_the_server_offers_only_it(
    minted: MintedClient, sandbox: SandboxControl, algorithm: str
) -> None:
    sandbox.digest(algorithms=[algorithm])
    assert len(minted.order_statuses()) == 12


def test_a_stale_nonce_is_renewed_without_failing_the_call(minted: MintedClient, sandbox: SandboxControl) -> None:
    minted.order_statuses()
    sandbox.digest(nonce_ttl_seconds=60)
    sandbox.clock(advance_seconds=61)
    assert len(minted.order_statuses()) == 12
    assert sandbox.counters()["unauthorized"]["order_statuses"] == 2  # first challenge, then one stale


def test_a_nonce_the_server_forgot_is_replaced(minted: MintedClient, sandbox: SandboxControl) -> None:
    minted.order_statuses()
    sandbox.digest(forget_nonces=True)  # as after a server restart: the nonce is unknown, not stale
    assert len(minted.order_statuses()) == 12


def test_wrong_credentials_raise_bad_credentials_without_leaking_them(sandbox: SandboxControl) -> None:
    client = MintedClient(StaticCredentials(partner_credentials(sandbox.base_url, password="not-the-password")))
    with pytest.raises(e.MintedBadCredentialsError) as refused:
        client.order_statuses()
    assert refused.value.status == 401
    text = f"{refused.value} {refused.value!r} {client!r}"
    assert "not-the-password" not in text and "partner" not in text.replace("partner credentials", "")


def test_a_buy_refused_by_auth_is_resent_but_reaches_minted_once(minted: MintedClient, sandbox: SandboxControl) -> None:
    """The challenge round trip resends a buy; Minted acts only on the authenticated one."""
    from decimal import Decimal

    from minted_gateway.minted.models import BuyRequest, OrderLine

    token = minted.price_fix(PriceFixRequest()).token
    sandbox.digest(forget_nonces=True)
    minted.buy(BuyRequest(price_token=token, external_id="auth-buy-1", items=[OrderLine(sku="GAG", amount=Decimal(3))]))
    counters = sandbox.counters()
    assert counters["unauthorized"]["buy"] == 1 and counters["requests"]["buy"] == 2
    assert counters["orders_created"]["buy"] == 1


# ---------------------------------------------------------------- any realm, nextnonce, a moved host
@pytest.mark.parametrize("realm", ["Minted Digest Area", "Partner Basic access", 'quoted "realm", with, commas'])
def test_logs_in_whatever_the_realm_says(minted: MintedClient, sandbox: SandboxControl, realm: str) -> None:
    sandbox.digest(realm=realm)
    assert len(minted.order_statuses()) == 12
    assert sandbox.counters()["unauthorized"]["order_statuses"] == 1  # the first challenge only


def test_a_realm_naming_another_scheme_is_still_one_digest_challenge() -> None:
    header = 'Digest realm="Partner Basic access", nonce="n1", qop="auth", algorithm=SHA-256'
    (challenge,) = parse_challenges([header])
    assert (challenge.realm, challenge.nonce, challenge.algorithm) == ("Partner Basic access", "n1", "SHA-256")


def test_the_servers_nextnonce_is_used_for_the_next_request(minted: MintedClient, sandbox: SandboxControl) -> None:
    """With nextnonce on, the sandbox retires each nonce once used: ignoring nextnonce costs a 401 a call."""
    sandbox.digest(next_nonce=True)
    for _ in range(4):
        assert len(minted.order_statuses()) == 12
    counters = sandbox.counters()
    assert counters["requests"]["order_statuses"] == 5 and counters["unauthorized"]["order_statuses"] == 1


class RotatingSecret:
    """A secret source whose value a rotation replaces; the client sees it on its forced refresh."""

    def __init__(self, first: PartnerCredentials) -> None:
        self.cached = self.stored = first
        self.forced_refreshes = 0

    def get(self, *, force_refresh: bool = False) -> PartnerCredentials:
        if force_refresh:
            self.forced_refreshes += 1
            self.cached = self.stored
        return self.cached


def test_after_a_rotation_to_another_host_the_resend_goes_to_the_new_host(sandbox: SandboxControl) -> None:
    from local.minted_sandbox.server import SandboxServer
    from local.minted_sandbox.state import SandboxSettings

    secret = RotatingSecret(partner_credentials(sandbox.base_url))
    client = MintedClient(secret)
    client.order_statuses()
    new_settings = SandboxSettings(username="partner", password="new-host-password", realm="Minted Digest Area")
    with SandboxServer(new_settings) as new:
        new_host = SandboxControl(new.url)
        secret.stored = partner_credentials(new.url, password="new-host-password")
        sandbox.rotate_credentials("partner", "retired-password")  # the old host refuses the old secret now
        assert len(client.order_statuses()) == 12
        assert secret.forced_refreshes == 1
        assert new_host.served("order_statuses") == 1
        assert sandbox.served("order_statuses") == 1  # only the call made before the rotation
        client.order_statuses()  # and the next call goes to the new host from the start
        assert new_host.served("order_statuses") == 2 and new_host.counters()["unauthorized"]["order_statuses"] == 1
