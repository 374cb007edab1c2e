"""The edges of the local API: every answer carries X-Request-Id, every refusal the error envelope."""

from __future__ import annotations

import http.client
import io
import json
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from local.gateway import MAX_BODY_BYTES, LocalGateway, invoke, routes_from_template, shown_text
from local.template import FunctionSpec
from tests.stack import Api

# The template's OpenAPI (the HTTP API's DefinitionBody) is the source of truth: a new operation there
# must be served, and named, by the document the handlers make.
TEMPLATE_OPERATIONS = {(route.method.lower(), route.path): route.operation_id for route in routes_from_template()}


def assert_error(response: requests.Response, status: int, code: str) -> None:
    """The envelope, with the id the header carries."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and isinstance(error["details"], list)
    assert error["request_id"] == response.headers["X-Request-Id"]


def test_an_unknown_route_is_a_404_and_another_method_a_405_in_the_envelope(api: Api) -> None:
    assert_error(api.get("/no/such/route"), 404, "route_not_found")
    assert_error(api.http.delete(api.url + "/prices", timeout=30), 405, "method_not_allowed")  # the path's ANY route
    # A trailing slash reaches the function, which must answer with the same code as the gateway.
    assert_error(api.get("/prices/"), 404, "route_not_found")
    assert_error(api.get("/orders/"), 404, "route_not_found")
    long = api.get("/no/" + "x" * 10_000)  # the answer does not grow with the path (found by a hostile-input review)
    assert_error(long, 404, "route_not_found")
    assert len(long.content) < 1000


def test_a_body_over_api_gateways_limit_is_a_413_in_the_envelope(api: Api) -> None:
    assert_error(api.post("/orders", b"x" * (10 * 1024 * 1024 + 1)), 413, "payload_too_large")


def test_a_chunked_body_over_the_limit_is_a_413_too(api: Api) -> None:
    """Sent in chunks a body has no Content-Length: the limit holds as it is read (found by a hostile-input
    review: 30 MB were read and parsed)."""

    def chunks() -> Iterator[bytes]:
        for _ in range(11):
            yield b" " * (1024 * 1024)

    sent = api.http.post(api.url + "/quotes", data=chunks(), headers={"Content-Type": "application/json"}, timeout=60)
    assert_error(sent, 413, "payload_too_large")
    assert api.post("/quotes", {"items": [{"sku": "GAU", "amount": 1}]}).status_code == 201  # and the next is served


def test_a_chunked_body_is_read_no_further_than_the_limit() -> None:
    """What the 413 above cannot show: the gateway stops reading a chunked body one byte past 10 MiB rather than
    reading it all first (a 30 MB body was read and parsed whole)."""

    class Counted(io.RawIOBase):
        def __init__(self, size: int) -> None:
            self.left, self.read_bytes = size, 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            n = min(len(buffer), self.left)
            buffer[:n] = b" " * n
            self.left, self.read_bytes = self.left - n, self.read_bytes + n
            return n

    sent = Counted(50 * 1024 * 1024)
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    environ = EnvironBuilder(method="POST", path="/quotes", headers=headers).get_environ()
    environ.update({"wsgi.input": io.BufferedReader(sent), "wsgi.input_terminated": True})
    environ.pop("CONTENT_LENGTH", None)
    answer = Response.from_app(LocalGateway(), environ)
    assert answer.status_code == 413
    assert sent.read_bytes <= MAX_BODY_BYTES + 1024 * 1024, sent.read_bytes  # the bound and a buffer, no more


def test_the_access_log_shows_routes_and_one_line_per_request_whatever_the_path(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """A path's values are the caller's text: an email, a name or an identity number as an id, or a line
    break that would write a forged line. A routed request is logged by its route, and a path no route
    takes as "-", as the deployed access log's routeKey shows them; the 404 does not repeat the path either
    (a hostile-input review found an email and a name in both)."""
    caplog.set_level(logging.INFO, logger="local.gateway")
    api.get("/orders/ayse.yilmaz%40example.com")
    api.get("/customers/10000000146")
    unrouted = [
        api.get("/orders/x%0aGET%20/orders/forged%20200%201%20ms%20deadbeef%20sub=admin%0a"),
        api.get("/no/such/" + "y" * 5000 + "%00"),
        api.get("/customers/ayse.yilmaz%40example.com/balances/x"),
        api.get("/customers/Y%C4%B1lmaz/z"),  # a name: no mask can tell one
    ]
    api.post("/customers/ayse.yilmaz@example.com", b" " * (10 * 1024 * 1024 + 1))  # a 413 shows its route too
    lines = [record.getMessage() for record in caplog.records if record.name == "local.gateway"]
    assert len(lines) == 7, lines
    assert lines[0].startswith("GET /orders/{external_id} ") and lines[1].startswith("GET /customers/{external_id} ")
    for line in lines:
        assert "\n" not in line and "\x00" not in line and len(line) < 400, line
        assert "example.com" not in line and "100000001" not in line and "lmaz" not in line, line
    assert all(line.startswith("GET - 404 ") for line in lines[2:6]), lines[2:6]
    assert lines[6].startswith("POST /customers/{external_id} 413 "), lines[6]
    for answer in unrouted:
        assert_error(answer, 404, "route_not_found")
        message = answer.json()["error"]["message"]
        assert message == "No route takes GET on this path.", message
    # The method is the caller's text too: http.server takes any word (found by a code review).
    status, _, body = raw_request(api, b"AYSE.YILMAZ@EXAMPLE.COM /x HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 404 and b"EXAMPLE" not in body and b"this method" in body, body
    line = [record.getMessage() for record in caplog.records if record.name == "local.gateway"][-1]
    assert line.startswith("- - 404 ") and "EXAMPLE" not in line, line


def test_a_token_s_claims_are_shown_on_one_line_and_masked(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    """Found by a hostile-input review: a line break in the token's sub wrote a forged request line."""
    caplog.set_level(logging.INFO, logger="local.gateway")
    forged = "x\nPOST /orders 201 5 ms 00000000 sub=admin client=forged"
    caller = api.as_caller(sub=forged, client_id="ayse@example.com", minted_customer="cust-\x00-1")
    assert caller.get("/orders/none-such").status_code == 404
    (line,) = [r.getMessage() for r in caplog.records if r.name == "local.gateway"]
    assert "\n" not in line and "\x00" not in line and "example.com" not in line, line
    assert "sub=x\\nPOST /orders 201" in line and "client=<email>" in line, line


