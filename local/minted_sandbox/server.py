"""Run the sandbox on a loopback port, in a background thread (tests, dev stack) or in the foreground."""

from __future__ import annotations

import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from local.minted_sandbox.app import Sandbox, create_app
from local.minted_sandbox.state import SandboxSettings


class SandboxServer:
    """A threaded Werkzeug server hosting one sandbox; port 0 picks a free port."""

    def __init__(self, settings: SandboxSettings | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = create_app(settings)
        self._server: BaseWSGIServer = make_server(host, port, self.app, threaded=True)
        self._thread: threading.Thread | None = None

    @property
    def sandbox(self) -> Sandbox:
        sandbox: Sandbox = self.app.extensions["sandbox"]
        return sandbox

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="minted-sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
