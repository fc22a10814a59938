"""Firing the same form twice at once, through the app, and reading what each sender saw.

Each sender is its own Flask test client (its own session cookie, hence its own flash
messages) in its own thread with its own application context, hence its own SQLAlchemy
session and database connection. A barrier releases them together.
"""

from __future__ import annotations

import html
import re
import threading
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from ra_workbench.accounts.models import User
from ra_workbench.extensions import db
from tests.auth import sign_in

PASSWORD = "correct-horse-battery"  # tests.factories.make_user's default

# What the request that loses the race may read: the new mechanism's « Ce dossier vient
# d'être décidé par … à … ». The others are the refusals of a request that arrives once the
# first is entirely over (the dossier is plainly no longer in a state that allows it).
# Tighten here when the wording settles.
CONCURRENT_CHANGE = "vient d'être"
# Words that must never reach a user: the database's own complaints, a stack trace.
LEAKS = ("deadlock", "database is locked", "traceback", "operationalerror", "integrityerror")

_FLASH = re.compile(r'<div class="flash flash-(\w+)" role="alert">(.*?)</div>', re.DOTALL)


def _plain(text: str) -> str:
    """Unescaped, with typographic apostrophes made straight (so markers match either)."""
    return html.unescape(text).replace("\u2019", "'")


def is_refusal(message: str, accepted: Sequence[str]) -> bool:
    """The French refusal the losing request must show: one of `accepted` (« vient d'être »
    first among them)."""
    text = _plain(message)
    return any(_plain(marker) in text for marker in accepted)


@dataclass
class Outcome:
    """What one sender got back: the POST's status (500 when the app raised), the page it
    was redirected to, and that page's flash messages."""

    sender: str
    status: int
    body: str
    error: str | None = None

    @property
    def flashes(self) -> list[tuple[str, str]]:
        return [(category, _plain(text).strip()) for category, text in _FLASH.findall(self.body)]

    def excerpt(self, length: int = 300) -> str:
        if self.error:  # the exception's first line names the database's complaint
            return self.error.splitlines()[0][:length]
        shown = " | ".join(f"[{c}] {t}" for c, t in self.flashes) or self.body[:length]
        return shown[:length]

    def __str__(self) -> str:
        return f"{self.sender}: HTTP {self.status} — {self.excerpt()}"


def login(client: FlaskClient, user: User) -> None:
    sign_in(client, user)


def fire_together(
    app: Flask, senders: Sequence[tuple[str, FlaskClient]], path: str, data: dict[str, Any]
) -> list[Outcome]:
    """POST `data` to `path` from every sender at the same instant, following the redirect
    to the page that shows the flash message; one Outcome per sender, in order."""
    barrier = threading.Barrier(len(senders))
    outcomes: list[Outcome | None] = [None] * len(senders)

    def send(index: int, name: str, client: FlaskClient) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=20)
                response = client.post(path, data=data, follow_redirects=True)
                first = response.history[0] if response.history else response
                outcomes[index] = Outcome(name, first.status_code, response.get_data(as_text=True))
            except Exception as exc:
                # TESTING propagates exceptions: this is what would have been a 500.
                outcomes[index] = Outcome(
                    name,
                    500,
                    traceback.format_exc(),
                    error=f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}",
                )
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=send, args=(i, name, client), daemon=True)
        for i, (name, client) in enumerate(senders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return [
        outcome or Outcome(name, 0, "", error="no answer within 90 s (hung request?)")
        for outcome, (name, _) in zip(outcomes, senders, strict=True)
    ]


def response_problems(
    outcomes: Sequence[Outcome], *, success: str, refusals: Sequence[str]
) -> list[str]:
    """No 5xx, nothing leaked, exactly one sender told of success, the other refused in
    French. Empty when all is well."""
    problems = []
    for outcome in outcomes:
        if outcome.status >= 500 or outcome.status == 0:
            problems.append(f"server error — {outcome}")
        body = outcome.body.lower()
        leaked = [word for word in LEAKS if word in body]
        if leaked and not outcome.error:
            problems.append(f"{', '.join(leaked)} shown to the user — {outcome}")
    if problems:
        return problems
    winners = [o for o in outcomes if any(c == "success" and success in t for c, t in o.flashes)]
    losers = [
        o for o in outcomes if any(c == "danger" and is_refusal(t, refusals) for c, t in o.flashes)
    ]
    if len(winners) != 1:
        problems.append(f"{len(winners)} senders told « {success} »")
    if len(losers) != len(outcomes) - 1 or set(map(id, winners)) & set(map(id, losers)):
        problems.append(f"{len(losers)} senders refused with one of {list(refusals)}")
    if problems:
        problems.extend(str(o) for o in outcomes)
    return problems
