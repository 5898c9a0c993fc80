"""The Twilio simulator: signed webhooks, a TwiML interpreter, a fake REST API.

- `Simulator` places simulated inbound calls (in-process or over HTTP) -> `SimCall`.
- `SimCall` executes the app's TwiML like Twilio, keeps a transcript, flags problems.
- `FakeTwilio` stands in for Twilio's Calls REST API and rings created calls.
- pytest: `app.sim.pytest_plugin` gives the `sim` and `fake_twilio` fixtures.
"""

from app.sim.call import STATUS_EVENTS, CallEnded, Entry, QueuePlan, SimCall, SimulatorError
from app.sim.courtesy import Problem
from app.sim.fake_twilio import Callee, FakeTwilio
from app.sim.simulator import Simulator
from app.sim.twiml import TwimlError, UnsupportedTwiml

__all__ = [
    "STATUS_EVENTS", "CallEnded", "Callee", "Entry", "FakeTwilio", "Problem", "QueuePlan",
    "SimCall", "Simulator", "SimulatorError", "TwimlError", "UnsupportedTwiml",
]
