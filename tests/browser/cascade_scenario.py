"""Run only by test_no_cascade.py, in a pytest of its own (its name is not collected): a test
gives up while the live server is still writing, then the next test cleans the database and
writes as usual."""

from __future__ import annotations

import threading
import urllib.request

import pytest
import sqlalchemy as sa
from flask import Flask

from ra_workbench.accounts.models import User
from ra_workbench.extensions import csrf, db
from tests.factories import make_user

LATE_SECONDS = 2.0
holding = threading.Event()
released = threading.Event()
finished = threading.Event()


@pytest.fixture(scope="session")
def slow_writer(live_app: Flask) -> str:
    """A request that takes the write lock and keeps it until released (a slow page on a
    loaded machine, the browser long gone)."""

    def hold_the_write_lock() -> str:
        db.session.execute(sa.text("SELECT 1"))  # a POST begins IMMEDIATE: the lock is ours
        holding.set()
        released.wait(timeout=120)
        db.session.commit()
        finished.set()
        return "fini"

    live_app.add_url_rule("/_hold", view_func=csrf.exempt(hold_the_write_lock), methods=["POST"])
    return "/_hold"


def test_a_test_gives_up_while_the_live_server_still_writes(
    live_server: str, slow_writer: str, request: pytest.FixtureRequest
) -> None:
    post = urllib.request.Request(f"{live_server}{slow_writer}", data=b"", method="POST")  # noqa: S310 - the live server, http://127.0.0.1
    threading.Thread(target=urllib.request.urlopen, args=(post,), daemon=True).start()
    assert holding.wait(timeout=120)
    # The request ends a while after the test has given up (its teardown has begun).
    request.addfinalizer(lambda: threading.Timer(LATE_SECONDS, released.set).start())
    pytest.fail("le navigateur a cessé d'attendre")


def test_the_next_test_cleans_and_writes_as_usual(app: Flask) -> None:
    assert finished.is_set()  # the previous test's request was over before this one began
    make_user(db.session)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
