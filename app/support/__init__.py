"""Inbound support: tickets, warranty claims, orders and delivery, FAQ knowledge, operator hours.

Flow actions live in actions.py (registered with the flow engine); everything else is plain
services callable from the CLI, the console and tests.
"""

# Imported with the package (app.db.import_models imports app.support.models), so the
# draft-ticket receiver is connected in every process that handles status callbacks, and the
# owned-products answer (services) in every process that screens a pitch.
from app.support import drafts as _drafts  # noqa: F401
from app.support import services as _services  # noqa: F401
