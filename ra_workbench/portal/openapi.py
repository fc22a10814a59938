"""The portal API's OpenAPI 3.1 document, built from the code's own contracts.

The request bodies are the JSON Schemas the API validates with (ingest/schema/*.json,
revocation/schema/revocation.schema.json), read from their files, so the document cannot
drift from what is enforced; the problems' codes and statuses come from portal/problems.py.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from ra_workbench.ingest.package import MULTILINE_FIELDS, load_schema
from ra_workbench.ingest.package import SCHEMA_DIR as INGEST_SCHEMAS
from ra_workbench.portal.problems import PROBLEM_JSON, PROBLEM_TYPE, PROBLEMS
from ra_workbench.revocation.service import MULTILINE as REVOCATION_MULTILINE
from ra_workbench.revocation.service import SCHEMA_DIR as REVOCATION_SCHEMAS

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1"


# Every string the portal sends is refused if it holds a control character or a bidi
# override (ingest/package.py, _forbidden_characters); the schemas say it only where a field
# has a pattern of its own, the document says it of every string. Lone surrogates, also
# refused, are left out: generators (Schemathesis) drop a pattern whose class names them, and
# no UTF-8 text carries one.
SURROGATES = "\\uD800-\\uDFFF"
FORBIDDEN_FREE = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$"
# The multiline fields may hold tab, line feed and carriage return.
FORBIDDEN_FREE_MULTILINE = (
    "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F"
    "\\u202A-\\u202E\\u2066-\\u2069]*$"
)


def _contract(name: str, directory: Path, multiline: frozenset[str]) -> dict[str, Any]:
    """A portal JSON Schema, its local `$ref`s inlined (as the validator reads it) so that
    it stands on its own under components/schemas, every string saying which characters
    it may not hold."""
    schema = _with_character_rule(load_schema(name, directory).schema, "", multiline)
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    return schema


def _with_character_rule(node: Any, pointer: str, multiline: frozenset[str]) -> Any:
    if isinstance(node, list):
        return [_with_character_rule(item, pointer, multiline) for item in node]
    if not isinstance(node, dict):
        return node
    result = {
        key: (
            {
                name: _with_character_rule(item, f"{pointer}/{name}", multiline)
                for name, item in value.items()
            }
            if key == "properties"
            else _with_character_rule(value, pointer, multiline)
        )
        for key, value in node.items()
    }
    kinds = result.get("type")
    if kinds != "string" and not (isinstance(kinds, list) and "string" in kinds):
        return result
    rule = FORBIDDEN_FREE_MULTILINE if pointer in multiline else FORBIDDEN_FREE
    pattern = result.get("pattern")
    if not isinstance(pattern, str):
        result["pattern"] = rule
    elif SURROGATES in pattern:
        result["pattern"] = pattern.replace(SURROGATES, "")  # already the rule itself
    else:
        result["allOf"] = [*result.get("allOf", []), {"pattern": rule}]
    return result


def _nullable(kind: str) -> dict[str, Any]:
    return {"type": [kind, "null"]}


def _object(properties: dict[str, Any], *, required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(properties) if required is None else required,
        "properties": properties,
    }


STRING: dict[str, Any] = {"type": "string"}
INTEGER: dict[str, Any] = {"type": "integer"}
BOOLEAN: dict[str, Any] = {"type": "boolean"}


def _responses(problems: list[int], success: dict[int, tuple[str, str]]) -> dict[str, Any]:
    """`success`: status → (description, component); `problems`: the statuses answered with
    a problem (each described by the codes it may carry)."""
    answers: dict[str, Any] = {
        str(status): {
            "description": description,
            "content": {"application/json": {"schema": _ref(component)}},
        }
        for status, (description, component) in success.items()
    }
    for status in problems:
        answers[str(status)] = {"$ref": f"#/components/responses/Problem{status}"}
    return answers


def _ref(component: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{component}"}


def _problem_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Problème (RFC 9457). `code` est stable ; `detail` et `errors` sont en "
        "français. `error` et `message` reprennent `code` et `detail` (forme antérieure).",
        "required": ["type", "title", "status", "detail", "code", "error", "message"],
        "properties": {
            "type": {"type": "string", "pattern": f"^{PROBLEM_TYPE}[a-z_]+$"},
            "title": STRING,
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": STRING,
            "code": {"enum": sorted(PROBLEMS)},
            "error": {"enum": sorted(PROBLEMS)},
            "message": STRING,
            "outcome": {"const": "refused"},
            "errors": {"type": "array", "items": STRING, "minItems": 1},
            "order_number": _nullable("string"),
            "path": STRING,
            "request_id": INTEGER,
        },
    }


def _problem_responses() -> dict[str, Any]:
    statuses = sorted({status for status, _title in PROBLEMS.values()})
    return {
        f"Problem{status}": {
            "description": " ; ".join(
                f"`{code}` : {title}"
                for code, (at, title) in sorted(PROBLEMS.items())
                if at == status
            ),
            "content": {PROBLEM_JSON: {"schema": _ref("Problem")}},
        }
        for status in statuses
    }


def _outcome_schemas() -> dict[str, Any]:
    revocation_request = _object(
        {
            "request_id": INTEGER,
            "certificate_serial": _nullable("string"),
            "state": STRING,
            "state_label": STRING,
            "open": BOOLEAN,
            "reason": STRING,
            "reason_label": STRING,
            "requested_at": STRING,
            "decided_at": _nullable("string"),
            "revoked_at": _nullable("string"),
        }
    )
    return {
        "IngestOutcome": _object(
            {
                "path": STRING,
                "order_number": STRING,
                "outcome": {"enum": ["created", "revised", "duplicate"]},
                "errors": {"type": "array", "items": STRING},
                "dossier_status": STRING,
                "revision": INTEGER,
                "dossier_id": INTEGER,
                "refusal_code": {"type": "null"},
            }
        ),
        "SignatureOutcome": _object(
            {
                "order_number": STRING,
                "outcome": {"enum": ["recorded", "superseded"]},
                "errors": {"type": "array", "items": STRING},
                "signer": STRING,
                "refusal_code": {"type": "null"},
            }
        ),
        "RevocationRequest": revocation_request,
        "RevocationRecorded": {
            "allOf": [
                revocation_request,
                _object({"outcome": {"const": "recorded"}}),
            ]
        },
        "OrderStatus": _object(
            {
                "order_number": STRING,
                "revision": INTEGER,
                "created_at": STRING,
                "status": STRING,
                "status_label": STRING,
                "verdict": _nullable("string"),
                "holders": INTEGER,
                "certificates": {"type": "string", "pattern": "^[0-9]+ / [0-9]+$"},
                "dematerialised": BOOLEAN,
                "delivery_mode": _nullable("string"),
                "to_provide": {"type": "array", "items": STRING},
                "rejection_reason": _nullable("string"),
                "delivery": {"type": ["object", "null"]},
                "certificates_status": {
                    "type": "array",
                    "items": _object(
                        {
                            "serial_number": STRING,
                            "not_after": STRING,
                            "revoked": BOOLEAN,
                            "revoked_at": _nullable("string"),
                            "revocation_reason": _nullable("string"),
                            "revocation_reason_label": _nullable("string"),
                        }
                    ),
                },
                "revocation_request": {
                    "oneOf": [{"type": "null"}, _ref("RevocationRequest")],
                },
            }
        ),
    }


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The whole document (the schema files are read once per process)."""
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    json_body = {
        "required": True,
        "content": {"application/json": {"schema": _ref("SignatureEvent")}},
    }
    return {
        "openapi": OPENAPI_VERSION,
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "RA Workbench — API du portail",
            "version": API_VERSION,
            "description": "Paquets de dossier, événements de signature et demandes de "
            "révocation venant du portail de commande ; état des commandes. Les erreurs sont "
            "des problèmes RFC 9457 (`application/problem+json`) à code stable.",
        },
        "security": bearer,
        "paths": {
            "/api/v1/dossiers": {
                "post": {
                    "operationId": "uploadDossier",
                    "summary": "Déposer le paquet d'une commande (zip)",
                    "description": "Le zip contient `dossier.json` (schéma `DossierJson`) et "
                    "les pièces ; envoyé dans le champ `package`, ou en corps brut avec son "
                    "nom dans `X-Package-Name`.",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["package"],
                                    "properties": {
                                        # a file part (format binary: the 3.0
                                        # spelling generators still read)
                                        "package": {
                                            "type": "string",
                                            "format": "binary",
                                            "contentMediaType": "application/zip",
                                        }
                                    },
                                },
                            },
                            "application/zip": {
                                "schema": {"type": "string", "contentMediaType": "application/zip"}
                            },
                        },
                    },
                    "responses": _responses(
                        [400, 401, 409, 413],
                        {
                            201: ("Dossier créé.", "IngestOutcome"),
                            200: ("Révision reçue, ou paquet déjà reçu.", "IngestOutcome"),
                        },
                    ),
                }
            },
            "/api/v1/signatures": {
                "post": {
                    "operationId": "recordSignature",
                    "summary": "Transmettre un événement de signature",
                    "requestBody": json_body,
                    "responses": _responses(
                        [400, 401, 404, 413],
                        {200: ("Événement enregistré (ou dépassé).", "SignatureOutcome")},
                    ),
                }
            },
            "/api/v1/revocations": {
                "post": {
                    "operationId": "requestRevocation",
                    "summary": "Transmettre une demande de révocation",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("RevocationRequestSent")}},
                    },
                    "responses": _responses(
                        [400, 401, 404, 409, 413],
                        {201: ("Demande enregistrée.", "RevocationRecorded")},
                    ),
                }
            },
            "/api/v1/dossiers/{order_number}/status": {
                "get": {
                    "operationId": "orderStatus",
                    "summary": "État d'une commande",
                    "parameters": [
                        {
                            "name": "order_number",
                            "in": "path",
                            "required": True,
                            "schema": STRING,
                        }
                    ],
                    "responses": _responses(
                        [401, 404],
                        {200: ("État de la commande.", "OrderStatus")},
                    ),
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "openapiDocument",
                    "summary": "Ce document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "Le document OpenAPI 3.1.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Jeton d'API du portail (RA_WORKBENCH_API_TOKENS).",
                }
            },
            "schemas": {
                "DossierJson": _contract("dossier", INGEST_SCHEMAS, MULTILINE_FIELDS),
                "SignatureEvent": _contract("signature", INGEST_SCHEMAS, frozenset()),
                "RevocationRequestSent": _contract(
                    "revocation", REVOCATION_SCHEMAS, REVOCATION_MULTILINE
                ),
                "Problem": _problem_schema(),
                **_outcome_schemas(),
            },
            "responses": _problem_responses(),
        },
    }
