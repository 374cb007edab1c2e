"""The router refuses, when a route's arguments are built (SnapStart's hook, or the route's first request), a
declaration it cannot serve as Powertools would, naming the route and the parameter: answering such a route
differently from Powertools, or with a 500, would break what tests/api/test_router_parity.py holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler.openapi.params import Cookie, Header
from pydantic import BaseModel

from minted_gateway.api.http import json_response
from minted_gateway.api.router import Body, Path, Query, Response, Router


class Thing(BaseModel):
    name: str


def unmarked_model(thing: Thing) -> Response[str]:
    return json_response(200, {})


def list_query(tag: Annotated[list[str], Query()]) -> Response[str]:
    return json_response(200, {})


def optional_list_query(tag: Annotated[list[str] | None, Query()] = None) -> Response[str]:
    return json_response(200, {})


def unmarked_list_query(tag: tuple[str, ...] = ()) -> Response[str]:
    return json_response(200, {})


def embedded_body(thing: Annotated[Thing, Body(embed=True)]) -> Response[str]:
    return json_response(200, {})


def header(token: Annotated[str, Header()]) -> Response[str]:
    return json_response(200, {})


def cookie(session: Annotated[str | None, Cookie()] = None) -> Response[str]:
    return json_response(200, {})


@pytest.mark.parametrize(
    ("handler", "parameter", "why"),
    [
        (unmarked_model, "thing", "without Body()"),
        (list_query, "tag", "sequence in the query"),
        (optional_list_query, "tag", "sequence in the query"),
        (unmarked_list_query, "tag", "sequence in the query"),
        (embedded_body, "thing", "embed=True"),
        (header, "token", "Powertools' Header()"),
        (cookie, "session", "Powertools' Cookie()"),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_a_declaration_the_router_cannot_serve_is_refused_when_prepared(
    handler: Callable[..., Any], parameter: str, why: str
) -> None:
    app = Router()
    app.post("/things/<thing_id>")(handler)
    with pytest.raises(TypeError) as refused:
        app.prepare()
    assert f"POST /things/<thing_id>: parameter {parameter!r}" in str(refused.value)
    assert why in str(refused.value)


def test_the_declarations_the_functions_use_are_prepared() -> None:
    app = Router()

    @app.patch("/things/<thing_id>")
    def change(
        thing_id: Annotated[str, Path(pattern="^[a-z]+$")],
        thing: Annotated[Thing, Body()],
        limit: Annotated[int, Query(ge=1)] = 10,
        cursor: str | None = None,
    ) -> Response[str]:
        return json_response(200, {})

    app.prepare()
    path, query, body = app.routes[0].arguments()
    assert [a.name for a in path] == ["thing_id"] and [a.name for a in query] == ["limit", "cursor"]
    assert body is not None and body.name == "thing"
