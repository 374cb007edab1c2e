"""Minted's legal documents, cached per container for a lifetime (they change rarely)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from minted_gateway.errors import NotFound, from_minted
from minted_gateway.minted import errors as minted_errors
from minted_gateway.minted.models.legal import LegalDocument, LegalDocumentSummary


class MintedLegal(Protocol):
    def legal_documents(self) -> list[LegalDocumentSummary]: ...

    def legal_document(self, document_type: str, customer_external_id: str | None = None) -> LegalDocument: ...


class LegalDocuments:
    def __init__(self, minted: MintedLegal, *, lifetime_seconds: int, clock: Callable[[], float]) -> None:
        self._minted = minted
        self._lifetime = lifetime_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def list(self) -> list[LegalDocumentSummary]:
        documents: list[LegalDocumentSummary] = self._cached("", self._minted.legal_documents)
        return documents

    def get(self, document_type: str) -> LegalDocument:
        def fetch() -> LegalDocument:
            try:
                return self._minted.legal_document(document_type)
            except (minted_errors.MintedValidationError, minted_errors.MintedNotFoundError):
                # How Minted refuses a type it lacks (contract section 8): only here does it mean "no such document".
                raise NotFound("There is no legal document of this type.") from None

        document: LegalDocument = self._cached(document_type, fetch)
        return document

    def _cached(self, key: str, fetch: Callable[[], Any]) -> Any:
        now = self._clock()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self._lifetime:
            return hit[1]
        try:
            value = fetch()
        except minted_errors.MintedError as exc:
            if hit is not None:
                return hit[1]  # an old document beats none while Minted is down
            raise from_minted(exc) from None
        with self._lock:
            self._cache[key] = (now, value)
        return value
