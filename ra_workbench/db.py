"""The one declarative Base, reusable annotated column types, and the unit of work."""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from typing import Annotated, Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, mapped_column, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Set by job units (and read for non-GET requests): on SQLite such transactions begin with
# BEGIN IMMEDIATE, so writers queue for the lock instead of failing on a stale snapshot.
write_intent: ContextVar[bool] = ContextVar("ra_write_intent", default=False)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


intpk = Annotated[int, mapped_column(primary_key=True)]
str_short = Annotated[str, mapped_column(sa.String(64))]
str_name = Annotated[str, mapped_column(sa.String(200))]
str_text = Annotated[str, mapped_column(sa.Text)]
CreatedAt = Annotated[dt.datetime, mapped_column(UTCDateTime(), default=utcnow, nullable=False)]
timestamp = Annotated[dt.datetime, mapped_column(UTCDateTime())]
json_data = Annotated[dict[str, Any], mapped_column(sa.JSON, default=dict, nullable=False)]
json_list = Annotated[list[Any], mapped_column(sa.JSON, default=list, nullable=False)]


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={
            dt.datetime: UTCDateTime(),
            dict[str, Any]: sa.JSON,
            list[Any]: sa.JSON,
        },
    )
