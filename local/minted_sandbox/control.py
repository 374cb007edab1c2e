"""A small client for the sandbox's control API (no Digest), for tests and people."""

from __future__ import annotations

from typing import Any

import requests


class SandboxControl:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = requests.Session()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._http.request(method, f"{self.base_url}/_sandbox/{path}", json=body, timeout=5)
        response.raise_for_status()
        return response.json()["data"]

    def reset(self) -> None:
        self._call("POST", "reset")

    def fault(self, endpoint: str, **spec: Any) -> None:
        """e.g. ``fault("buy", drop="after_commit", times=1)`` or ``fault("prices", status=503)``;
        ``queue=True`` lines it up after the endpoint's current faults instead of replacing them."""
        self._call("POST", "faults", {"endpoint": endpoint, **spec})

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def counters(self) -> dict[str, dict[str, int]]:
        counters: dict[str, dict[str, int]] = self._call("GET", "counters")
        return counters

    def requests_to(self, endpoint: str) -> int:
        return self.counters()["requests"].get(endpoint, 0)

    def served(self, endpoint: str) -> int:
        """Requests that passed authentication: the calls Minted acted on (or faulted)."""
        counters = self.counters()
        return counters["requests"].get(endpoint, 0) - counters["unauthorized"].get(endpoint, 0)

    def idle(self) -> bool:
        """Every partner request the sandbox received is done (a slow one has committed, or was dropped)."""
        counters = self.counters()
        return all(counters["finished"].get(name, 0) >= count for name, count in counters["requests"].items())

    def most_at_once(self, endpoint: str) -> int:
        """The most requests to ``endpoint`` the sandbox was serving at one moment since its reset."""
        return self.counters().get("most_at_once", {}).get(endpoint, 0)

    def orders_created(self, kind: str = "buy") -> int:
        return self.counters()["orders_created"].get(kind, 0)

    def clock(self, **changes: Any) -> dict[str, Any]:
        """``advance_seconds``, ``completion_delay_seconds`` (None: never), ``pending_after_seconds``,
        ``token_ttl_seconds`` (for tokens fixed from now on)."""
        clock: dict[str, Any] = self._call("POST", "clock", changes)
        return clock

    def market(self, *, frozen: bool | None = None, **spots: Any) -> dict[str, Any]:
        """Move spot prices (TRY per gram, e.g. ``market(GAU=2500)``); ``frozen=True`` stops the random walk."""
        body: dict[str, Any] = {"spot": {sku: str(spot) for sku, spot in spots.items()}}
        if frozen is not None:
            body["frozen"] = frozen
        market: dict[str, Any] = self._call("POST", "market", body)
        return market

    def settings(self, **changes: Any) -> dict[str, Any]:
        """``split_orders``: a buy of several items makes one order per item; ``lookup_lists_every_order``:
        Get Order (Alternative) by external_id answers with an array of every order under it;
        ``accept_repeated_external_id``: a buy or sell under an external_id already held is one more order."""
        settings: dict[str, Any] = self._call("POST", "settings", changes)
        return settings

    def rotate_credentials(self, username: str, password: str) -> None:
        self._call("POST", "credentials", {"username": username, "password": password})

    def digest(self, **changes: Any) -> dict[str, Any]:
        """``nonce_ttl_seconds``, ``algorithms``, ``forget_nonces``, ``realm``, ``next_nonce``."""
        digest: dict[str, Any] = self._call("POST", "digest", changes)
        return digest

    def rules(self, **changes: bool) -> dict[str, bool]:
        """Turn on the rules Minted does not publish: ``identity_check_digits``, ``phone_e164``,
        ``buy_name_lengths``, ``email_format``, ``currency_must_match_token``, ``sell_customer_from_price_fix``
        (all off after a reset)."""
        rules: dict[str, bool] = self._call("POST", "rules", changes)
        return rules
