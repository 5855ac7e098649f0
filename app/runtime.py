"""What the app holds across requests, on `app.state["runtime"]`: the services once
they are loaded and the start-up state. server.create_app fills it; the pages read
it to say "loading" or "failed" before the services exist."""

from __future__ import annotations

from typing import Literal

from app.services import Services

State = Literal["loading", "ready", "failed"]


class Runtime:
    def __init__(self) -> None:
        self.services: Services | None = None
        self.state: State = "loading"
        self.error: str | None = None
