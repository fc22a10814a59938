"""Supervisors: the dashboard's figures and charts, overrides awaiting a second approval,
and the quality review of a random sample of approvals."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ra_workbench.accounts.models import User
from ra_workbench.extensions import db
from ra_workbench.review.models import Decision, QualityReview
from ra_workbench.supervision import charts, dashboard
from ra_workbench.supervision.quality import (
    QualityReviewError,
    disagreement_rates,
    drawn,
    record_review,
    sample_approvals,
)
from ra_workbench.supervision.tasks import sample_quality_reviews
from ra_workbench.unit import unit_of_work
from tests.factories import make_check_run, make_dossier, make_user
from tests.review.test_views import login

DAY = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


def _decide(
    session: object, dossier_id: int, user: User, kind: str, hours: float, **extra: object
) -> Decision:
    decision = Decision(
        dossier_id=dossier_id,
        kind=kind,
        actor_id=user.id,
        at=DAY + dt.timedelta(hours=hours),
        **extra,
    )
    db.session.add(decision)
    db.session.flush()
    return decision


@pytest.fixture
def people(app: Flask) -> dict[str, User]:
    with unit_of_work() as session:
        users = {
            "olivia": make_user(session, first_name="Olivia", last_name="Perrin"),
            "marc": make_user(session, first_name="Marc", last_name="Roux"),
            "sophie": make_user(session, role="supervisor", first_name="Sophie", last_name="Blanc"),
        }
    return users


def test_percentile_uses_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert dashboard.percentile(values, 50) == 5
    assert dashboard.percentile(values, 90) == 9
    assert dashboard.percentile([3.0], 90) == 3


def test_charts_are_escaped_svg() -> None:
    svg = charts.bar_chart([("<script>", 3)], title="t & t")
    assert svg.startswith("<svg")
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    line = charts.line_chart(["01/11", "02/11"], [charts.Series("Reçus", [1, 4])], title="x")
    assert "polyline" in line


def test_a_chart_with_nothing_to_draw_says_so_in_the_pages_text() -> None:
    empty = charts.bar_chart([], title="Motifs de refus")
    assert "<svg" not in empty
    assert "Aucune donnée sur la période." in empty


def test_dashboard_figures_over_a_period(app: Flask, people: dict[str, User]) -> None:
    with unit_of_work() as session:
        a = make_dossier(session, submitted_at=DAY, received_at=DAY)
        b = make_dossier(session, submitted_at=DAY, received_at=DAY)
        c = make_dossier(session, submitted_at=DAY, received_at=DAY + dt.timedelta(days=1))
        make_check_run(session, a, [("kbis.age", "fail")])
        make_check_run(session, b)
        _decide(
            session,
            a.id,
            people["olivia"],
            "request_documents",
            2,
            reasons=[{"rule": "kbis.age", "label": "Kbis de moins de 3 mois"}],
        )
        _decide(session, b.id, people["olivia"], "approve", 10)
        _decide(
            session,
            c.id,
            people["marc"],
            "reject",
            30,
            reasons=[{"code": "fraud", "label": "Fraude"}],
        )
        _decide(
            session,
            a.id,
            people["marc"],
            "override_request",
            40,
            overridden_rules=[{"rule": "kbis.age"}],
        )
    period = dashboard.Period(dt.date(2026, 11, 20), dt.date(2026, 11, 22))
    with unit_of_work() as session:
        data = dashboard.summary(session, period)
    flow = {d.day: (d.received, d.decided, d.pending) for d in data["flow"]}
    assert flow[dt.date(2026, 11, 20)] == (2, 1, 1)
    assert flow[dt.date(2026, 11, 21)] == (1, 1, 1)
    times = {t.operator: t for t in data["times"]}
    assert times["Olivia Perrin"].decisions == 2
    assert times["Olivia Perrin"].median_hours == 2
    assert times["Olivia Perrin"].p90_hours == 10
    assert data["reasons"].rejections == [("Fraude", 1)]
    assert data["reasons"].document_requests == [("Kbis de moins de 3 mois", 1)]
    rates = {r.rule: r for r in data["rules"]}
    assert (rates["kbis.age"].failed, rates["kbis.age"].evaluated) == (1, 2)
    assert data["overrides"].by_rule == [("kbis.age", 1)]


def test_overrides_awaiting_a_second_approval_are_listed(
    app: Flask, client: FlaskClient, people: dict[str, User]
) -> None:
    with unit_of_work() as session:
        dossier = make_dossier(session, status="awaiting_second_approval")
        _decide(
            session,
            dossier.id,
            people["olivia"],
            "override_request",
            1,
            comment="Kbis de 3 mois et 2 jours, greffe en retard.",
            overridden_rules=[{"rule": "kbis.age"}],
        )
        make_dossier(session)
    login(client, people["sophie"])
    page = client.get("/supervision/derogations").get_data(as_text=True)
    assert dossier.order_number in page
    assert "greffe en retard" in page
    assert "kbis.age" in page
    assert client.get("/supervision/").status_code == 200


def test_quality_sample_is_repeatable_and_reviews_give_disagreement_rates(
    app: Flask, client: FlaskClient, people: dict[str, User]
) -> None:
    key = app.config["RA_SETTINGS"].secret_key
    with unit_of_work() as session:
        decisions = []
        for i in range(40):
            dossier = make_dossier(session, status="approved")
            who = people["olivia"] if i % 2 else people["marc"]
            decisions.append(_decide(session, dossier.id, who, "approve", i))
    expected = {d.id for d in decisions if drawn(key, d.id, 0.5)}
    assert 5 < len(expected) < 35
    since = DAY - dt.timedelta(days=1)
    with unit_of_work() as session:
        first = sample_approvals(session, key=key, rate=0.5, since=since)
    with unit_of_work() as session:
        again = sample_approvals(session, key=key, rate=0.5, since=since)
    assert {r.decision_id for r in first} == expected
    assert again == []

    reviews = db.session.scalars(sa.select(QualityReview).order_by(QualityReview.id)).all()
    sophie = people["sophie"]
    with unit_of_work() as session, pytest.raises(QualityReviewError):
        record_review(session, reviews[0].id, sophie, agrees=False, comment="non")
    login(client, sophie)
    page = client.get("/supervision/revue-qualite").get_data(as_text=True)
    assert "D'accord" in page
    client.post(
        f"/supervision/revue-qualite/{reviews[0].id}",
        data={"avis": "desaccord", "commentaire": "Pièce d'identité floue, à redemander."},
    )
    client.post(f"/supervision/revue-qualite/{reviews[1].id}", data={"avis": "accord"})
    with unit_of_work() as session:
        rates = disagreement_rates(session)
        assert sum(r.reviewed for r in rates) == 2
        assert sum(r.disagreements for r in rates) == 1
        with pytest.raises(QualityReviewError):
            record_review(session, reviews[1].id, sophie, agrees=True, comment="")


def test_supervisor_cannot_review_own_decision(app: Flask, people: dict[str, User]) -> None:
    with unit_of_work() as session:
        dossier = make_dossier(session, status="approved")
        decision = _decide(session, dossier.id, people["sophie"], "second_approval", 1)
        review = QualityReview(decision_id=decision.id, dossier_id=dossier.id)
        session.add(review)
    with unit_of_work() as session, pytest.raises(QualityReviewError):
        record_review(session, review.id, people["sophie"], agrees=True, comment="")


def test_the_sampling_task_uses_the_configured_rate(
    app: Flask, people: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from ra_workbench.supervision.rules import current_supervision_rules

    monkeypatch.setitem(
        app.config,
        "RA_SUPERVISION_RULES",
        dataclasses.replace(current_supervision_rules(), sample_rate=1.0),
    )
    with unit_of_work() as session:
        dossier = make_dossier(session, status="approved")
        _decide(session, dossier.id, people["olivia"], "approve", 1)
    with unit_of_work():
        assert sample_quality_reviews("2026-11-21") == 1
    with unit_of_work():
        assert sample_quality_reviews("2026-11-21") == 0


def test_operator_sees_no_supervision_screen(client: FlaskClient, people: dict[str, User]) -> None:
    login(client, people["olivia"])
    for path in (
        "/supervision/",
        "/supervision/derogations",
        "/supervision/revue-qualite",
        "/supervision/taches",
    ):
        assert client.get(path).status_code == 403


def test_the_dashboard_period_is_typed_the_french_way(
    client: FlaskClient, people: dict[str, User]
) -> None:
    login(client, people["sophie"])
    page = client.get("/supervision/?du=02/11/2026&au=30.11.2026").get_data(as_text=True)
    assert "du 02/11/2026 au 30/11/2026" in page
    assert 'value="02/11/2026" data-datepicker="date"' in page
    page = client.get("/supervision/?du=2026-11-02&au=30/13/2026").get_data(as_text=True)
    assert "Période invalide : format JJ/MM/AAAA." in page
