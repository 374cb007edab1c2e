"""The fault matrix's table (matrix.py) and docs/reliability.md: the document says what the tests hold."""

from __future__ import annotations

from tests.reliability.matrix import EXPECTED, EXPECTED_ROWS
from tests.reliability.report import DOC, render_matrix
from tests.reliability.test_fault_matrix import FAULTS, RUN


def test_the_documents_fault_matrix_is_the_table_the_tests_assert() -> None:
    assert DOC.read_text(encoding="utf-8").startswith(render_matrix() + "\n\n"), (
        "docs/reliability.md's matrix is not tests/reliability/matrix.py's: run the reliability tests and commit it"
    )


def test_each_row_is_written_once_and_every_operation_meets_every_fault() -> None:
    assert len(EXPECTED) == len(EXPECTED_ROWS), "a row written twice"
    missing = {(operation, fault.name) for operation in RUN for fault in FAULTS} - set(EXPECTED)
    assert not missing, f"no expected row: {sorted(missing)}"
