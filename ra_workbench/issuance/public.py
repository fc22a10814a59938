"""The CA's public face, without sign-in: what relying parties fetch at the URLs each holder
certificate carries (AIA caIssuers and OCSP, CRL distribution point; rules/issuance.toml
[publication]). Read-only: nothing here writes to the database.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import Blueprint, Response, abort, request

from ra_workbench.extensions import csrf
from ra_workbench.issuance import publication
from ra_workbench.issuance.config import CA_ISSUERS_PATH, CRL_PATH, OCSP_PATH

bp = Blueprint("pki", __name__)
# OCSP clients post DER, not forms.
csrf.exempt(bp)

# RFC 5019 2.1.1: requests above this are refused; OCSP requests are a few hundred bytes.
MAX_OCSP_REQUEST_BYTES = 4096


@bp.get(CA_ISSUERS_PATH)
def issuing_ca() -> Any:
    return Response(publication.issuing_ca_der(), mimetype="application/pkix-cert")


@bp.get(CRL_PATH)
def revocation_list() -> Any:
    response = Response(publication.current_crl(), mimetype="application/pkix-crl")
    response.cache_control.max_age = 300
    return response


def _ocsp(request_der: bytes) -> Response:
    return Response(publication.ocsp_answer(request_der), mimetype="application/ocsp-response")


@bp.post(OCSP_PATH)
def ocsp_post() -> Any:
    if request.mimetype != "application/ocsp-request":
        abort(415)
    request_der = request.stream.read(MAX_OCSP_REQUEST_BYTES + 1)
    if len(request_der) > MAX_OCSP_REQUEST_BYTES:
        abort(413)
    return _ocsp(request_der)


@bp.get(f"{OCSP_PATH}/<path:encoded>")
def ocsp_get(encoded: str) -> Any:
    # RFC 6960 A.1: the DER request, base64, URL-encoded (Werkzeug has decoded the URL).
    if len(encoded) > MAX_OCSP_REQUEST_BYTES * 2:
        abort(414)
    try:
        request_der = base64.b64decode(encoded, validate=False)
    except (binascii.Error, ValueError):
        abort(400)
    return _ocsp(request_der)
