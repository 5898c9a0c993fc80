"""Named Python actions that flows call at their `action:` nodes.

An action is a plain function of an ActionContext that returns one of its declared outcomes;
the flow's `next` maps each outcome to a node. Each package keeps its actions in an `Actions`
set of its own and registers that set with the app in its `init_app`:

    ACTIONS = Actions()

    @ACTIONS.action("lookup_order", outcomes=("found", "unknown"))
    def lookup_order(ctx: ActionContext) -> str: ...

The linter checks every action node against the app's set (unknown name, outcome without a
transition). Nothing registers itself on import: what an app can run is what its packages
registered, so a package that does not exist cannot be listed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.calls import CallRecord

Handler = Callable[["ActionContext"], str]



@dataclass
class ActionContext:
    """What an action may read and change. `slots` and `language` are written back to the call
    by the engine after the action returns, with the steps it added; `session` is the
    request's transaction."""

    session: Session
    call: CallRecord
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
        """A line in the call's history, written with the turn's other steps, in order. The
        engine adds its own line with the action's outcome unless one of these says it."""
        self.steps.append(step_row(self.call.id, self.now, self.flow, self.node, kind, input=input,
                                   outcome=outcome))

    @property
    def contact(self) -> Any:
        return self.contact_loader() if self.contact_loader else None


def step_row(call_id: int | None, at: datetime, flow: str | None, node: str | None, kind: str, *,
             input: str | None = None, outcome: str | None = None, said: str | None = None) -> dict[str, Any]:
    """One call_steps row as the turn writes it (the caller's words cut at 2,000 characters;
    no call_id yet in a new call's first turn, whose save inserts the call and its steps)."""
    return {"call_id": call_id, "at": at, "flow": flow, "node": node, "kind": kind,
            "input": input[:2000] if input else None, "outcome": outcome, "said": said}


@dataclass(frozen=True)
class Action:
    name: str
    handler: Handler
    outcomes: tuple[str, ...]


class UnknownOutcome(RuntimeError):
    """An action returned a name it did not declare: a programming error, not caller input."""


class Actions:
    """A set of named actions: a package's own, or the app's (every package's together)."""

    def __init__(self, *sets: Actions) -> None:
        self._actions: dict[str, Action] = {}
        for other in sets:
            self.add(other)

    def action(self, name: str, *, outcomes: tuple[str, ...] | list[str]) -> Callable[[Handler], Handler]:
        """Decorator: `handler` answers the flows' `action: name` with one of `outcomes`."""

        def register(handler: Handler) -> Handler:
            self.put(Action(name, handler, tuple(outcomes)))
            return handler

        return register

    def put(self, act: Action) -> None:
        if not act.outcomes:
            raise ValueError(f"action {act.name!r} declares no outcomes")
        known = self._actions.get(act.name)
        if known is not None and known != act:
            # Two packages answering one name: which one a flow runs would depend on order.
            raise ValueError(f"action {act.name!r} is registered twice, differently")
        self._actions[act.name] = act

    def add(self, other: Actions) -> None:
        for act in other._actions.values():
            self.put(act)

    def get(self, name: str) -> Action | None:
        return self._actions.get(name)

    def names(self) -> list[str]:
        return sorted(self._actions)

    def __contains__(self, name: object) -> bool:
        return name in self._actions

    def __len__(self) -> int:
        return len(self._actions)

    def run(self, name: str, ctx: ActionContext) -> str:
        act = self._actions[name]
        outcome = act.handler(ctx)
        if outcome not in act.outcomes:
            raise UnknownOutcome(f"action {name!r} returned {outcome!r}, not one of {act.outcomes}")
        return outcome
