"""Web shell: wires the domains' blueprints, authentication, the admin and the search."""

from __future__ import annotations

from flask import Flask

from ra_workbench.delivery.views import bp as delivery_bp
from ra_workbench.documents.views import access_bp as document_access_bp
from ra_workbench.documents.views import bp as documents_bp
from ra_workbench.issuance.public import bp as pki_bp
from ra_workbench.issuance.views import bp as issuance_bp
from ra_workbench.notify.views import bp as notify_bp
from ra_workbench.portal.views import bp as api_bp
from ra_workbench.review.views import bp as review_bp
from ra_workbench.revocation.views import bp as revocation_bp
from ra_workbench.supervision.audit_views import bp as audit_bp
from ra_workbench.supervision.views import bp as supervision_bp
from ra_workbench.web.admin import init_admin
from ra_workbench.web.auth import bp as auth_bp
from ra_workbench.web.auth import init_login
from ra_workbench.web.casefile import wire_case_sections
from ra_workbench.web.errors import register_error_pages
from ra_workbench.web.filters import register_filters
from ra_workbench.web.health import bp as health_bp
from ra_workbench.web.home import bp as home_bp
from ra_workbench.web.search import wire_search
from ra_workbench.web.webauthn import bp as account_bp


def register_blueprints(app: Flask) -> None:
    register_filters(app)
    register_error_pages(app)
    wire_search()
    wire_case_sections()
    init_login(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(home_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(documents_bp)
    app.register_blueprint(document_access_bp)
    app.register_blueprint(issuance_bp)
    app.register_blueprint(pki_bp)
    app.register_blueprint(delivery_bp)
    app.register_blueprint(revocation_bp)
    app.register_blueprint(notify_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(supervision_bp)
    init_admin(app)
