"""No identity number, email, phone or credential in any log line of a full buy."""

from __future__ import annotations

import concurrent.futures
import json
import logging
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import SANDBOX_PASSWORD, VALID_TCKN
from tests.stack import Api, customer, order


class Collect(logging.Handler):
    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__()
        self.lines: list[str] = []
        if formatter:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines(api: Api) -> Iterator[list[str]]:
    """Every line our loggers write, formatted by Powertools' own formatter, as CloudWatch gets it."""
    api.get("/legal")  # make sure the functions' loggers exist
    service = logging.getLogger("minted-gateway")
    collect = Collect(service.handlers[0].formatter if service.handlers else None)
    names = ["minted-gateway", *(n for n in logging.root.manager.loggerDict if n.startswith("minted_gateway"))]
    for name in names:
        logging.getLogger(name).addHandler(collect)
    yield collect.lines
    for name in names:
        logging.getLogger(name).removeHandler(collect)


def test_a_buy_and_its_failures_log_no_personal_data(
    api: Api, log_lines: list[str], capfd: pytest.CaptureFixture[str]
) -> None:
    person = customer(email="secret.person@example.org", phone="+905551112233")
    body = order(f"logs-{uuid.uuid4().hex[:10]}", api.quote(), customer=person)
    api.minted.fault("buy", drop="after_commit", times=1)
    assert api.post("/orders", body).status_code == 202
    assert api.post("/orders", body).status_code == 200
    assert api.get(f"/orders/{body['external_id']}").status_code == 200
    bad = dict(body, external_id="logs-bad", customer=customer(identity_number="98765432101", email=""))
    assert api.post("/orders", bad).status_code == 422
    out, err = capfd.readouterr()
    logs = "\n".join(log_lines) + out + err
    assert "order placed" in logs and body["external_id"] in logs  # the handlers did log, with the order id
    for secret in (VALID_TCKN, "98765432101", "secret.person@example.org", "+905551112233", "905551112233",
                   SANDBOX_PASSWORD):  # fmt: skip
        assert secret not in logs


def test_customers_and_their_balances_log_no_personal_data(
    api: Api, log_lines: list[str], capfd: pytest.CaptureFixture[str]
) -> None:
    external_id = f"logs-{uuid.uuid4().hex[:10]}"
    secrets = {"firstname": "Gizlinur", "lastname": "Saklıoğlu", "email": "hidden.customer@example.org",
               "phone": "+905559998877", "identity_number": "98765432109", "birthdate": "1977-07-17"}  # fmt: skip
    person = customer(external_id, **secrets)
    assert api.post("/customers", person).status_code == 201
    api.minted.fault("create_customer", drop="after_commit", times=1)
    assert api.post("/customers", person).status_code in (200, 201)  # a lost answer: the customer is looked up
    assert api.post("/customers", {**person, "lastname": "Başkaoğlu"}).status_code == 409
    company = {"external_id": f"{external_id}-co", "account_type": "company", "identity_number": "4445556667",
               "tax_office": "Kadıköy", "firstname": "Gizlinur"}  # fmt: skip
    assert api.post("/customers", company).status_code == 201
    assert api.http.patch(f"{api.url}/customers/{external_id}", json={"email": "new.hidden@example.org"}).ok
    assert api.get(f"/customers/{external_id}").status_code == 200
    assert api.get(f"/customers/{external_id}/balances").status_code == 200
    out, err = capfd.readouterr()
    logs = "\n".join(log_lines) + out + err
    assert "customer created" in logs and external_id in logs  # the handlers did log, with the customer id
    for secret in (*secrets.values(), "17-07-1977", "905559998877", "Başkaoğlu", "4445556667",
                   "new.hidden@example.org", SANDBOX_PASSWORD):  # fmt: skip
        assert secret not in logs, secret


def test_the_redaction_filter_masks_what_slips_through() -> None:
    from minted_gateway.observability import redact

    text = redact(f"customer {VALID_TCKN} mail a.b@example.com phone +90 532 280 80 35 order ord-123")
    assert VALID_TCKN not in text and "a.b@example.com" not in text and "280 80 35" not in text
    assert "ord-123" in text


def test_a_logger_created_after_start_up_writes_json_through_the_redacting_handler(api: Api) -> None:
    """Use cases load lazily, so their loggers appear after the handler is configured."""
    import io
    import json as jsonlib

    api.get("/legal")  # the functions are loaded and configured
    from minted_gateway.observability import RedactPersonalData

    package = logging.getLogger("minted_gateway")
    handler = next(h for h in package.handlers if any(isinstance(f, RedactPersonalData) for f in h.filters))
    stream = io.StringIO()
    previous = handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        logging.getLogger(f"minted_gateway.created_late_{uuid.uuid4().hex}").warning(
            "customer wrote from a.b@example.com", extra={"phone": "+905321112233", "external_id": "ord-9"}
        )
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]
    line = jsonlib.loads(stream.getvalue())
    assert line["service"] == "minted-gateway" and line["level"] == "WARNING" and line["external_id"] == "ord-9"
    assert "a.b@example.com" not in stream.getvalue() and "+905321112233" not in stream.getvalue()


def test_a_buy_logs_what_happened_under_the_request_id_the_caller_got(api: Api, log_lines: list[str]) -> None:
    body = order(f"logs-{uuid.uuid4().hex[:10]}", api.quote(), with_customer=False)
    api.minted.fault("buy", drop="after_commit", times=1)
    response = api.post("/orders", body)
    assert response.status_code == 202
    request_id = response.headers["X-Request-Id"]
    mine = [json.loads(line) for line in log_lines if request_id in line]
    assert mine and all(line["correlation_id"] == request_id for line in mine)
    assert [line["state"] for line in mine if line["message"].startswith("order outcome unknown")] == ["UNKNOWN"]
    assert not [line for line in mine if line["message"] == "order placed"]  # an unknown outcome is not a placed order


def test_concurrent_requests_each_log_under_their_own_request_id(api: Api, log_lines: list[str]) -> None:
    """make dev serves requests on threads that share Powertools' state: no line may carry another's id, and
    no request may be answered from another's body (Powertools keeps the event being resolved on a class)."""
    bodies = [order(f"logs-{uuid.uuid4().hex[:10]}", api.quote(), with_customer=False) for _ in range(6)]
    api.minted.fault("buy", latency_ms=300, times=len(bodies))  # each buy is in flight while the others start
    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(pool.map(lambda body: api.post("/orders", body), bodies))
    assert [(a.status_code, a.json()["external_id"]) for a in answers] == [(201, b["external_id"]) for b in bodies]
    request_ids = {
        body["external_id"]: answer.headers["X-Request-Id"] for body, answer in zip(bodies, answers, strict=True)
    }
    placed = [json.loads(line) for line in log_lines if '"order placed"' in line]
    assert {line["external_id"]: line["correlation_id"] for line in placed} == request_ids
    assert len({line["function_request_id"] for line in placed}) == len(bodies)  # one invocation each
