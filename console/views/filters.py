"""List filters for UTCDateTime columns: what staff type is Japan time, stored values are UTC."""

from __future__ import annotations

from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.model import filters as model_filters

from ..formats import TOKYO


def _tokyo(cls):
    """A datetime filter class whose typed values are read as Asia/Tokyo."""

    def clean(self, value):
        cleaned = super(subclass, self).clean(value)
        if isinstance(cleaned, list):
            return [v.replace(tzinfo=TOKYO) for v in cleaned]
        return cleaned.replace(tzinfo=TOKYO)

    subclass = type(f"Tokyo{cls.__name__}", (cls,), {"clean": clean})
    return subclass


TOKYO_DATETIME_FILTERS = tuple(
    _tokyo(f) if f is not sqla_filters.FilterEmpty else f for f in sqla_filters.FilterConverter.datetime_filters
)


class ConsoleFilterConverter(sqla_filters.FilterConverter):
    """Flask-Admin's converter, taught our UTCDateTime column type."""

    @model_filters.convert("UTCDateTime")
    def conv_utc_datetime(self, column, name, **kwargs):
        return [f(column, name, **kwargs) for f in TOKYO_DATETIME_FILTERS]
