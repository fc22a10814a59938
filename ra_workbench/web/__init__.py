"""Web shell: wires the domains' blueprints, authentication and the admin."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from ra_workbench.ingest.views import bp as api_bp
    from ra_workbench.web.auth import bp as auth_bp
    from ra_workbench.web.auth import init_login
    from ra_workbench.web.home import bp as home_bp

    init_login(app)
    app.register_blueprint(api_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(home_bp)
