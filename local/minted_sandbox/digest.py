"""Server side of RFC 7616 Digest, as a strict server does it.

Each nonce has a lifetime; a correct response with an expired nonce is answered ``stale=true`` so
the client retries without asking the user again; a nonce count already seen is a replay. With
``next_nonce`` on, each accepted request is answered with ``Authentication-Info: nextnonce`` and
its nonce retired (a later use is stale), as RFC 7616 3.5 lets a server do.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
_PARAM = re.compile(r'([\w-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)')


class Verdict(enum.Enum):
    OK = "ok"
    STALE = "stale"
    REFUSED = "refused"


@dataclass
class _Nonce:
    issued_at: float
    seen_counts: set[int] = field(default_factory=set)
    retired: bool = False


class DigestVerifier:
    def __init__(
        self, *, realm: str, algorithms: tuple[str, ...], nonce_ttl: float, clock: Callable[[], float]
    ) -> None:
        self.realm = realm
        self.algorithms = algorithms
        self.nonce_ttl = nonce_ttl
        self.next_nonce = False
        self._clock = clock
        self._nonces: dict[str, _Nonce] = {}
        self._opaque = secrets.token_hex(8)
        self._lock = threading.Lock()

    def _new_nonce(self) -> str:
        nonce = secrets.token_hex(16)
        with self._lock:
            now = self._clock()
            self._nonces = {n: s for n, s in self._nonces.items() if now - s.issued_at < 4 * self.nonce_ttl}
            self._nonces[nonce] = _Nonce(issued_at=now)
        return nonce

    def challenges(self, *, stale: bool = False) -> list[str]:
        """One WWW-Authenticate value per algorithm, sharing a fresh nonce."""
        nonce = self._new_nonce()
        stale_part = ", stale=true" if stale else ""
        return [
            f'Digest realm="{_quoted(self.realm)}", nonce="{nonce}", opaque="{self._opaque}", qop="auth", '
            f"algorithm={algorithm}{stale_part}"
            for algorithm in self.algorithms
        ]

    def verify(self, header: str | None, *, method: str, uri: str, username: str, password: str) -> Verdict:
        if not header or not header.lower().startswith("digest "):
            return Verdict.REFUSED
        params = {k.lower(): _unquote(v) for k, v in _PARAM.findall(header[7:])}
        required = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
        if any(not params.get(name) for name in required):
            return Verdict.REFUSED
        algorithm = params.get("algorithm", "MD5").upper()
        if algorithm not in self.algorithms or params["qop"] != "auth":
            return Verdict.REFUSED
        if params["username"] != username or params["realm"] != self.realm or params["uri"] != uri:
            return Verdict.REFUSED
        try:
            count = int(params["nc"], 16)
        except ValueError:
            return Verdict.REFUSED

        def h(text: str) -> str:
            return _HASHES[algorithm](text.encode("utf-8")).hexdigest()

        ha1 = h(f"{username}:{self.realm}:{password}")
        ha2 = h(f"{method}:{uri}")
        expected = h(f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}")
        if not secrets.compare_digest(expected, params["response"]):
            return Verdict.REFUSED
        with self._lock:
            state = self._nonces.get(params["nonce"])
            if state is None:
                return Verdict.REFUSED
            if state.retired or self._clock() - state.issued_at >= self.nonce_ttl:
                return Verdict.STALE
            if count in state.seen_counts:
                return Verdict.REFUSED  # a replayed nonce count
            state.seen_counts.add(count)
        return Verdict.OK

    def authentication_info(self, header: str) -> str | None:
        """With ``next_nonce``: retire the accepted request's nonce and name the next one."""
        if not self.next_nonce:
            return None
        params = {k.lower(): _unquote(v) for k, v in _PARAM.findall(header[7:])}
        with self._lock:
            used = self._nonces.get(params.get("nonce", ""))
            if used is not None:
                used.retired = True
        return f'nextnonce="{self._new_nonce()}"'

    def forget_nonces(self) -> None:
        with self._lock:
            self._nonces.clear()


def _quoted(text: str) -> str:
    """The inside of an RFC 9110 quoted-string: a realm may hold quotes and backslashes."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return raw
