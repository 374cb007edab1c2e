"""docs/reliability.md, written by the reliability tests from what they observed.

Sections are kept in a fixed order and hold only figures a rerun reproduces; timings, which vary
from run to run, are marked as such. Under CI a committed report that no longer matches the
observed figures fails the run, so the document cannot drift from the behaviour.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
VARIES = re.compile(r"<!-- varies -->.*?<!-- /varies -->", re.DOTALL)

HEADER = """# Reliability: faults, load and hostile input

Written by `make test` (tests/reliability); do not edit by hand. Every row is an observation of
the local stack (the real handlers, the Minted sandbox over HTTP, moto), made by driving one
operation while the sandbox or DynamoDB misbehaves. Minted's buys are counted by the sandbox.
The client's read timeout is 1 s in these runs so that "beyond the timeout" is quick to reach.
Rows marked "(split orders)" run with the sandbox making one order per item of a two-item buy.
"A stranger's order under our id", "started under the id of a placed order" and "late commit"
put another order under the id; their buys at Minted count only this gateway's.
"card buy" rows pay by the sandbox's card that pays (the CVV asserted absent from every answer);
"delivery" rows count Minted's deliveries (its customer's gold was bought before the fault), and a
delivery has no price token, so its "price token expired" row runs without a fault.
"""


@dataclass
class MatrixRow:
    operation: str
    fault: str
    answer: str  # status and code, or the workflow's end
    minted_buys: str
    ledger: str  # after the operation -> after the next GET
    agrees: str


@dataclass
class Report:
    matrix: list[MatrixRow] = field(default_factory=list)
    sections: dict[str, str] = field(default_factory=dict)
    hostile: list[str] = field(default_factory=list)

    def render(self) -> str:
        columns = ("operation", "fault", "answer", "buys at Minted", "ledger (after → after next GET)", "agrees")
        lines = [HEADER, "## Fault matrix", "", "| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
        for row in sorted(self.matrix, key=lambda r: (OPERATIONS.index(r.operation), r.fault)):
            lines.append(
                f"| {row.operation} | {row.fault} | {row.answer} | {row.minted_buys} | {row.ledger} | {row.agrees} |"
            )
        for title in sorted(self.sections):
            lines += ["", f"## {title}", "", self.sections[title].rstrip()]
        return "\n".join(lines) + "\n"

    def add_hostile(self, line: str) -> None:
        if line not in self.hostile:  # each case of a parametrized test reports the same line
            self.hostile.append(line)
        self.sections["Hostile input"] = (
            "Schemathesis (positive and negative generation, 100 examples an operation) on every operation of\n"
            "the local stack's OpenAPI document: no server error; every status code, content type and body as\n"
            "documented; every schema-valid request accepted (but for refusals only state explains: a quote\n"
            "Minted no longer holds, Minted refusing the order) and every invalid one refused. Then the cases\n"
            "it does not make:\n\n" + "\n".join(sorted(self.hostile))
        )

    def complete(self) -> bool:
        from tests.reliability.test_fault_matrix import EXTRA_ROWS, FAULTS  # the matrix owns its faults

        rows = len(OPERATIONS) * len(FAULTS) + EXTRA_ROWS
        return len(self.matrix) == rows and set(self.sections) >= EXPECTED_SECTIONS

    def write(self) -> None:
        text = self.render()
        if os.environ.get("CI") and DOC.exists() and _stable(DOC.read_text(encoding="utf-8")) != _stable(text):
            DOC.write_text(text, encoding="utf-8")
            raise AssertionError(
                "docs/reliability.md does not match what this run observed: run make test and commit it"
            )
        DOC.write_text(text, encoding="utf-8")


OPERATIONS = ["quote", "buy", "buy (split orders)", "sell", "get order", "get order (split orders)", "prices", "legal",
              "workflow", "workflow (split orders)", "create customer", "buy (customer day limit)",
              "card buy", "delivery"]  # fmt: skip
EXPECTED_SECTIONS = {"Load with duplicates", "Hostile input"}


def _stable(text: str) -> str:
    return VARIES.sub("", text)
