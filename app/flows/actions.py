"""Named Python actions that flows call at their `action:` nodes.

An action is a plain function of an ActionContext that returns one of its declared outcomes;
the flow's `next` maps each outcome to a node. Register with the decorator:

    @action("lookup_order", outcomes=("found", "unknown"))
    def lookup_order(ctx: ActionContext) -> str: ...

The linter checks every action node against this registry (unknown name, outcome without a
transition), so packages register their actions at import time (see ACTION_MODULES).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.models import Call

Handler = Callable[["ActionContext"], str]

# Modules whose import registers actions; the engine imports them before linting flows.
ACTION_MODULES: tuple[str, ...] = (
    "app.flows.builtin",
    "app.consent.actions",
    "app.support.actions",
    "app.callbacks.actions",
    "app.campaigns.actions",
)


@dataclass
class ActionContext:
    """What an action may read and change. `slots` and `language` are written back to the call
    by the engine after the action returns, with the steps it added; `session` is the
    request's transaction."""

    session: Session
    call: Call
    slots: dict[str, Any]
    language: str
    now: datetime
    settings: Any
    params: Mapping[str, str] = field(default_factory=dict)
    hotline: Any = None
    flow: str = ""
    node: str = ""
    # The other party's contact, looked up only if an action asks (most never do).
    contact_loader: Callable[[], Any] | None = field(default=None, repr=False)
    # The turn's lines of the call's history so far (call_steps rows, written when it ends).
    steps: list[dict[str, Any]] = field(default_factory=list)

    def add_step(self, kind: str, *, input: str | None = None, outcome: str | None = None) -> None:
        """A line in the call's history, beyond the engine's own node/outcome step; it is
        written with the turn's other steps, in order."""
        self.steps.append(step_row(self.call.id, self.now, self.flow, self.node, kind, input=input,
                                   outcome=outcome))

    @property
    def contact(self) -> Any:
        return self.contact_loader() if self.contact_loader else None


def step_row(call_id: int, at: datetime, flow: str | None, node: str | None, kind: str, *,
             input: str | None = None, outcome: str | None = None, said: str | None = None) -> dict[str, Any]:
    """One call_steps row as the turn writes it (the caller's words cut at 2,000 characters)."""
    return {"call_id": call_id, "at": at, "flow": flow, "node": node, "kind": kind,
            "input": input[:2000] if input else None, "outcome": outcome, "said": said}


@dataclass(frozen=True)
class Action:
    name: str
    handler: Handler
    outcomes: tuple[str, ...]


_REGISTRY: dict[str, Action] = {}


class UnknownOutcome(RuntimeError):
    """An action returned a name it did not declare: a programming error, not caller input."""


def action(name: str, *, outcomes: tuple[str, ...] | list[str]) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if not outcomes:
            raise ValueError(f"action {name!r} declares no outcomes")
        _REGISTRY[name] = Action(name, handler, tuple(outcomes))
        return handler

    return register


def get(name: str) -> Action | None:
    return _REGISTRY.get(name)


def registry() -> Mapping[str, Action]:
    return dict(_REGISTRY)


def run(name: str, ctx: ActionContext) -> str:
    act = _REGISTRY[name]
    outcome = act.handler(ctx)
    if outcome not in act.outcomes:
        raise UnknownOutcome(f"action {name!r} returned {outcome!r}, not one of {act.outcomes}")
    return outcome


def load_action_modules() -> None:
    """Import every package's actions; a package not installed yet is skipped, nothing else is."""
    for module in ACTION_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise
