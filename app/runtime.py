"""What the app holds across requests, on `app.state["runtime"]`: the services once
they are loaded and the start-up state. server.create_app fills it; handlers get the
services through `ready()` (dependency injection), and the pages read the state to
say "loading" or "failed" before the services exist."""

from __future__ import annotations

from typing import Literal

from app.errors import NotReadyError
from app.services import Services

State = Literal["loading", "ready", "failed"]


class Runtime:
    def __init__(self) -> None:
        self.services: Services | None = None
        self.state: State = "loading"
        self.error: str | None = None

    def ready(self) -> Services:
        """The services, or a 503 that says whether they are loading or failed (and why)."""
        if self.services is None:
            if self.state == "failed":
                raise NotReadyError(f"imgdesc failed to start: {self.error}")
            raise NotReadyError("models are loading; retry shortly")
        return self.services
