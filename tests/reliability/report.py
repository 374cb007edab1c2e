"""docs/reliability.md, written by the reliability tests: the fault matrix from its table of expected
rows (matrix.py), which every run must observe row by row, and the other sections from what they observed.

Sections are kept in a fixed order and hold only figures a rerun reproduces; timings, which vary
from run to run, are marked as such and are not rewritten when nothing else changed. Under CI a
committed report that no longer matches fails the run, and .ci/run fails when make test changed
anything under docs/, so the document cannot drift from the tests.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from tests.reliability.matrix import EXPECTED, MatrixRow

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


__all__ = ["MatrixRow", "Report"]


class ObservedRows(list[MatrixRow]):
    """The matrix rows a run observed; each must be its row of the expected table, as it is appended."""

    def append(self, row: MatrixRow) -> None:
        expected = EXPECTED.get(row.key)
        assert expected is not None, f"no expected row for {row.key} in tests/reliability/matrix.py: add one"
        assert row == expected, f"observed {row}, expected {expected} (tests/reliability/matrix.py)"
        super().append(row)


@dataclass
class Report:
    matrix: ObservedRows = field(default_factory=ObservedRows)
    sections: dict[str, str] = field(default_factory=dict)
    hostile: list[str] = field(default_factory=list)

    def observe(self, row: MatrixRow) -> None:
        self.matrix.append(row)

    def render(self) -> str:
        lines = [render_matrix()]
        for title in sorted(self.sections):
            lines += ["", f"## {title}", "", self.sections[title].rstrip()]
        return "\n".join(lines) + "\n"

    def add_hostile(self, line: str) -> None:
        from tests.reliability.test_hostile_input import EXAMPLES as examples  # noqa: N811 - the run's own
        from tests.reliability.test_hostile_input import SEED as seed  # noqa: N811

        if line not in self.hostile:  # each case of a parametrized test reports the same line
            self.hostile.append(line)
        self.sections["Hostile input"] = (
            f"Schemathesis (positive and negative generation, {examples} examples an operation, seed {seed}; the\n"
            "long run: SCHEMATHESIS_EXAMPLES=300 make test) on every operation of\n"
            "the local stack's OpenAPI document: no server error; every status code, content type and body as\n"
            "documented; every schema-valid request accepted (but for refusals only state explains: a quote\n"
            "Minted no longer holds, Minted refusing the order) and every invalid one refused. Then the cases\n"
            "it does not make:\n\n" + "\n".join(sorted(self.hostile))
        )

    def complete(self) -> bool:
        """Every expected row observed, and every other section: a partial run (-k, a failure) writes nothing."""
        return {row.key for row in self.matrix} == set(EXPECTED) and set(self.sections) >= EXPECTED_SECTIONS

    def write(self) -> None:
        text = self.render()
        committed = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if _stable(committed) == _stable(text):
            return  # only the timings differ: leave the committed document (and git) alone
        DOC.write_text(text, encoding="utf-8")
        if os.environ.get("CI"):
            raise AssertionError("docs/reliability.md does not match this run's tests: run make test and commit it")


def render_matrix() -> str:
    """The header and the fault matrix, from the expected rows (tests/reliability/matrix.py)."""
    columns = ("operation", "fault", "answer", "buys at Minted", "ledger (after → after next GET)", "agrees")
    lines = [HEADER, "## Fault matrix", "", "| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
    for row in sorted(EXPECTED.values(), key=_place):
        lines.append(
            f"| {row.operation} | {row.fault} | {row.answer} | {row.minted_buys} | {row.ledger} | {row.agrees} |"
        )
    return "\n".join(lines)


def _place(row: MatrixRow) -> tuple[int, str]:
    """Operations in their order below (a new one after them), then faults alphabetically."""
    order = OPERATIONS.index(row.operation) if row.operation in OPERATIONS else len(OPERATIONS)
    return order, row.fault


# The operations every fault drives, then those only the fault-sequence cases drive (a row each).
OPERATIONS = ["quote", "buy", "buy (split orders)", "sell", "get order", "get order (split orders)", "prices", "legal",
              "workflow", "workflow (split orders)", "create customer", "buy (customer day limit)",
              "card buy", "delivery", "reconcile", "make reconcile", "daily comparison"]  # fmt: skip
EXPECTED_SECTIONS = {"Load with duplicates", "Hostile input"}


def _stable(text: str) -> str:
    return VARIES.sub("", text)
