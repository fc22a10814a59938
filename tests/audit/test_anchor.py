"""An anchor the database cannot take with it (issue 11, point 5).

The intruder of these stories owns the database host and, in the worst ones, the data
directory too: they delete the last entries, the whole trail, the head anchor, or put back
an older — genuinely signed — anchor. `audit verify` must exit 1 and say what it found,
from the seal log beside the anchor, from an anchor in a second place (another directory,
a Redis on another machine), or from a seal the supervisors kept. Runs on SQLite and on
PostgreSQL (RA_TEST_DATABASE_URL).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from redis import Redis

from ra_workbench.audit.anchor import RedisLocation
from ra_workbench.audit.service import anchor_store, verify
from ra_workbench.config import Settings
from ra_workbench.unit import unit_of_work
from tests.audit.trail import (
    Snapshot,
    append_entries,
    delete_entries_from,
    intruder_sql,
    verify_cli,
)


@pytest.fixture
def second_directory(
    app: Flask, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """An anchor on another mount (here: another directory), beside the data directory's."""
    elsewhere = tmp_path / "other-mount" / "audit"
    monkeypatch.setattr(settings, "audit_anchors", (str(elsewhere),))
    return elsewhere


@pytest.fixture
def redis_anchor(
    app: Flask, settings: Settings, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """An anchor in a Redis key (on another machine in production); a fresh key per test, in
    a database of its own (the job tests flush the queue's)."""
    key = f"ra-test:audit:{uuid.uuid4().hex}"
    server = urlsplit(redis_url)
    spec = f"{server.scheme}://{server.netloc}/15/{key}"
    monkeypatch.setattr(settings, "audit_anchors", (spec,))
    yield spec
    connection = Redis.from_url(f"{server.scheme}://{server.netloc}/15")
    connection.delete(key, f"{key}:seals", f"{key}:chains")
    connection.close()


def _remove_head() -> None:
    anchor_store().path.unlink()


# --- (a) the last entries and the head anchor are deleted -------------------------------


def test_verify_fails_when_the_last_entries_and_the_head_anchor_are_deleted(app: Flask) -> None:
    append_entries(5)
    delete_entries_from(4)
    _remove_head()

    result = verify_cli(app)

    assert result.exit_code == 1
    assert "ancre de tête absente" in result.output
    assert "dernière(s) entrée(s) n°4 à n°5 supprimée(s)" in result.output
    assert "le registre des sceaux" in result.output


def test_a_second_place_catches_the_deletion_when_the_whole_data_anchor_is_gone(
    app: Flask, second_directory: Path
) -> None:
    append_entries(5)
    delete_entries_from(4)
    shutil.rmtree(anchor_store().directory)  # head, seal log, archives: all of it

    result = verify_cli(app)

    assert result.exit_code == 1
    assert f"aucune ancre dans {anchor_store().directory}" in result.output
    assert "dernière(s) entrée(s) n°4 à n°5 supprimée(s)" in result.output
    assert str(second_directory) in result.output


# --- (b) an older genuine anchor is put back, and the trail truncated to match ---------


def test_verify_fails_when_an_older_genuine_anchor_is_put_back(app: Flask, tmp_path: Path) -> None:
    append_entries(3)
    old = Snapshot.take(tmp_path)  # the head at n°3, MAC'd by the application itself
    append_entries(3)
    delete_entries_from(4)
    old.put_back(head_only=True)

    result = verify_cli(app)

    assert result.exit_code == 1
    assert "ancre de tête revenue en arrière" in result.output
    assert "elle atteste l'entrée n°3" in result.output
    assert "n°4 à n°6 supprimée(s)" in result.output


def test_an_anchor_in_redis_catches_a_rollback_of_the_head_and_its_seal_log(
    app: Flask, redis_anchor: str, tmp_path: Path
) -> None:
    append_entries(3)
    old = Snapshot.take(tmp_path)
    append_entries(3)
    delete_entries_from(4)
    old.put_back()  # head and seal log as they were at n°3: the data directory agrees

    result = verify_cli(app)

    assert result.exit_code == 1
    label = RedisLocation.parse(redis_anchor).label
    assert f"l'ancre de tête ({label}) atteste n°6" in result.output
    assert "dernière(s) entrée(s) n°4 à n°6 supprimée(s)" in result.output


# --- (c) every entry and the anchor are deleted ----------------------------------------


def test_verify_fails_when_every_entry_and_the_anchor_are_deleted(app: Flask) -> None:
    append_entries(4)
    intruder_sql("DELETE FROM audit_events")
    _remove_head()

    result = verify_cli(app)

    assert result.exit_code == 1
    assert "journal vide alors que le registre des sceaux" in result.output
    assert "atteste 4 entrée(s)" in result.output


def test_an_anchor_in_redis_catches_a_wiped_trail_and_data_directory(
    app: Flask, redis_anchor: str
) -> None:
    append_entries(4)
    intruder_sql("DELETE FROM audit_events")
    shutil.rmtree(anchor_store().directory)

    result = verify_cli(app)

    assert result.exit_code == 1
    label = RedisLocation.parse(redis_anchor).label
    assert f"journal vide alors que l'ancre de tête ({label}) atteste 4 entrée(s)" in (
        result.output
    )


# --- the second place in ordinary days ----------------------------------------------------


def test_every_configured_place_follows_the_head_and_verifies(
    app: Flask, second_directory: Path, redis_anchor: str, settings: Settings
) -> None:
    settings.audit_anchors = (str(second_directory), redis_anchor)
    append_entries(3)

    result = verify_cli(app, "--json")

    assert result.exit_code == 0, result.output
    assert (second_directory / "head.json").exists()
    with unit_of_work() as session:
        report = verify(session)
    assert [p.high_water for p in report.places] == [3, 3, 3]
    assert report.places[1].place == str(second_directory)
    assert report.places[2].place == RedisLocation.parse(redis_anchor).label


def test_an_unreachable_redis_anchor_is_named(
    app: Flask, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    append_entries(1)
    monkeypatch.setattr(settings, "audit_anchors", ("redis://127.0.0.1:9/0/nulle-part",))

    result = verify_cli(app)

    assert result.exit_code == 1
    assert "ancre injoignable (redis://127.0.0.1:9/0/nulle-part)" in result.output


def test_a_forged_seal_log_line_is_named(app: Flask) -> None:
    append_entries(2)
    log_path = anchor_store().log_path
    genuine = log_path.read_text()
    lines = genuine.splitlines()
    lines[-1] = lines[-1].replace('"seq": 2', '"seq": 9')
    log_path.write_text("\n".join(lines) + "\n")
    try:
        result = verify_cli(app)
    finally:
        log_path.write_text(genuine)  # the log is shared by the session's later tests

    assert result.exit_code == 1
    assert "enregistrement n°9 falsifié (MAC invalide)" in result.output


def test_a_new_installation_with_no_entries_and_no_anchor_verifies(
    app: Flask, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "data_dir", tmp_path / "fresh")
    assert verify_cli(app).exit_code == 0


def test_anchor_settings_are_read_and_checked_from_the_environment(tmp_path: Path) -> None:
    base = {"RA_WORKBENCH_DATA": str(tmp_path), "RA_WORKBENCH_SECRET_KEY": "k" * 20}
    settings = Settings.from_env(
        base
        | {
            "RA_WORKBENCH_AUDIT_ANCHORS": "/srv/autre/audit ; redis://:s3cret@h:6380/2/ra-audit",
            "RA_WORKBENCH_AUDIT_SEAL_TO": "sup1@certeurope.example, sup2@certeurope.example",
        }
    )
    assert settings.audit_anchors == ("/srv/autre/audit", "redis://:s3cret@h:6380/2/ra-audit")
    assert settings.audit_seal_recipients == ("sup1@certeurope.example", "sup2@certeurope.example")
    location = RedisLocation.parse(settings.audit_anchors[1])
    assert (location.url, location.key) == ("redis://:s3cret@h:6380/2", "ra-audit")
    assert "s3cret" not in location.label
    with pytest.raises(RuntimeError, match="RA_WORKBENCH_AUDIT_ANCHORS"):
        Settings.from_env(base | {"RA_WORKBENCH_AUDIT_ANCHORS": "relatif/audit"})
    with pytest.raises(RuntimeError, match="RA_WORKBENCH_AUDIT_TSA_URL"):
        Settings.from_env(base | {"RA_WORKBENCH_AUDIT_TSA_URL": "ftp://tsa"})
