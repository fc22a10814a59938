"""Flask extensions, created here and attached in the app factory with init_app."""

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from ra_workbench.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# French only (Flask-Admin's and WTForms' own catalogues), dates in Europe/Paris: no selector.
babel = Babel()


def _client_address() -> str:
    # Behind a reverse proxy, ProxyFix (configured by the shell) makes this the client's.
    return request.remote_addr or "unknown"


# Storage: Redis when REDIS_URL is set (limits shared by every process), else in memory.
limiter = Limiter(key_func=_client_address, headers_enabled=True)
