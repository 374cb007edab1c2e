"""What the legal-document routes answer, as documented types for the OpenAPI document."""

from pydantic import BaseModel


class LegalSummaryBody(BaseModel):
    type: str
    title: str
    version: str


class LegalListBody(BaseModel):
    documents: list[LegalSummaryBody]


class LegalDocumentBody(LegalSummaryBody):
    content: str
    pdf_url: str | None = None
    updated_at: str
