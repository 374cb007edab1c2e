"""``make token``: a token for the running make dev from the key it recorded, or one line saying why not."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from local import make_token, stackfile
from local.jwt_issuer import JwtAuthorizer, LocalIssuer


@pytest.fixture
def stack_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(stackfile.STACK_DIR_VARIABLE, str(tmp_path / "stacks"))
    return stackfile.record_of(os.getpid())


def recorded_stack(issuer: LocalIssuer) -> Path:
    key = issuer.write_key(stackfile.signing_key_file(os.getpid()))
    stackfile.write(stackfile.StackAddresses(gateway_url=issuer.issuer, sandbox_url="", aws_url="", workflow_arn="",
                                             pid=os.getpid(), issuer=issuer.issuer, audience=issuer.audience,
                                             signing_key_file=str(key)))  # fmt: skip
    return key


def test_the_key_is_for_its_owner_only_and_goes_when_the_stack_stops(stack_file: Path) -> None:
    key = recorded_stack(LocalIssuer(issuer="http://127.0.0.1:3999"))
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    stackfile.remove(os.getpid(), key)
    assert not key.exists() and not stack_file.exists()


def test_a_token_is_printed_for_the_running_stack_with_the_scopes_and_customer_asked(
    stack_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    issuer = LocalIssuer(issuer="http://127.0.0.1:3999")
    recorded_stack(issuer)
    assert make_token.main(["--scopes", "minted/orders.read minted/prices.read", "--customer", "cust-0001"]) == 0
    token = capsys.readouterr().out.strip()
    authorized = JwtAuthorizer(issuer.issuer, [issuer.audience], issuer.jwks()).authorize(
        f"Bearer {token}", ["minted/orders.read"]
    )
    assert authorized.scopes == ["minted/orders.read", "minted/prices.read"]
    assert authorized.claims["minted_customer"] == "cust-0001"


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["--scopes", ""], make_token.BAD_USAGE, "no scope given"),
        (["--scopes", "minted/everything"], make_token.BAD_USAGE, "unknown scope minted/everything"),
        (["--scopes", "minted/prices.read"], make_token.NO_STACK, "no make dev stack is running"),
    ],
)
def test_no_scope_an_unknown_scope_or_no_stack_is_one_line_and_a_non_zero_exit(
    stack_file: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, said: str
) -> None:
    assert make_token.main(args) == code
    printed = capsys.readouterr()
    assert printed.out == "" and said in printed.err and printed.err.count("\n") == 1


def test_a_gateway_port_no_stack_runs_on_is_named_with_the_ones_that_do(
    stack_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a new user's trial: a mistyped GATEWAY_PORT was answered "none recorded; start one with make
    dev" while a stack ran on another port."""
    recorded_stack(LocalIssuer(issuer="http://127.0.0.1:47101"))
    monkeypatch.setenv("GATEWAY_PORT", "47199")
    assert make_token.main(["--scopes", "minted/prices.read"]) == make_token.NO_STACK
    said = capsys.readouterr().err
    assert "GATEWAY_PORT=47199" in said and "GATEWAY_PORT=47101" in said and "start one" not in said, said
    monkeypatch.setenv("GATEWAY_PORT", "47101")
    assert make_token.main(["--scopes", "minted/prices.read"]) == 0  # the port that runs: a token
