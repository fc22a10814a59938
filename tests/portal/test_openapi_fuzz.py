"""The portal API against its own OpenAPI document, fuzzed by Schemathesis over HTTP.

A live server (werkzeug in a thread, the test app, the test database) answers the cases
Schemathesis generates from /api/v1/openapi.json, valid (positive) and invalid (negative):
no answer may be a 5xx, each must match the document (status, content type, body, headers)
and an invalid request must be refused with a 4xx. The number of examples per operation and
mode is bounded (FUZZ_EXAMPLES) so the suite stays quick; raise it with RA_FUZZ_EXAMPLES to
search longer.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.serving import make_server

from ra_workbench.extensions import db
from ra_workbench.synth.packages import generate_dossier
from tests.conftest import API_TOKEN
from tests.revocation.builders import issued, portal_request

FUZZ_EXAMPLES = int(os.environ.get("RA_FUZZ_EXAMPLES", "20"))
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
OPERATIONS = [
    ("/api/v1/dossiers", "POST"),
    ("/api/v1/signatures", "POST"),
    ("/api/v1/revocations", "POST"),
    ("/api/v1/dossiers/{order_number}/status", "GET"),
    ("/api/v1/openapi.json", "GET"),
]


@pytest.fixture
def live_api(app: Flask) -> Iterator[str]:
    """The test app served over HTTP, sharing the test database."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="fuzz-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def api_schema(live_api: str) -> Any:
    return schemathesis.openapi.from_url(f"{live_api}/api/v1/openapi.json")


def _validate(case: Any, base_url: str) -> int:
    response = case.call(base_url=base_url, headers=AUTH)
    case.validate_response(response, checks=CHECKS, headers=AUTH)
    return int(response.status_code)


@pytest.mark.parametrize(
    ("path", "method", "mode"),
    [(path, method, GenerationMode.POSITIVE) for path, method in OPERATIONS]
    # The document itself takes no input to make invalid.
    + [(path, method, GenerationMode.NEGATIVE) for path, method in OPERATIONS[:-1]],
)
def test_no_fuzzed_request_breaks_the_api_or_its_contract(
    api_schema: Any, live_api: str, path: str, method: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]
    statuses: list[int] = []

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(mode))
    def fuzz(case: Any) -> None:
        statuses.append(_validate(case, live_api))

    fuzz()
    print(path, method, mode.value, sorted(Counter(statuses).items()))  # shown with -s
    # The cases reached the API's own handlers: an invalid request is refused by them.
    assert statuses
    if mode is GenerationMode.NEGATIVE:
        assert any(400 <= status < 500 for status in statuses)


def test_known_orders_and_a_valid_request_answer_as_documented(
    api_schema: Any, live_api: str, tmp_path: Path
) -> None:
    """Random bytes are no package and random order numbers are unknown: the success bodies
    are checked on a real package, order and revocation request."""
    dossier, certificate = issued(db.session)
    db.session.commit()
    package = generate_dossier(
        tmp_path, seed=31, order_number="600001", today=dt.date(2026, 11, 20), zip_package=True
    )
    dossiers = api_schema["/api/v1/dossiers"]["POST"]
    status = api_schema["/api/v1/dossiers/{order_number}/status"]["GET"]
    revocations = api_schema["/api/v1/revocations"]["POST"]
    statuses: list[int] = []

    for case in (
        dossiers.Case(body={"package": package.read_bytes()}, media_type="multipart/form-data"),
        dossiers.Case(body={"package": package.read_bytes()}, media_type="multipart/form-data"),
        status.Case(path_parameters={"order_number": "600001"}),
        status.Case(path_parameters={"order_number": dossier.order_number}),
        revocations.Case(body=portal_request(dossier, certificate), media_type="application/json"),
        # Now a request is open: the status shows it, a second one is a conflict.
        status.Case(path_parameters={"order_number": dossier.order_number}),
        revocations.Case(body=portal_request(dossier, certificate), media_type="application/json"),
    ):
        statuses.append(_validate(case, live_api))
    assert statuses == [201, 200, 200, 200, 201, 200, 409]
