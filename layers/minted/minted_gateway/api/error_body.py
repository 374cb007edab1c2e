"""The API's error envelope, as the OpenAPI document describes it: every 4xx and 5xx answer has this shape.

Made only when the document is written (api/schemas.answers): our answers are written by api/http.py.
"""

from typing import Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    field: str
    message: str
    upstream_message: str | None = Field(
        default=None, description="Minted's own text for the field, when Minted named it"
    )


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail | dict[str, Any]]
    details_omitted: int | None = None  # problems beyond the first few, counted but not listed
    upstream_message: str | None = Field(
        default=None, description="Minted's own words, in MintedLanguage (tr or en), when the refusal is Minted's"
    )
    order: dict[str, Any] | None = None  # a refused order, with its ledger row
    request_id: str | None = None  # also the X-Request-Id header and the log lines' correlation_id


class ErrorBody(BaseModel):
    error: ErrorInfo
