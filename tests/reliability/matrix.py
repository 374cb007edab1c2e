"""The fault matrix's expected outcomes, one row per operation and fault: reviewed like code.

Each row says what the operation must answer while the fault is on, how many buys (a sell run:
sells) Minted holds afterwards, the ledger's state after the operation and after the next GET, and
whether the ledger then agrees with Minted. tests/reliability/test_fault_matrix.py asserts that each
run observes exactly its row (``Report.observe``), and docs/reliability.md's matrix is rendered from
this table (``report.py``), so the document says what the tests hold. A new case is a new row here
and a test that observes it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MatrixRow:
    operation: str
    fault: str
    answer: str  # status and code, or the workflow's end
    minted_buys: str
    ledger: str  # after the operation -> after the next GET
    agrees: str

    @property
    def key(self) -> tuple[str, str]:
        return self.operation, self.fault


# operation, fault, answer, buys at Minted, ledger (after → after next GET), agrees with Minted
EXPECTED_ROWS: list[tuple[str, str, str, int, str, str]] = [
    # quote
    ("quote", "429 with Retry-After", "429 rate_limited", 0, "n/a", "n/a"),
    ("quote", "DynamoDB throttling", "201", 0, "n/a", "n/a"),
    ("quote", "HTTP 500", "503 upstream_unavailable", 0, "n/a", "n/a"),
    ("quote", "HTTP 502", "503 upstream_unavailable", 0, "n/a", "n/a"),
    ("quote", "HTTP 503", "503 upstream_unavailable", 0, "n/a", "n/a"),
    ("quote", "connection dropped after commit", "503 upstream_unavailable", 0, "n/a", "n/a"),
    ("quote", "connection dropped before commit", "503 upstream_unavailable", 0, "n/a", "n/a"),
    ("quote", "empty body", "503 upstream_unavailable", 0, "n/a", "n/a"),
    ("quote", "latency beyond the client timeout", "503 upstream_unavailable", 0, "n/a", "n/a"),
    ("quote", "ledger write failed after Minted answered", "201", 0, "n/a", "n/a"),
    ("quote", "malformed body", "503 upstream_unavailable", 0, "n/a", "n/a"),
    ("quote", "price token expired between quote and buy", "201", 0, "n/a", "n/a"),
    ("quote", "rotated secret", "201", 0, "n/a", "n/a"),
    # buy
    ("buy", "429 with Retry-After", "429 rate_limited", 0, "NOT_PLACED → NOT_PLACED", "yes"),
    ("buy", "DynamoDB throttling", "503 ledger_unavailable", 0, "none → none", "yes"),
    ("buy", "HTTP 500", "202 UNKNOWN", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("buy", "HTTP 502", "202 UNKNOWN", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("buy", "HTTP 503", "202 UNKNOWN", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("buy", "a stranger's order under our id", "409 foreign_order", 0, "FOREIGN → FOREIGN", "yes"),
    ("buy", "connection dropped after commit", "202 UNKNOWN", 1, "UNKNOWN → SUBMITTED", "yes"),
    ("buy", "connection dropped before commit", "202 UNKNOWN", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("buy", "empty body", "202 UNKNOWN", 1, "UNKNOWN → SUBMITTED", "yes"),
    ("buy", "latency beyond the client timeout", "202 UNKNOWN", 1, "UNKNOWN → SUBMITTED", "yes"),
    ("buy", "ledger write failed after Minted answered", "201 SUBMITTED", 1, "RECEIVED → SUBMITTED", "yes"),
    ("buy", "malformed body", "202 UNKNOWN", 1, "UNKNOWN → SUBMITTED", "yes"),
    ("buy", "price token expired between quote and buy", "422 quote_expired", 0, "REJECTED → REJECTED", "yes"),
    ("buy", "rotated secret", "201 SUBMITTED", 1, "SUBMITTED → SUBMITTED", "yes"),
    # buy (split orders)
    ("buy (split orders)", "429 with Retry-After", "429 rate_limited", 0, "NOT_PLACED → NOT_PLACED", "yes"),
    ("buy (split orders)", "DynamoDB throttling", "503 ledger_unavailable", 0, "none → none", "yes"),
    ("buy (split orders)", "HTTP 500", "202 UNKNOWN", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("buy (split orders)", "HTTP 502", "202 UNKNOWN", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("buy (split orders)", "HTTP 503", "202 UNKNOWN", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("buy (split orders)", "connection dropped after commit", "202 UNKNOWN", 1, "UNKNOWN → SUBMITTED", "yes"),
    ("buy (split orders)", "connection dropped before commit", "202 UNKNOWN", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("buy (split orders)", "empty body", "202 UNKNOWN", 1, "UNKNOWN → SUBMITTED", "yes"),
    ("buy (split orders)", "latency beyond the client timeout", "202 UNKNOWN", 1, "UNKNOWN → SUBMITTED", "yes"),
    (
        "buy (split orders)",
        "ledger write failed after Minted answered",
        "201 SUBMITTED",
        1,
        "RECEIVED → SUBMITTED",
        "yes",
    ),
    ("buy (split orders)", "malformed body", "202 UNKNOWN", 1, "UNKNOWN → SUBMITTED", "yes"),
    (
        "buy (split orders)",
        "price token expired between quote and buy",
        "422 quote_expired",
        0,
        "REJECTED → REJECTED",
        "yes",
    ),
    ("buy (split orders)", "rotated secret", "201 SUBMITTED", 1, "SUBMITTED → SUBMITTED", "yes"),
    # sell
    ("sell", "429 with Retry-After", "429 rate_limited", 0, "NOT_PLACED → NOT_PLACED", "yes"),
    ("sell", "DynamoDB throttling", "503 ledger_unavailable", 0, "none → none", "yes"),
    ("sell", "HTTP 500", "202 UNKNOWN", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("sell", "HTTP 502", "202 UNKNOWN", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("sell", "HTTP 503", "202 UNKNOWN", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("sell", "connection dropped after commit", "202 UNKNOWN", 1, "UNKNOWN → SUBMITTED", "yes"),
    ("sell", "connection dropped before commit", "202 UNKNOWN", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("sell", "empty body", "202 UNKNOWN", 1, "UNKNOWN → SUBMITTED", "yes"),
    ("sell", "latency beyond the client timeout", "202 UNKNOWN", 1, "UNKNOWN → SUBMITTED", "yes"),
    ("sell", "ledger write failed after Minted answered", "201 SUBMITTED", 1, "RECEIVED → SUBMITTED", "yes"),
    ("sell", "malformed body", "202 UNKNOWN", 1, "UNKNOWN → SUBMITTED", "yes"),
    ("sell", "price token expired between quote and buy", "422 quote_expired", 0, "REJECTED → REJECTED", "yes"),
    ("sell", "rotated secret", "201 SUBMITTED", 1, "SUBMITTED → SUBMITTED", "yes"),
    # get order
    ("get order", "429 with Retry-After", "200 stale", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order", "DynamoDB throttling", "503 ledger_unavailable", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order", "HTTP 500", "200 stale", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order", "HTTP 502", "200 stale", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order", "HTTP 503", "200 stale", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order", "a stranger's order under our id", "409 foreign_order", 0, "FOREIGN → FOREIGN", "yes"),
    ("get order", "connection dropped after commit", "200 stale", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order", "connection dropped before commit", "200 stale", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order", "empty body", "200 stale", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order", "latency beyond the client timeout", "200 stale", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order", "ledger write failed after Minted answered", "200 SUBMITTED", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order", "malformed body", "200 stale", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order", "price token expired between quote and buy", "200 SUBMITTED", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order", "rotated secret", "200 SUBMITTED", 1, "SUBMITTED → SUBMITTED", "yes"),
    # get order (split orders)
    ("get order (split orders)", "429 with Retry-After", "200 stale", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order (split orders)", "DynamoDB throttling", "503 ledger_unavailable", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order (split orders)", "HTTP 500", "200 stale", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order (split orders)", "HTTP 502", "200 stale", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order (split orders)", "HTTP 503", "200 stale", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order (split orders)", "connection dropped after commit", "200 stale", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order (split orders)", "connection dropped before commit", "200 stale", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order (split orders)", "empty body", "200 stale", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("get order (split orders)", "latency beyond the client timeout", "200 stale", 1, "SUBMITTED → SUBMITTED", "yes"),
    (
        "get order (split orders)",
        "ledger write failed after Minted answered",
        "200 SUBMITTED",
        1,
        "SUBMITTED → SUBMITTED",
        "yes",
    ),
    ("get order (split orders)", "malformed body", "200 stale", 1, "SUBMITTED → SUBMITTED", "yes"),
    (
        "get order (split orders)",
        "price token expired between quote and buy",
        "200 SUBMITTED",
        1,
        "SUBMITTED → SUBMITTED",
        "yes",
    ),
    ("get order (split orders)", "rotated secret", "200 SUBMITTED", 1, "SUBMITTED → SUBMITTED", "yes"),
    # prices
    ("prices", "429 with Retry-After", "200 stale", 0, "n/a", "n/a"),
    ("prices", "DynamoDB throttling", "200", 0, "n/a", "n/a"),
    ("prices", "HTTP 500", "200 stale", 0, "n/a", "n/a"),
    ("prices", "HTTP 502", "200 stale", 0, "n/a", "n/a"),
    ("prices", "HTTP 503", "200 stale", 0, "n/a", "n/a"),
    ("prices", "connection dropped after commit", "200 stale", 0, "n/a", "n/a"),
    ("prices", "connection dropped before commit", "200 stale", 0, "n/a", "n/a"),
    ("prices", "empty body", "200 stale", 0, "n/a", "n/a"),
    ("prices", "latency beyond the client timeout", "200 stale", 0, "n/a", "n/a"),
    ("prices", "ledger write failed after Minted answered", "200", 0, "n/a", "n/a"),
    ("prices", "malformed body", "200 stale", 0, "n/a", "n/a"),
    ("prices", "price token expired between quote and buy", "200", 0, "n/a", "n/a"),
    ("prices", "rotated secret", "200", 0, "n/a", "n/a"),
    # legal
    ("legal", "429 with Retry-After", "429 rate_limited", 0, "n/a", "n/a"),
    ("legal", "DynamoDB throttling", "200", 0, "n/a", "n/a"),
    ("legal", "HTTP 500", "503 upstream_unavailable", 0, "n/a", "n/a"),
    ("legal", "HTTP 502", "503 upstream_unavailable", 0, "n/a", "n/a"),
    ("legal", "HTTP 503", "503 upstream_unavailable", 0, "n/a", "n/a"),
    ("legal", "connection dropped after commit", "503 upstream_unavailable", 0, "n/a", "n/a"),
    ("legal", "connection dropped before commit", "503 upstream_unavailable", 0, "n/a", "n/a"),
    ("legal", "empty body", "503 upstream_unavailable", 0, "n/a", "n/a"),
    ("legal", "latency beyond the client timeout", "503 upstream_unavailable", 0, "n/a", "n/a"),
    ("legal", "ledger write failed after Minted answered", "200", 0, "n/a", "n/a"),
    ("legal", "malformed body", "503 upstream_unavailable", 0, "n/a", "n/a"),
    ("legal", "price token expired between quote and buy", "200", 0, "n/a", "n/a"),
    ("legal", "rotated secret", "200", 0, "n/a", "n/a"),
    # workflow
    ("workflow", "429 with Retry-After", "FAILED UpstreamRateLimited", 0, "NOT_PLACED → NOT_PLACED", "yes"),
    ("workflow", "DynamoDB throttling", "503 ledger_unavailable", 0, "none → none", "yes"),
    ("workflow", "HTTP 500", "FAILED OrderNotFinal", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("workflow", "HTTP 502", "FAILED OrderNotFinal", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("workflow", "HTTP 503", "FAILED OrderNotFinal", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("workflow", "a stranger's order under our id", "FAILED ForeignOrder", 0, "FOREIGN → FOREIGN", "yes"),
    ("workflow", "connection dropped after commit", "SUCCEEDED", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("workflow", "connection dropped before commit", "FAILED OrderNotFinal", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("workflow", "empty body", "SUCCEEDED", 1, "SUBMITTED → SUBMITTED", "yes"),
    (
        "workflow",
        "late commit: another order's workflow during a slow buy",
        "409 order_conflict",
        1,
        "UNKNOWN → SUBMITTED",
        "yes",
    ),
    ("workflow", "latency beyond the client timeout", "SUCCEEDED", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("workflow", "ledger write failed after Minted answered", "SUCCEEDED", 1, "RECEIVED → SUBMITTED", "yes"),
    ("workflow", "malformed body", "SUCCEEDED", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("workflow", "price token expired between quote and buy", "FAILED QuoteExpired", 0, "REJECTED → REJECTED", "yes"),
    ("workflow", "rotated secret", "SUCCEEDED", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("workflow", "started under the id of a placed order", "409 order_conflict", 1, "SUBMITTED → SUBMITTED", "yes"),
    # workflow (split orders)
    (
        "workflow (split orders)",
        "429 with Retry-After",
        "FAILED UpstreamRateLimited",
        0,
        "NOT_PLACED → NOT_PLACED",
        "yes",
    ),
    ("workflow (split orders)", "DynamoDB throttling", "503 ledger_unavailable", 0, "none → none", "yes"),
    ("workflow (split orders)", "HTTP 500", "FAILED OrderNotFinal", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("workflow (split orders)", "HTTP 502", "FAILED OrderNotFinal", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("workflow (split orders)", "HTTP 503", "FAILED OrderNotFinal", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("workflow (split orders)", "connection dropped after commit", "SUCCEEDED", 1, "SUBMITTED → SUBMITTED", "yes"),
    (
        "workflow (split orders)",
        "connection dropped before commit",
        "FAILED OrderNotFinal",
        0,
        "UNKNOWN → UNKNOWN",
        "yes",
    ),
    ("workflow (split orders)", "empty body", "SUCCEEDED", 1, "SUBMITTED → SUBMITTED", "yes"),
    ("workflow (split orders)", "latency beyond the client timeout", "SUCCEEDED", 1, "SUBMITTED → SUBMITTED", "yes"),
    (
        "workflow (split orders)",
        "ledger write failed after Minted answered",
        "SUCCEEDED",
        1,
        "RECEIVED → SUBMITTED",
        "yes",
    ),
    ("workflow (split orders)", "malformed body", "SUCCEEDED", 1, "SUBMITTED → SUBMITTED", "yes"),
    (
        "workflow (split orders)",
        "price token expired between quote and buy",
        "FAILED QuoteExpired",
        0,
        "REJECTED → REJECTED",
        "yes",
    ),
    ("workflow (split orders)", "rotated secret", "SUCCEEDED", 1, "SUBMITTED → SUBMITTED", "yes"),
    # create customer
    ("create customer", "429 with Retry-After", "429 rate_limited", 0, "no ledger; retry 201", "yes"),
    ("create customer", "DynamoDB throttling", "201", 0, "no ledger; retry 200", "yes"),
    ("create customer", "HTTP 500", "503 upstream_unavailable", 0, "no ledger; retry 201", "yes"),
    ("create customer", "HTTP 502", "503 upstream_unavailable", 0, "no ledger; retry 201", "yes"),
    ("create customer", "HTTP 503", "503 upstream_unavailable", 0, "no ledger; retry 201", "yes"),
    ("create customer", "connection dropped after commit", "201", 0, "no ledger; retry 200", "yes"),
    (
        "create customer",
        "connection dropped before commit",
        "503 upstream_unavailable",
        0,
        "no ledger; retry 201",
        "yes",
    ),
    ("create customer", "empty body", "201", 0, "no ledger; retry 200", "yes"),
    (
        "create customer",
        "latency beyond the client timeout",
        "503 upstream_unavailable",
        0,
        "no ledger; retry 200",
        "yes",
    ),
    ("create customer", "ledger write failed after Minted answered", "201", 0, "no ledger; retry 200", "yes"),
    ("create customer", "malformed body", "201", 0, "no ledger; retry 200", "yes"),
    ("create customer", "price token expired between quote and buy", "201", 0, "no ledger; retry 200", "yes"),
    ("create customer", "rotated secret", "201", 0, "no ledger; retry 200", "yes"),
    # buy (customer day limit)
    ("buy (customer day limit)", "429 with Retry-After", "429 rate_limited", 0, "NOT_PLACED → NOT_PLACED", "yes"),
    ("buy (customer day limit)", "DynamoDB throttling", "503 ledger_unavailable", 0, "none → none", "yes"),
    ("buy (customer day limit)", "HTTP 500", "202 UNKNOWN", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("buy (customer day limit)", "HTTP 502", "202 UNKNOWN", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("buy (customer day limit)", "HTTP 503", "202 UNKNOWN", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("buy (customer day limit)", "connection dropped after commit", "202 UNKNOWN", 1, "UNKNOWN → SUBMITTED", "yes"),
    ("buy (customer day limit)", "connection dropped before commit", "202 UNKNOWN", 0, "UNKNOWN → UNKNOWN", "yes"),
    ("buy (customer day limit)", "empty body", "202 UNKNOWN", 1, "UNKNOWN → SUBMITTED", "yes"),
    ("buy (customer day limit)", "latency beyond the client timeout", "202 UNKNOWN", 1, "UNKNOWN → SUBMITTED", "yes"),
    (
        "buy (customer day limit)",
        "ledger write failed after Minted answered",
        "201 SUBMITTED",
        1,
        "RECEIVED → SUBMITTED",
        "yes",
    ),
    ("buy (customer day limit)", "malformed body", "202 UNKNOWN", 1, "UNKNOWN → SUBMITTED", "yes"),
    (
        "buy (customer day limit)",
        "price token expired between quote and buy",
        "422 quote_expired",
        0,
        "REJECTED → REJECTED",
        "yes",
    ),
    ("buy (customer day limit)", "rotated secret", "201 SUBMITTED", 1, "SUBMITTED → SUBMITTED", "yes"),
]
EXPECTED = {(op, fault): MatrixRow(op, fault, answer, str(buys), ledger, agrees)
            for op, fault, answer, buys, ledger, agrees in EXPECTED_ROWS}  # fmt: skip
