"""/api/v1/openapi.json: the portal API's contract, built from the schemas it enforces."""

from __future__ import annotations

import json
import re

from flask.testing import FlaskClient

from ra_workbench.ingest.package import load_schema
from ra_workbench.portal.openapi import FORBIDDEN_FREE, FORBIDDEN_FREE_MULTILINE
from ra_workbench.portal.problems import PROBLEMS
from ra_workbench.revocation.service import SCHEMA_DIR as REVOCATION_SCHEMAS


def test_the_document_is_served_without_a_token_and_names_the_four_operations(
    client: FlaskClient,
) -> None:
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    document = answer.get_json()
    assert document["openapi"].startswith("3.1")
    operations = {(path, method) for path, item in document["paths"].items() for method in item}
    assert {
        ("/api/v1/dossiers", "post"),
        ("/api/v1/signatures", "post"),
        ("/api/v1/revocations", "post"),
        ("/api/v1/dossiers/{order_number}/status", "get"),
    } <= operations
    assert document["security"] == [{"bearer": []}]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["paths"]["/api/v1/openapi.json"]["get"]["security"] == []


def test_the_request_bodies_are_the_schemas_the_api_validates_with(client: FlaskClient) -> None:
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    revocation = load_schema("revocation", REVOCATION_SCHEMAS).schema
    sent = schemas["RevocationRequestSent"]
    assert sent["required"] == revocation["required"]
    assert sent["properties"].keys() == revocation["properties"].keys()
    assert sent["properties"]["reason"] == revocation["properties"]["reason"]
    assert (
        sent["properties"]["order_number"]["x-message-fr"]
        == (revocation["properties"]["order_number"]["x-message-fr"])
    )
    assert schemas["SignatureEvent"]["required"] == load_schema("signature").schema["required"]
    assert schemas["DossierJson"]["properties"].keys() == (
        load_schema("dossier").schema["properties"].keys()
    )
    # No reference left pointing into the files' own $defs.
    assert "#/$defs/" not in json.dumps(schemas)


def test_every_problem_code_is_in_the_document(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    problem = document["components"]["schemas"]["Problem"]
    assert problem["properties"]["code"]["enum"] == sorted(PROBLEMS)
    conflict = document["paths"]["/api/v1/dossiers"]["post"]["responses"]["409"]
    assert conflict == {"$ref": "#/components/responses/Problem409"}
    described = document["components"]["responses"]["Problem409"]["description"]
    assert "`stale_revision`" in described
    assert (
        "application/problem+json" in document["components"]["responses"]["Problem409"]["content"]
    )


def test_the_documented_character_rule_is_the_one_the_api_enforces() -> None:
    """Every character but the lone surrogates (no UTF-8 text holds one): refused by the API
    exactly when the document's pattern refuses it."""
    from ra_workbench.ingest import package

    single, multiline = re.compile(FORBIDDEN_FREE), re.compile(FORBIDDEN_FREE_MULTILINE)
    for point in (*range(0xD800), *range(0xE000, 0x10000)):
        character = chr(point)
        refused = bool(package._FORBIDDEN.search(character))
        assert (single.fullmatch(character) is None) == refused, hex(point)
        refused = bool(package._FORBIDDEN_MULTILINE.search(character))
        assert (multiline.fullmatch(character) is None) == refused, hex(point)


def test_every_string_of_a_request_body_says_which_characters_it_may_not_hold(
    client: FlaskClient,
) -> None:
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    revocation = schemas["RevocationRequestSent"]["properties"]
    assert revocation["comment"]["pattern"] == FORBIDDEN_FREE_MULTILINE
    assert revocation["requester"]["properties"]["first_name"]["pattern"] == FORBIDDEN_FREE
    email = revocation["requester"]["properties"]["email"]
    assert email["pattern"] == "^[^@\\s]+@[^@\\s]+$"
    assert email["allOf"] == [{"pattern": FORBIDDEN_FREE}]
    assert "uD800" not in json.dumps(schemas)
