"""The client's configuration keeps its bounds now that it is a dataclass, not a pydantic model."""

import pytest

from minted_gateway.minted import MintedClientConfig


def test_defaults_are_the_contracts() -> None:
    config = MintedClientConfig()
    assert (config.connect_timeout, config.read_timeout, config.read_attempts) == (3.05, 10.0, 3)
    assert config.paths.buy == "/partner/order/digital/buy"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("connect_timeout", 0),
        ("read_timeout", -1.0),
        ("read_attempts", 0),
        ("read_attempts", 11),
        ("read_attempts", 2.5),
        ("read_attempts", True),
        ("backoff_base", -0.1),
        ("backoff_cap", -1),
        ("max_retry_after", -5),
        ("min_time_for_a_call", "0.05"),
        ("connect_timeout", float("nan")),
        ("read_timeout", float("inf")),
        ("backoff_cap", float("nan")),
        ("accept_language", 5),
        ("digest_algorithms", ["MD5"]),
        ("digest_algorithms", ()),
        ("paths", {"buy": "/x"}),
    ],
)
def test_a_value_out_of_its_bounds_is_refused_by_name(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"MintedClientConfig.{field} "):
        MintedClientConfig(**{field: value})  # type: ignore[arg-type]


def test_the_bounds_themselves_are_allowed_where_they_were() -> None:
    config = MintedClientConfig(
        read_attempts=10, backoff_base=0, backoff_cap=0, max_retry_after=0, min_time_for_a_call=0
    )
    assert config.read_attempts == 10
