"""The permission decorator every view uses: login plus a "scope:resource:action" string
(Warehouse's style), checked on every call against the user's role."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort
from flask_login import current_user, login_required


def requires(permission: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Login plus a "scope:resource:action" permission, checked on every call."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator
