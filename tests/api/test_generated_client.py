"""A Python client generated from /openapi.json by openapi-python-client buys gold: quote, buy, get.

Proves the document is good enough for a partner's code generator: chosen operation names become
the client's functions (``create_quote``, ``place_order``, ``get_order``), the request and answer
schemas become its models, and the generator needs no hand edits.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.stack import Api, customer

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "partner_api_client"


@pytest.fixture(scope="module")
def generated(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    api = Api(stack)
    folder = tmp_path_factory.mktemp("generated")
    (folder / "openapi.json").write_text(api.get("/openapi.json").text, encoding="utf-8")
    (folder / "config.yaml").write_text(
        f"project_name_override: partner-api-client\npackage_name_override: {PACKAGE}\npost_hooks: []\n",
        encoding="utf-8",
    )
    result = subprocess.run(  # noqa: S603 - the pinned generator from this virtual environment
        [
            str(GENERATOR),
            "generate",
            "--path",
            "openapi.json",
            "--config",
            "config.yaml",
            "--meta",
            "none",
            "--output-path",
            str(folder / PACKAGE),
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr  # nothing it had to skip
    sys.path.insert(0, str(folder))
    try:
        package = importlib.import_module(PACKAGE)
        # A schema the generator cannot model is dropped without a warning (its fields become Any).
        schemas = json.loads((folder / "openapi.json").read_text(encoding="utf-8"))["components"]["schemas"]
        models = importlib.import_module(f"{PACKAGE}.models")
        assert [name for name, schema in schemas.items() if "properties" in schema and not hasattr(models, name)] == []
        yield package
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_a_generated_client_quotes_buys_and_reads_an_order(api: Api, generated: Any, order_id: str) -> None:
    create_quote = importlib.import_module(f"{PACKAGE}.api.prices.create_quote")
    place_order = importlib.import_module(f"{PACKAGE}.api.orders.place_order")
    get_order = importlib.import_module(f"{PACKAGE}.api.orders.get_order")
    models = importlib.import_module(f"{PACKAGE}.models")
    client = generated.AuthenticatedClient(base_url=api.url, token=str(api.token), raise_on_unexpected_status=True)

    # The generator types a JSON number as float; 1.5 is exact in binary, and the API reads it as a Decimal.
    items = [models.ItemIn(sku=models.ItemInSku.GAU, amount=1.5)]
    quote = create_quote.sync_detailed(client=client, body=models.QuoteRequest(items=items))
    assert quote.status_code == 201 and isinstance(quote.parsed, models.QuoteBody)

    order = models.OrderRequest(
        external_id=order_id,
        price_token=quote.parsed.price_token,
        items=items,
        customer=models.CustomerIn.from_dict(customer()),
    )
    placed = place_order.sync_detailed(client=client, body=order)
    assert placed.status_code == 201 and placed.parsed.state == "SUBMITTED", placed.content
    again = place_order.sync_detailed(client=client, body=order)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"

    read = get_order.sync_detailed(order_id, client=client)
    assert read.status_code == 200 and isinstance(read.parsed, models.OrderBody)
    assert read.parsed.external_id == order_id and read.parsed.order_codes == placed.parsed.order_codes
    assert api.minted.orders_created() == 1  # one buy reached Minted

    missing = get_order.sync_detailed("no-such-order-here", client=client)
    assert missing.status_code == 404 and isinstance(missing.parsed, models.ErrorBody)
    assert (
        missing.parsed.error.code == "not_found" and missing.parsed.error.request_id == missing.headers["X-Request-Id"]
    )
