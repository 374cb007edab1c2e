"""RFC 7616 HTTP Digest authentication for requests, with nonce reuse.

Once a nonce is known, each request carries an Authorization header computed up front with the
next nonce count, so a warm call is one HTTP request instead of a 401 round trip. A 401 is
answered by taking the new challenge and resending once; a 401 that survives a fresh challenge
triggers exactly one forced refresh of the credentials (a rotated secret), then gives up.

Resending is safe for every method, buys included: a 401 means the server refused the request
before acting on it.

Challenges are read with quoting respected, so a realm may say anything ("Minted Digest Area",
"Partner Basic access"). A server's ``Authentication-Info: nextnonce`` is taken for the next
request. When the refreshed secret names another ``base_url``, the resend goes to the new host.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

_HASHES: dict[str, Callable[[bytes], Any]] = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
DEFAULT_ALGORITHMS = ("SHA-256", "MD5")  # preference order when a server offers several
_MAX_RESENDS = 4  # new nonce, a stale one, the refreshed secret, and one spare for a server restart

# RFC 9110 11.2: an auth-param is token = ( token / quoted-string ); a bare token starts a challenge.
_AUTH_ITEM = re.compile(r'\s*(?P<name>[^\s=,]+)(?:\s*=\s*(?P<value>"(?:[^"\\]|\\.)*"|[^\s,]*))?[\s,]*')


class Secret(Protocol):
    """What the authenticator needs of the partner's credentials."""

    @property
    def username(self) -> str: ...

    @property
    def base_url(self) -> str: ...

    def password_value(self) -> str: ...


class Challenge(NamedTuple):
    realm: str
    nonce: str
    algorithm: str
    qop: tuple[str, ...]
    opaque: str | None
    stale: bool


def parse_challenges(header_values: list[str]) -> list[Challenge]:
    """Every Digest challenge in the given WWW-Authenticate values (one header may hold several).

    Read item by item with quoted strings kept whole, so a realm's words are never taken for a scheme.
    """
    challenges = []
    for value in header_values:
        schemes: list[tuple[str, dict[str, str]]] = []
        for item in _AUTH_ITEM.finditer(value):
            name, raw = item.group("name"), item.group("value")
            if raw is None:
                schemes.append((name.lower(), {}))  # a bare token: the next challenge's scheme
            elif schemes:
                schemes[-1][1].setdefault(name.lower(), _unquote(raw))
        for scheme, params in schemes:
            if scheme != "digest" or "nonce" not in params:
                continue
            challenges.append(
                Challenge(
                    realm=params.get("realm", ""),
                    nonce=params["nonce"],
                    algorithm=params.get("algorithm", "MD5").upper(),
                    qop=tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip()),
                    opaque=params.get("opaque"),
                    stale=params.get("stale", "").lower() == "true",
                )
            )
    return challenges


def next_nonce(authentication_info: str | None) -> str | None:
    """The ``nextnonce`` of an Authentication-Info header (RFC 7616 3.5), if it has one."""
    for item in _AUTH_ITEM.finditer(authentication_info or ""):
        if item.group("name").lower() == "nextnonce" and item.group("value"):
            return _unquote(item.group("value"))
    return None


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return raw


def choose_challenge(challenges: list[Challenge], algorithms: tuple[str, ...]) -> Challenge | None:
    usable = [c for c in challenges if c.algorithm in algorithms and (not c.qop or "auth" in c.qop)]
    usable.sort(key=lambda c: algorithms.index(c.algorithm))
    return usable[0] if usable else None


