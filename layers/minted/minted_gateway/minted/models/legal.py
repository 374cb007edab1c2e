"""Legal documents (contract section 8)."""

from minted_gateway.minted.models.base import MintedDateTime, MintedModel


class LegalDocumentSummary(MintedModel):
    type: str
    title: str
    version: str


class LegalDocument(LegalDocumentSummary):
    content: str
    pdf_url: str | None = None
    updated_at: MintedDateTime
