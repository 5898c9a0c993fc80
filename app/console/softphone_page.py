"""The console's entry to the simulator's browser softphone (helper B's /sim/softphone).

The menu always has the entry; it opens the softphone when this build serves it and says so
plainly when it does not (the simulator is a test and demo tool, not always installed).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, redirect, render_template

from app.console.i18n import t
from app.console.web import bp, nav_item

nav_item("console.softphone", "softphone")
SOFTPHONE_PATH = "/sim/softphone"


def softphone_available() -> bool:
    return any(rule.rule == SOFTPHONE_PATH for rule in current_app.url_map.iter_rules())


@bp.get("/softphone")
def softphone() -> Any:
    if softphone_available():
        return redirect(SOFTPHONE_PATH)
    return render_template("console/error.html", message=t("not_available"), status=404), 404
