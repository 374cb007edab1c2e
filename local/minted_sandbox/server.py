"""Run the sandbox on a loopback port, in a background thread (tests, dev stack) or in the foreground."""

from __future__ import annotations

from local.minted_sandbox.app import Sandbox, create_app
from local.minted_sandbox.state import SandboxSettings
from local.serving import BackgroundServer


class SandboxServer(BackgroundServer):
    """One sandbox behind a threaded Werkzeug server; port 0 picks a free port."""

    def __init__(self, settings: SandboxSettings | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = create_app(settings)
        super().__init__(self.app, host=host, port=port, name="minted-sandbox")

    @property
    def sandbox(self) -> Sandbox:
        sandbox: Sandbox = self.app.extensions["sandbox"]
        return sandbox