def raw_request(api: Api, head: bytes) -> tuple[int, dict[str, str], bytes]:
    """What the server answers a request as sent, byte for byte (requests would not send these)."""
    host, port = api.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(head)
        answer = http.client.HTTPResponse(connection)
        answer.begin()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()


@pytest.mark.parametrize(
    ("head", "status", "code"),
    [
        (b"GET /prices?" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
        (b"GET /prices HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 70_000 + b"\r\n\r\n", 431, "headers_too_large"),
        (b"GET /prices HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n", 431,
         "headers_too_large"),
        (b'GET /prices HTTP/1.1"ayse@example.com\r\nHost: x\r\n\r\n', 400, "bad_request"),
        (b"GET /prices HTTP/1.1 10000000146\r\nHost: x\r\n\r\n", 400, "bad_request"),
    ],
    ids=["request line over 64 KB", "header over 64 KB", "101 headers", "unreadable version", "four words"],
)  # fmt: skip
def test_what_the_http_server_refuses_is_in_the_envelope_and_logged_without_the_callers_text(
    api: Api, caplog: pytest.LogCaptureFixture, head: bytes, status: int, code: str
) -> None:
    """Found by a hostile-input review: http.server answered these with its HTML page, and logged its
    reason, which quotes what the caller sent."""
    caplog.set_level(logging.INFO)
    got, headers, body = raw_request(api, head)
    assert got == status and headers["content-type"] == "application/json" and len(body) < 400
    error = json.loads(body)["error"]
    assert error["code"] == code and error["request_id"] == headers["x-request-id"]
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert f" {status} - {error['request_id']}" in logged
    assert "example.com" not in logged and "100000001" not in logged and "aaaa" not in logged and "bbbb" not in logged
    assert api.get("/legal").status_code == 200  # and the server goes on


def test_a_form_encoded_body_is_the_documented_415(api: Api) -> None:
    # What `curl -d '{}'` sends when no Content-Type is given.
    response = api.http.post(
        api.url + "/quotes", data="{}", headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30
    )
    assert_error(response, 415, "unsupported_media_type")
    assert_error(api.post("/orders", "a=1", headers={"Content-Type": "multipart/form-data; boundary=x"}), 415,
                 "unsupported_media_type")  # fmt: skip


def test_every_answer_carries_its_own_request_id(api: Api) -> None:
    answers = [api.get("/prices"), api.get("/legal"), api.get("/openapi.json"), api.get("/orders/none-such")]
    ids = [response.headers["X-Request-Id"] for response in answers]
    assert all(ids) and len(set(ids)) == len(ids)
    assert_error(api.post("/quotes", {"items": []}), 422, "invalid_input")


def test_the_openapi_document_is_ready_for_client_generators(api: Api) -> None:
    document = api.get("/openapi.json").json()
    operations = [op for item in document["paths"].values() for op in item.values()]
    paths = document["paths"].items()
    served = {(method, path): op.get("operationId") for path, item in paths for method, op in item.items()}
    assert served == TEMPLATE_OPERATIONS and len(TEMPLATE_OPERATIONS) >= 12 and all(TEMPLATE_OPERATIONS.values())
    assert set(document["components"]["securitySchemes"]) == {"PartnerJwt", "PartnerIam"}
    # Each route names its own: the JWT with the one scope it requires, or (AuthMode=IAM) a SigV4 signature.
    assert "security" not in document
    assert all(op["security"] == [{"PartnerJwt": [op["security"][0]["PartnerJwt"][0]]}, {"PartnerIam": []}]
               for op in operations)  # fmt: skip
    text = api.get("/openapi.json").text
    orphans = [name for name in document["components"]["schemas"] if f'"#/components/schemas/{name}"' not in text]
    assert not orphans
    error_shapes = {
        answer["content"]["application/json"]["schema"]["$ref"]
        for op in operations
        for status, answer in op["responses"].items()
        if int(status) >= 400
    }
    assert error_shapes == {"#/components/schemas/ErrorBody"}  # every error is documented in the envelope it has


def test_prices_say_which_products_can_be_bought(api: Api) -> None:
    prices = {price["sku"]: price["for_sale"] for price in api.get("/prices").json()["prices"]}
    assert prices == {"GAU": True, "GAG": True, "GPT": True, "GPD": False, "BGAU": False, "BGAG": False}


def test_a_quote_counts_its_lifetime_from_minteds_ttl_not_from_our_clock(api: Api) -> None:
    api.minted.clock(advance_seconds=600)  # the sandbox's clock runs ten minutes ahead of ours
    quote = api.post("/quotes", {"items": [{"sku": "GAU", "amount": 1}]}).json()
    assert 200 <= quote["expires_in_seconds"] <= 240


def test_the_legal_documents_pdf_link_answers(api: Api) -> None:
    document = api.get("/legal/kvkk_disclosure").json()
    pdf = requests.get(document["pdf_url"], timeout=30)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and pdf.content.rstrip().endswith(b"%%EOF")


def refusals_counted(output: str) -> dict[str, float]:
    """The RequestsRefused metrics the functions wrote (Powertools' EMF lines on stdout)."""
    counted: dict[str, float] = {}
    for line in output.splitlines():
        if '"_aws"' in line:
            for name, value in json.loads(line).items():
                if name.startswith("RequestsRefused"):
                    counted[name] = counted.get(name, 0) + (value[0] if isinstance(value, list) else value)
    return counted


def test_requests_refused_before_the_resolver_are_counted_too(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    form = api.http.post(api.url + "/quotes", data="{}", headers={"Content-Type": "text/plain"}, timeout=30)
    assert form.status_code == 415
    assert refusals_counted(capsys.readouterr().out) == {"RequestsRefused4xx": 1}
    bad_json = api.post("/orders", b"{not json")
    assert bad_json.status_code == 422
    assert refusals_counted(capsys.readouterr().out) == {"RequestsRefused4xx": 1}


PROBE = FunctionSpec("MetricsProbe", "metrics_probe_function.handler", "tests/fixtures/local_functions", 10)


def metric_lines(capsys: pytest.CaptureFixture[str]) -> list[tuple[list[str], str]]:
    """Each EMF line's metric names and its ``run`` dimension."""
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    return [([metric["Name"] for metric in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]], line.get("run"))
            for line in lines]  # fmt: skip


def test_concurrent_invocations_each_flush_their_own_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    """In Lambda one environment serves one invocation at a time; here threads share Powertools'
    class-level metric set, so without a set per invocation one flush printed (and cleared) the
    other's metric: the reconciler's line once carried a transform's ForeignOrdersSeen."""
    added, gate = threading.Event(), threading.Event()
    waiting = threading.Thread(target=invoke, args=(PROBE, {"metric": "Waited", "added": added, "gate": gate}))
    waiting.start()
    try:
        assert added.wait(10)
        invoke(PROBE, {"metric": "Ran"})  # flushes while the other invocation's metric is added, not flushed
    finally:
        gate.set()
        waiting.join(10)
    assert metric_lines(capsys) == [(["Ran"], "Ran"), (["Waited"], "Waited")]  # dimensions are each one's too


def test_an_invocation_made_inside_another_keeps_the_outer_ones_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    invoke(PROBE, {"metric": "Outer", "inner": {"function": PROBE, "event": {"metric": "Inner"}}})
    assert metric_lines(capsys) == [(["Inner"], "Inner"), (["Outer", "OuterAfter"], "Outer")]


def test_a_long_claim_is_masked_before_it_is_cut_and_escaped_before_it_is_measured() -> None:
    """The access log shows a token's claims this way (the paths no route takes no longer need it)."""
    cut_number = shown_text("a" * 65 + "10000000146", 70)  # a cut at 67 would keep a number of 2 digits
    assert not any(c.isdigit() for c in cut_number) and len(cut_number) <= 70, cut_number
    escaped = shown_text("\u00e7" * 300 + "\n", 80)
    assert escaped.isascii() and "\n" not in escaped and len(escaped) <= 80
