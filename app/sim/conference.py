"""Conferences in the simulator: calls that `<Dial><Conference>` the same name talk together.

Twilio's behaviour kept here: a participant with startConferenceOnEnter (the default) starts
the conference; until a second one joins they wait alone (hold music); a participant with
endConferenceOnExit ends it for everyone when they leave, and each remaining participant's
`<Dial>` then finishes (its action is requested with DialCallStatus=completed). Nothing runs
in the background: the leaving call drives the others on, in the same step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.sim.call import SimCall


@dataclass
class Room:
    name: str
    members: list[SimCall] = field(default_factory=list)
    ends_on_exit: set[str] = field(default_factory=set)  # CallSids with endConferenceOnExit


class Switchboard:
    """Every conference of one simulated Twilio account, by name."""

    def __init__(self) -> None:
        self.rooms: dict[str, Room] = {}
        self.history: list[tuple[str, str, str]] = []  # (room, CallSid, joined|left)

    def join(self, name: str, call: SimCall, *, end_on_exit: bool) -> list[SimCall]:
        """Put `call` in the room; returns who was already there."""
        room = self.rooms.setdefault(name, Room(name))
        others = list(room.members)
        room.members.append(call)
        if end_on_exit:
            room.ends_on_exit.add(call.sid)
        self.history.append((name, call.sid, "joined"))
        return others

    def room_of(self, call: SimCall) -> Room | None:
        return next((room for room in self.rooms.values() if call in room.members), None)

    def leave(self, call: SimCall) -> list[SimCall]:
        """Take `call` out of its room; returns the participants whose conference it ended."""
        room = self.room_of(call)
        if room is None:
            return []
        room.members.remove(call)
        self.history.append((room.name, call.sid, "left"))
        if call.sid not in room.ends_on_exit:
            return []
        ended, room.members = list(room.members), []
        del self.rooms[room.name]
        return ended

    def talking_with(self, call: SimCall) -> list[SimCall]:
        room = self.room_of(call)
        return [m for m in room.members if m is not call] if room else []
