"""Security keys at service level (accounts/keys.py), with a software key (softkey.py)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from flask import Flask

from ra_workbench.accounts import keys
from ra_workbench.accounts.models import SecurityKey, User
from ra_workbench.audit.models import AuditEvent
from ra_workbench.extensions import db
from tests.accounts.softkey import SoftKey
from tests.factories import make_user

RP = keys.RelyingParty(id="localhost", origin="http://localhost:5000")


def _events(event_type: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.event_type == event_type)
            .order_by(AuditEvent.seq)
        )
    )


def _register(user: User, softkey: SoftKey, label: str = "YubiKey bleue") -> SecurityKey:
    options, challenge = keys.registration_options(db.session, user, RP)
    return keys.register_key(
        db.session, user, RP, credential=softkey.create(options), challenge=challenge, label=label
    )


def _sign_in(user: User, softkey: SoftKey, **answer: object) -> SecurityKey:
    options, challenge = keys.authentication_options(db.session, user, RP)
    credential = softkey.get(options, **answer)  # type: ignore[arg-type]
    return keys.authenticate(db.session, user, RP, credential=credential, challenge=challenge)


def test_operator_registers_a_key_then_signs_in_with_it(app: Flask) -> None:
    operator = make_user(db.session)
    softkey = SoftKey(origin=RP.origin)

    key = _register(operator, softkey, label="  YubiKey   bleue ")
    assert key.credential_id == softkey.credential_id
    assert key.label == "YubiKey bleue"
    assert key.transports == "usb"
    assert key.sign_count == 0
    assert keys.has_keys(db.session, operator)
    assert _events("auth.security_key_added")[0].payload["label"] == "YubiKey bleue"

    used = _sign_in(operator, softkey)
    assert used.id == key.id
    assert used.sign_count == 1
    assert used.last_used_at is not None
    assert _sign_in(operator, softkey).sign_count == 2
    assert len(_events("auth.security_key_used")) == 2


def test_registration_options_exclude_keys_already_registered(app: Flask) -> None:
    operator = make_user(db.session)
    softkey = SoftKey(origin=RP.origin)
    _register(operator, softkey)
    options, _challenge = keys.registration_options(db.session, operator, RP)
    assert '"userVerification": "preferred"' in options
    assert softkey.create(options)["id"] in options  # excludeCredentials names it

    options, challenge = keys.registration_options(db.session, operator, RP)
    again = softkey.create(options)  # a browser refuses (excluded); a script may still try
    with pytest.raises(keys.KeyRefused) as refused:
        keys.register_key(
            db.session, operator, RP, credential=again, challenge=challenge, label="encore"
        )
    assert refused.value.message_fr == keys.ALREADY_REGISTERED_FR


def test_a_cloned_key_whose_counter_does_not_move_forward_is_refused_and_audited(
    app: Flask,
) -> None:
    operator = make_user(db.session)
    original = SoftKey(origin=RP.origin)
    _register(operator, original)
    _sign_in(operator, original)
    copy = original.clone()  # taken when the counter read 1
    _sign_in(operator, original)  # the owner keeps using the key: 2
    _sign_in(operator, original)  # 3

    with pytest.raises(keys.KeyRefused) as refused:
        _sign_in(operator, copy)  # the copy signs with 2
    assert refused.value.message_fr == keys.CLONED_KEY_FR
    (alert,) = _events("auth.security_key_cloned")
    assert alert.actor == operator.email
    assert alert.payload["stored"] == 3
    assert alert.payload["presented"] == 2
    stored = db.session.scalar(sa.select(SecurityKey.sign_count))
    assert stored == 3  # the refused answer moved nothing


def test_an_answer_replaying_the_stored_counter_is_refused(app: Flask) -> None:
    operator = make_user(db.session)
    softkey = SoftKey(origin=RP.origin)
    _register(operator, softkey)
    _sign_in(operator, softkey)
    with pytest.raises(keys.KeyRefused):
        _sign_in(operator, softkey, advance=False)  # signs again with 1
    assert len(_events("auth.security_key_cloned")) == 1


def test_a_key_without_a_counter_signs_in_every_time(app: Flask) -> None:
    operator = make_user(db.session)
    softkey = SoftKey(origin=RP.origin)
    _register(operator, softkey)
    for _ in range(3):
        assert _sign_in(operator, softkey, advance=False).sign_count == 0
    assert not _events("auth.security_key_cloned")


def test_an_answer_made_for_another_site_or_challenge_is_refused(app: Flask) -> None:
    operator = make_user(db.session)
    softkey = SoftKey(origin=RP.origin)
    _register(operator, softkey)

    with pytest.raises(keys.KeyRefused):
        _sign_in(operator, softkey, origin="http://evil.example")
    options, _challenge = keys.authentication_options(db.session, operator, RP)
    _options, other_challenge = keys.authentication_options(db.session, operator, RP)
    with pytest.raises(keys.KeyRefused):
        keys.authenticate(
            db.session,
            operator,
            RP,
            credential=softkey.get(options),
            challenge=other_challenge,
        )
    reasons = [e.payload["reason"] for e in _events("auth.second_factor_failed")]
    assert reasons == ["invalid_assertion", "invalid_assertion"]
    assert db.session.scalar(sa.select(SecurityKey.last_used_at)) is None


def test_a_key_registered_by_a_colleague_does_not_sign_this_account_in(app: Flask) -> None:
    operator = make_user(db.session)
    colleague = make_user(db.session)
    mine, theirs = SoftKey(origin=RP.origin), SoftKey(origin=RP.origin)
    _register(operator, mine)
    _register(colleague, theirs)
    options, challenge = keys.authentication_options(db.session, operator, RP)
    # The browser would not even offer it: the colleague's key signs the challenge anyway.
    offered = json.loads(options)
    offered["allowCredentials"] = []
    forged = theirs.get(json.dumps(offered))
    with pytest.raises(keys.KeyRefused) as refused:
        keys.authenticate(db.session, operator, RP, credential=forged, challenge=challenge)
    assert refused.value.reason == "unknown_key"


def test_registration_answer_for_another_origin_is_refused_and_audited(app: Flask) -> None:
    operator = make_user(db.session)
    options, challenge = keys.registration_options(db.session, operator, RP)
    credential = SoftKey(origin="http://127.0.0.1:5000").create(options)
    with pytest.raises(keys.KeyRefused):
        keys.register_key(
            db.session, operator, RP, credential=credential, challenge=challenge, label="x"
        )
    assert _events("auth.security_key_refused")
    assert not keys.has_keys(db.session, operator)


def test_keys_need_a_host_name_not_an_ip_address(app: Flask) -> None:
    operator = make_user(db.session)
    for host in ("127.0.0.1", "::1", "[::1]"):
        rp = keys.RelyingParty(id=host, origin=f"http://{host}:5000")
        assert not rp.usable
        with pytest.raises(keys.KeyRefused) as refused:
            keys.registration_options(db.session, operator, rp)
        assert "localhost" in refused.value.message_fr
    assert RP.usable


def test_the_last_second_factor_cannot_be_removed(app: Flask) -> None:
    key_only = make_user(db.session, totp=False)
    first = _register(key_only, SoftKey(origin=RP.origin), label="première")
    second = _register(key_only, SoftKey(origin=RP.origin), label="seconde")

    assert keys.remove_key(db.session, key_only, first.id) == "première"
    with pytest.raises(keys.KeyRefused) as refused:
        keys.remove_key(db.session, key_only, second.id)
    assert refused.value.message_fr == keys.LAST_FACTOR_FR
    assert keys.has_keys(db.session, key_only)

    with_totp = make_user(db.session)
    only_key = _register(with_totp, SoftKey(origin=RP.origin))
    keys.remove_key(db.session, with_totp, only_key.id)  # TOTP remains
    assert not keys.has_keys(db.session, with_totp)
    assert [e.payload["label"] for e in _events("auth.security_key_removed")] == [
        "première",
        "YubiKey bleue",
    ]


def test_a_colleague_s_key_cannot_be_removed(app: Flask) -> None:
    operator = make_user(db.session)
    colleague = make_user(db.session)
    theirs = _register(colleague, SoftKey(origin=RP.origin))
    with pytest.raises(keys.KeyRefused):
        keys.remove_key(db.session, operator, theirs.id)
    assert keys.has_keys(db.session, colleague)


def test_recovery_codes_regenerated_for_an_account_with_a_second_factor(app: Flask) -> None:
    from ra_workbench.accounts import mfa

    operator = make_user(db.session)
    first = keys.regenerate_recovery_codes(db.session, operator)
    again = keys.regenerate_recovery_codes(db.session, operator)
    assert len(again) == mfa.RECOVERY_CODES
    assert not mfa.use_recovery_code(db.session, operator, first[0])  # the old ones stop
    assert mfa.use_recovery_code(db.session, operator, again[0])
    assert mfa.remaining_recovery_codes(db.session, operator) == mfa.RECOVERY_CODES - 1

    nothing = make_user(db.session, totp=False)
    with pytest.raises(keys.KeyRefused):
        keys.regenerate_recovery_codes(db.session, nothing)


def test_an_admin_reset_removes_every_key_of_the_account(app: Flask) -> None:
    operator = make_user(db.session, totp=False)
    colleague = make_user(db.session)
    _register(operator, SoftKey(origin=RP.origin))
    _register(operator, SoftKey(origin=RP.origin))
    _register(colleague, SoftKey(origin=RP.origin))
    assert keys.remove_all_keys(db.session, operator, actor="admin@certeurope.example") == 2
    assert not keys.has_keys(db.session, operator)
    assert keys.has_keys(db.session, colleague)
    (event,) = _events("admin.security_keys_removed")
    assert event.payload == {"user_id": operator.id, "count": 2}
    assert keys.remove_all_keys(db.session, operator, actor="admin@certeurope.example") == 0
