"""The two DynamoDB implementations the ledger adapter's tests run against: moto in-process, and
dynalite (an independent one, from npm) on a loopback port. Both get the template's tables."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.template import create_tables

ROOT = Path(__file__).resolve().parents[2]
DYNALITE = ROOT / "node_modules" / ".bin" / "dynalite"


@pytest.fixture(scope="module")
def dynalite_url() -> Iterator[str]:
    assert DYNALITE.exists(), "dynalite is installed by make (npm ci from package-lock.json)"
    assert shutil.which("node"), "dynalite needs Node.js"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603 - the project's pinned dynalite, on loopback
        [
            str(DYNALITE),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--createTableMs",
            "0",
            "--deleteTableMs",
            "0",
            "--updateTableMs",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "dynalite did not start"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(params=["moto", "dynalite"])
def dynamodb(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "moto":
        with mock_aws():
            client = boto3.client("dynamodb", region_name="eu-central-1")
            create_tables(client)
            yield client
        return
    url = request.getfixturevalue("dynalite_url")
    client = boto3.client("dynamodb", region_name="eu-central-1", endpoint_url=url)
    # dynalite deletes and creates tables a moment after it answers: wait (boundedly) for each to settle,
    # or a busy machine sees the old table vanish or the new one not yet ACTIVE.
    settle = {"Delay": 0.05, "MaxAttempts": 200}
    for table in client.list_tables()["TableNames"]:
        client.delete_table(TableName=table)
        client.get_waiter("table_not_exists").wait(TableName=table, WaiterConfig=settle)
    for table in create_tables(client, time_to_live=False):  # dynalite has no UpdateTimeToLive
        client.get_waiter("table_exists").wait(TableName=table, WaiterConfig=settle)
    yield client
