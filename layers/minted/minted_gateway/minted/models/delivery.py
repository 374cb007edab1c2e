"""What Delivery - Create sends (contract section 12)."""

from typing import Annotated

from pydantic import ConfigDict, Field

from minted_gateway.minted.models.base import ExternalId, MintedModel


class DeliveryCustomer(MintedModel):
    """Delivery's customer block: all five fields required by the page. Personal data: never log it."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    external_id: ExternalId
    firstname: str = Field(repr=False)
    lastname: str = Field(repr=False)
    phone: str = Field(repr=False)
    email: str = Field(repr=False)


class ShippingAddress(MintedModel):
    """An address as the Delivery page publishes it. Personal data: sent to Minted, never kept."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    company_name: str | None = Field(default=None, repr=False)
    fullname: str = Field(repr=False)
    city: str = Field(repr=False)
    county: str = Field(repr=False)
    district: str = Field(repr=False)
    address: str = Field(repr=False)


class BillingAddress(ShippingAddress):
    invoice_type: str = "Individual"


class DeliveryAddress(MintedModel):
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    billing: BillingAddress = Field(repr=False)
    shipping: ShippingAddress = Field(repr=False)


class DeliveryRequest(MintedModel):
    """Delivery - Create (Pay With Cash): one sku, whole grams (the page types amount integer)."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    customer: DeliveryCustomer
    external_id: ExternalId
    sku: str
    amount: Annotated[int, Field(gt=0)]
    address: DeliveryAddress = Field(repr=False)