def digest_response(
    challenge: Challenge, *, username: str, password: str, method: str, uri: str, nc: int, cnonce: str
) -> str:
    """The Authorization header value for one request under ``challenge``."""
    digest = _HASHES[challenge.algorithm]

    def h(text: str) -> str:
        return str(digest(text.encode("utf-8")).hexdigest())

    ha1 = h(f"{username}:{challenge.realm}:{password}")
    ha2 = h(f"{method}:{uri}")
    fields = [
        f'username="{_quote(username)}"',
        f'realm="{_quote(challenge.realm)}"',
        f'nonce="{_quote(challenge.nonce)}"',
        f'uri="{_quote(uri)}"',
        f"algorithm={challenge.algorithm}",
    ]
    if challenge.qop:
        nc_text = f"{nc:08x}"
        response = h(f"{ha1}:{challenge.nonce}:{nc_text}:{cnonce}:auth:{ha2}")
        fields += [f'response="{response}"', "qop=auth", f"nc={nc_text}", f'cnonce="{cnonce}"']
    else:  # RFC 2069 servers that offer no qop
        fields.append(f'response="{h(f"{ha1}:{challenge.nonce}:{ha2}")}"')
    if challenge.opaque is not None:
        fields.append(f'opaque="{_quote(challenge.opaque)}"')
    return "Digest " + ", ".join(fields)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def request_uri(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class DigestAuth(AuthBase):
    """requests auth handler: Digest with nonce reuse and one forced credential refresh.

    ``credentials(force_refresh)`` returns the current username and password; it is called with
    ``True`` at most once per request, when a fresh challenge still refuses the credentials.
    """

    def __init__(
        self,
        credentials: Callable[[bool], Secret],
        *,
        algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS,
        on_refresh: Callable[[], None] | None = None,
    ) -> None:
        unknown = set(algorithms) - set(_HASHES)
        if unknown:
            raise ValueError(f"unsupported digest algorithms: {sorted(unknown)}")
        self._credentials = credentials
        self._algorithms = algorithms
        self._on_refresh = on_refresh
        self._lock = threading.Lock()
        self._challenge: Challenge | None = None
        self._nc = 0

    def forget(self) -> None:
        """Drop the nonce and its count: two copies restored from one snapshot would send the same counts."""
        with self._lock:
            self._challenge, self._nc = None, 0

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        self._authorize(request, self._credentials(False))
        request.register_hook("response", self._on_response)  # type: ignore[no-untyped-call]
        return request

    def _authorize(self, request: requests.PreparedRequest, secret: Secret) -> None:
        with self._lock:
            if self._challenge is None:
                request.headers.pop("Authorization", None)
                return
            self._nc += 1
            challenge, nc = self._challenge, self._nc
        request.headers["Authorization"] = digest_response(
            challenge,
            username=secret.username,
            password=secret.password_value(),
            method=request.method or "GET",
            uri=request_uri(request.url or "/"),
            nc=nc,
            cnonce=os.urandom(8).hex(),
        )

    def _adopt(self, response: requests.Response) -> Challenge | None:
        # Several WWW-Authenticate headers (one per algorithm) arrive separately in urllib3's headers.
        raw_headers: Any = getattr(response.raw, "headers", None)
        values: list[str] = raw_headers.getlist("WWW-Authenticate") if hasattr(raw_headers, "getlist") else []
        if not values and "WWW-Authenticate" in response.headers:
            values = [response.headers["WWW-Authenticate"]]
        challenge = choose_challenge(parse_challenges(values), self._algorithms)
        if challenge is not None:
            with self._lock:
                self._challenge, self._nc = challenge, 0
        return challenge

    def _take_next_nonce(self, response: requests.Response) -> None:
        nonce = next_nonce(response.headers.get("Authentication-Info"))
        if nonce is None:
            return
        with self._lock:
            if self._challenge is not None:
                self._challenge, self._nc = self._challenge._replace(nonce=nonce, stale=False), 0

    def _on_response(self, response: requests.Response, **send_kwargs: Any) -> requests.Response:
        response = self._handle_401(response, **send_kwargs)
        if response.status_code != 401:
            self._take_next_nonce(response)
        return response

    def _handle_401(self, response: requests.Response, **send_kwargs: Any) -> requests.Response:
        """Resend after a 401: first with the new nonce, then once more with refreshed credentials."""
        refreshed = False
        sent_with_stale_state = True  # the first attempt may have used a cached nonce or secret
        for _ in range(_MAX_RESENDS):
            if response.status_code != 401:
                break
            challenge = self._adopt(response)
            if challenge is None:
                return response
            had_authorization = "Authorization" in response.request.headers
            fresh_nonce_refused = had_authorization and not challenge.stale and not sent_with_stale_state
            used = self._credentials(False)
            if fresh_nonce_refused:
                if refreshed:
                    return response
                refreshed = True
                if self._on_refresh:
                    self._on_refresh()
                secret = self._credentials(True)
            else:
                secret = used
            sent_with_stale_state = False
            response = self._resend(response, secret, send_kwargs, moved_from=used.base_url)
        return response

    def _resend(
        self, response: requests.Response, secret: Secret, send_kwargs: dict[str, Any], *, moved_from: str
    ) -> requests.Response:
        response.content  # noqa: B018 - drain the body so the connection goes back to the pool
        response.close()
        retry = response.request.copy()
        url = retry.url or ""
        if secret.base_url != moved_from and url.startswith(moved_from):
            # The rotated secret names another host: resend there, and answer its own challenge.
            retry.prepare_url(secret.base_url + url[len(moved_from) :], None)
            with self._lock:
                self._challenge = None
        # Keep cookies the challenge set (sent on only to the host they belong to); the old Cookie
        # header would otherwise block the update.
        requests.cookies.extract_cookies_to_jar(retry._cookies, response.request, response.raw)  # type: ignore[attr-defined,no-untyped-call]
        retry.headers.pop("Cookie", None)
        retry.prepare_cookies(retry._cookies)  # type: ignore[attr-defined]
        self._authorize(retry, secret)
        new_response = response.connection.send(retry, **send_kwargs)
        new_response.history.append(response)
        new_response.request = retry
        return new_response
