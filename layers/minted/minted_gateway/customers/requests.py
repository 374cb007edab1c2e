"""What a partner sends to register or change a customer (POST and PATCH /customers).

Only Minted's Create Customer page is enforced (contract 7): the external_id's 3-40 characters,
3-40 character names, and for a company a tax office and a 10-digit tax number as identity_number.
Every other rule is the partner's setting, as on a buy (docs/decisions.md, "Input rules").
"""

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict

from minted_gateway.minted.models.base import CustomerPageId
from minted_gateway.minted.models.customers import CustomerProfile, CustomerUpdate
from minted_gateway.validation import (
    NO_CONTROL,
    SPACE,
    Birthdate,
    CustomerName,
    Email,
    OptionalCustomerName,
    Phone,
    check_identity_number,
    text_schema,
)

TAX_NUMBER = r"^[0-9]{10}$"

# A PATCH's middlename: a name, null (clear it) or "" (absent, as everywhere: keep it).
ClearableName = Annotated[
    CustomerName | Literal[""] | None,
    WithJsonSchema({"anyOf": [{"const": ""}, {"type": "null"}, text_schema(40, min_length=3)]}),
]


# Safety bounds only (ours): the identity number's rules depend on the account type, below.
IdentityText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=NO_CONTROL),
    WithJsonSchema(text_schema(64)),
]
TaxOffice = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_CONTROL),
    WithJsonSchema(text_schema(100)),
]


# OpenAPI: a company without a tax office or a 10-digit tax number is refused ("not" rules, which
# code generators pass over, as on orders).
_EXAMPLES = [
    {"external_id": "cust-0002", "firstname": "Mehmet", "lastname": "Gülbilge", "email": "mehmet@example.com",
     "phone": "+905322808035", "gender": "M", "identity_number": "12345677938", "birthdate": "1970-01-31"},
    {"external_id": "firm-0001", "account_type": "company", "firstname": "Altın", "lastname": "Ticaret",
     "email": "info@example.com", "identity_number": "1234567890", "tax_office": "Kadıköy"},
]  # fmt: skip
_COMPANY_RULES: dict[str, Any] = {
    "examples": _EXAMPLES,
    "not": {
        "required": ["account_type"],
        "properties": {"account_type": {"const": "company"}},
        "anyOf": [
            {"not": {"required": ["tax_office"]}},
            {"not": {"required": ["identity_number"]}},
            {"properties": {"tax_office": {"type": "null"}}},
            # the number is read stripped, as every text field is
            {
                "properties": {
                    "identity_number": {"not": {"type": "string", "pattern": rf"^[{SPACE}]*[0-9]{{10}}[{SPACE}]*$"}}
                }
            },
        ],
    },
}


def _is_company(info: ValidationInfo) -> bool:
    return info.data.get("account_type") == "company"


class NewCustomer(BaseModel):
    """Register a customer with Minted: an individual, or a company (``account_type: "company"``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True, json_schema_extra=_COMPANY_RULES)

    external_id: CustomerPageId = Field(description="the partner's customer id (3-40 of A-Z a-z 0-9 _ -)")
    account_type: Literal["individual", "company"] = "individual"
    firstname: CustomerName | None = Field(default=None, repr=False, description="3-40 characters")
    middlename: OptionalCustomerName = Field(default=None, repr=False, description="3-40 characters; empty is absent")
    lastname: CustomerName | None = Field(default=None, repr=False, description="3-40 characters")
    email: Email | None = Field(default=None, repr=False)
    phone: Phone | None = Field(default=None, repr=False, description="e.g. +905322808035")
    gender: Literal["M", "F"] | None = None
    birthdate: Birthdate | None = Field(default=None, repr=False, description="YYYY-MM-DD")
    identity_number: IdentityText | None = Field(
        default=None,
        validate_default=True,
        repr=False,
        description="an individual's identity number, or a company's 10-digit tax number",
    )
    tax_office: TaxOffice | None = Field(
        default=None, validate_default=True, description="a company's tax office (required for a company)"
    )

    @field_validator("identity_number")
    @classmethod
    def _identity_number(cls, value: str | None, info: ValidationInfo) -> str | None:
        if _is_company(info):
            # Published for companies: a 10-digit tax number (the T.C. Kimlik No. setting is for people).
            if value is None or not re.fullmatch(TAX_NUMBER, value):
                raise ValueError("a company's identity_number is its 10-digit tax number")
            return value
        return None if value is None else check_identity_number(value)

    @field_validator("tax_office")
    @classmethod
    def _tax_office(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and _is_company(info):
            raise ValueError("required for a company")
        return value

    def to_minted(self) -> CustomerProfile:
        # Minted publishes account_type "company" only: a person goes without one, as the published request does.
        individual = {"account_type"} if self.account_type == "individual" else None
        return CustomerProfile.model_validate(self.model_dump(exclude_none=True, exclude=individual))


# What changes nothing, which the document refuses as the model does: no field, or each given one null
# (which keeps it), but a middlename's null, which clears it ("" keeps it, as everywhere).
_NOTHING_CHANGED: JsonDict = {"properties": {"firstname": {"type": "null"}, "middlename": {"const": ""},
                                   "lastname": {"type": "null"}, "email": {"type": "null"},
                                   "phone": {"type": "null"}, "gender": {"type": "null"},
                                   "birthdate": {"type": "null"}}}  # fmt: skip


class CustomerChanges(BaseModel):
    """Change a customer's details at Minted; what is left out stays as it is. A change must change
    something: {}, or only nulls (and a middlename's ""), is refused."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,
        json_schema_extra={"examples": [{"lastname": "Demir"}], "not": _NOTHING_CHANGED},
    )

    firstname: CustomerName | None = Field(default=None, repr=False, description="3-40 characters")
    middlename: ClearableName = Field(
        default=None, repr=False, description='3-40 characters; null clears it, "" (or leaving it out) keeps it'
    )
    lastname: CustomerName | None = Field(default=None, repr=False, description="3-40 characters")
    email: Email | None = Field(default=None, repr=False)
    phone: Phone | None = Field(default=None, repr=False)
    gender: Literal["M", "F"] | None = None
    birthdate: Birthdate | None = Field(default=None, repr=False, description="YYYY-MM-DD")

    @model_validator(mode="after")
    def _something(self) -> "CustomerChanges":
        # As _NOTHING_CHANGED says. An empty change would still be sent, and Minted's answer is the whole
        # customer: a token that may change customers (and not read them) read any customer with {} (found by
        # a security review).
        if not self._changes():
            raise ValueError(f"name at least one change: {', '.join(CustomerChanges.model_fields)}")
        return self

    def _changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = self.model_dump(exclude_none=True)
        if changes.get("middlename") == "":  # empty is absent (contract 9.6): nothing to change
            del changes["middlename"]
        if "middlename" in self.model_fields_set and self.middlename is None:
            changes["middlename"] = None  # null clears it (JSON merge patch's convention)
        return changes

    def to_minted(self) -> CustomerUpdate:
        return CustomerUpdate.model_validate(self._changes())
