"""The validation queue: tabs by verdict with counts, filters, search, age and SLA."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask.testing import FlaskClient

from ra_workbench.audit.service import record
from ra_workbench.db import utcnow
from ra_workbench.dossiers.models import Dossier, Organisation, PersonRole
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.review.models import Decision, DecisionKind
from ra_workbench.review.queue import QueueFilters, queue
from tests.auth import sign_in
from tests.factories import make_check_run, make_dossier, make_person, make_user


def _orders(**filters: object) -> list[str]:
    page = queue(db.session, QueueFilters(**filters), sla_days=5, claim_minutes=60)  # type: ignore[arg-type]
    return [row.order_number for row in page.rows]


def test_tabs_follow_the_verdict_and_show_their_counts(app: Flask) -> None:
    ready = make_dossier(db.session)
    make_check_run(db.session, ready)
    incomplete = make_dossier(db.session)
    make_check_run(db.session, incomplete, [("kbis.age", "fail")])
    waiting = make_dossier(db.session)
    make_check_run(db.session, waiting, [("signatures.complete", "pending")])
    make_dossier(db.session)  # never checked
    make_dossier(db.session, status=DossierStatus.REJECTED.value)
    page = queue(db.session, QueueFilters(tab="ready"), sla_days=5, claim_minutes=60)
    assert [r.order_number for r in page.rows] == [ready.order_number]
    assert page.counts == {
        "ready": 1,
        "incomplete": 1,
        "waiting_signatures": 1,
        "blocked": 0,
        "unchecked": 1,
        "overrides": 0,
        "waiting_customer": 0,
        "decided": 1,
    }
    assert _orders(tab="incomplete") == [incomplete.order_number]
    assert page.rows[0].failing_rules == []
    assert queue(db.session, QueueFilters(tab="incomplete"), sla_days=5, claim_minutes=60).rows[
        0
    ].failing_rules == ["kbis.age"]


def test_oldest_first_with_overdue_dossiers_flagged(app: Flask) -> None:
    now = utcnow()
    old = make_dossier(db.session, submitted_at=now - dt.timedelta(days=8))
    new = make_dossier(db.session, submitted_at=now - dt.timedelta(days=1))
    for d in (old, new):
        make_check_run(db.session, d)
    page = queue(db.session, QueueFilters(), sla_days=5, claim_minutes=60)
    assert [(r.order_number, r.age_days, r.overdue) for r in page.rows] == [
        (old.order_number, 8, True),
        (new.order_number, 1, False),
    ]
    assert _orders(newest_first=True) == [new.order_number, old.order_number]
    assert _orders(min_age_days=5) == [old.order_number]
    assert _orders(max_age_days=2) == [new.order_number]


def test_filters_by_delivery_mode_payment_and_failing_rule_of_the_latest_run(
    app: Flask,
) -> None:
    pickup = make_dossier(db.session, delivery_mode="pickup", payment_method="transfer")
    shipping = make_dossier(db.session)
    make_check_run(db.session, pickup, [("kbis.age", "fail")])
    make_check_run(db.session, shipping, [("kbis.age", "fail")])
    # A later run of the shipping dossier no longer fails kbis.age.
    make_check_run(db.session, shipping, [("contact.mobile", "fail")])
    assert _orders(tab="incomplete", delivery_mode="pickup") == [pickup.order_number]
    assert _orders(tab="incomplete", payment_method="card") == [shipping.order_number]
    assert _orders(tab="incomplete", failing_rule="kbis.age") == [pickup.order_number]
    assert _orders(tab="incomplete", failing_rule="contact.mobile") == [shipping.order_number]


def test_search_by_order_number_siren_organisation_or_person(app: Flask) -> None:
    target = make_dossier(
        db.session,
        organisation=Organisation(siren="552100554", name="BOULANGERIE LEROY", legal_form="SARL"),
        people=[
            make_person(PersonRole.HOLDER, first_name="ANNE", last_name="VASSEUR"),
            make_person(PersonRole.LEGAL_REPRESENTATIVE),
        ],
    )
    other = make_dossier(db.session)
    for d in (target, other):
        make_check_run(db.session, d)
    assert _orders(search=target.order_number) == [target.order_number]
    assert _orders(search="552 100 554") == [target.order_number]
    assert _orders(search="55210055400013") == [target.order_number]  # a SIRET
    assert _orders(search="boulangerie") == [target.order_number]
    assert _orders(search="Vasseur") == [target.order_number]
    assert _orders(search="anne vasseur") == [target.order_number]
    assert _orders(search="100%") == []
    page = queue(db.session, QueueFilters(search="leroy"), sla_days=5, claim_minutes=60)
    assert page.counts["ready"] == 1


def test_search_folds_accents_and_case(app: Flask) -> None:
    target = make_dossier(
        db.session,
        people=[
            make_person(PersonRole.HOLDER, first_name="HERVE", last_name="LEFEVRE"),
            make_person(PersonRole.LEGAL_REPRESENTATIVE),
        ],
    )
    make_check_run(db.session, target)
    assert _orders(search="Hervé") == [target.order_number]
    assert _orders(search="hervé lefèvre") == [target.order_number]


def _decide(dossier: Dossier, kind: str, days_ago: int) -> None:
    db.session.add(
        Decision(
            dossier_id=dossier.id,
            kind=kind,
            actor_id=make_user(db.session).id,
            at=utcnow() - dt.timedelta(days=days_ago),
        )
    )
    db.session.flush()


def test_the_waiting_room_lists_who_the_customer_keeps_waiting_and_for_how_long(
    app: Flask,
) -> None:
    waiting = make_dossier(
        db.session,
        status=DossierStatus.DOCUMENTS_REQUESTED.value,
        submitted_at=utcnow() - dt.timedelta(days=12),
    )
    _decide(waiting, DecisionKind.REQUEST_DOCUMENTS, days_ago=9)
    for number in (1, 2):  # the nightly reminders since the request
        record(
            db.session,
            "jobs.reminder_sent",
            dossier=waiting,
            payload={"number": number},
        )
        db.session.flush()
    rejected = make_dossier(
        db.session,
        status=DossierStatus.REJECTED.value,
        submitted_at=utcnow() - dt.timedelta(days=30),
    )
    _decide(rejected, DecisionKind.REJECT, days_ago=20)

    page = queue(db.session, QueueFilters(tab="waiting_customer"), sla_days=5, claim_minutes=60)
    assert page.counts["waiting_customer"] == 1
    assert page.counts["decided"] == 1  # documents requested is no longer « décidé »
    [row] = page.rows
    assert row.order_number == waiting.order_number
    assert row.waited_days == 9
    assert row.reminders == 2
    [done] = queue(db.session, QueueFilters(tab="decided"), sla_days=5, claim_minutes=60).rows
    assert done.decision == "Refus"
    assert done.age_days == 10  # submitted 30 days ago, decided 20 days ago: the age stops


def test_a_search_from_the_top_bar_opens_the_tab_that_has_the_dossier(
    client: FlaskClient, app: Flask
) -> None:
    rejected = make_dossier(db.session, status=DossierStatus.REJECTED.value)
    operator = make_user(db.session)
    db.session.commit()
    sign_in(client, operator)
    page = client.get("/validation/", query_string={"q": rejected.order_number})
    html = page.get_data(as_text=True)
    assert f'data-order="{rejected.order_number}"' in html
    assert 'data-tab="decided" aria-current="page"' in html
    assert 'id="top-search-q"' in html
