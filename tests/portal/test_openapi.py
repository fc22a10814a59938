"""/api/v1/openapi.json: the portal API's contract, built from the schemas it enforces."""

from __future__ import annotations

import json

from flask.testing import FlaskClient

from ra_workbench.ingest.package import load_schema
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
    assert schemas["RevocationRequestSent"]["properties"] == json.loads(
        json.dumps(revocation["properties"])
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
