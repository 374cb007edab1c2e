"""Looking orders up at Minted (contract section 6): Get Order (Alternative), Get Orders' query and
pages, and the order statuses."""

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, model_validator

from minted_gateway.minted.models.base import MintedModel
from minted_gateway.minted.models.orders import Order


class OrderLookup(MintedModel):
    """Get Order (Alternative): exactly one of guid, order_code, external_id."""

    guid: str | None = None
    order_code: str | None = None
    external_id: str | None = None
    push_hook: bool | None = None

    @model_validator(mode="after")
    def _exactly_one_key(self) -> "OrderLookup":
        given = [name for name in ("guid", "order_code", "external_id") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("give exactly one of guid, order_code or external_id")
        return self


class OrdersQuery(MintedModel):
    page: Annotated[int, Field(ge=1)] = 1
    total: Annotated[int, Field(ge=5, le=30)] = 10
    customer_external_id: str | None = None
    sku: str | None = None
    sortBy: Literal["type", "total", "customer_external_id", "created_at"] | None = None  # noqa: N815 (Minted's name)
    sortType: Literal["asc", "desc"] | None = None  # noqa: N815 (Minted's name)
    status: list[int] | None = None
    startDate: date | None = None  # noqa: N815 (Minted's name)
    endDate: date | None = None  # noqa: N815 (Minted's name)

    def to_params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        for name, value in self.model_dump(exclude_none=True).items():
            if isinstance(value, list):
                params[name] = ",".join(str(item) for item in value)
            else:
                params[name] = value.isoformat() if isinstance(value, date) else str(value)
        return params


class PageLink(MintedModel):
    url: str | None = None
    label: str
    active: bool = False


class OrdersPage(MintedModel):
    """A Laravel length-aware page of orders."""

    current_page: int
    data: list[Order]
    first_page_url: str | None = None
    from_: int | None = Field(default=None, alias="from")
    last_page: int
    last_page_url: str | None = None
    links: list[PageLink] = []
    next_page_url: str | None = None
    path: str | None = None
    per_page: int
    prev_page_url: str | None = None
    to: int | None = None
    total: int


class OrderStatus(MintedModel):
    id: int
    name: str
