"""Extension objects, created unbound here and bound to an app in create_app."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names keep Alembic migrations identical on PostgreSQL and SQLite.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# create_savepoint lets tests wrap each test in an outer transaction that code under test
# cannot commit; with an Engine bind (production) it changes nothing.
db = SQLAlchemy(
    model_class=Base,
    # Views commit the audit row of a read before rendering; with objects expired by that commit every
    # attribute the template touched was loaded again, one query per object (≈ 30 per customer view).
    session_options={"join_transaction_mode": "create_savepoint", "expire_on_commit": False},
)
login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()
migrate = Migrate(compare_type=True, render_as_batch=True)
