"""Whether changing a column's type can lose data, judged where Alembic still knows both types
(``alter_column``'s ``existing_type`` and ``type_``): only a narrowing or a conversion is."""

from __future__ import annotations

import sqlalchemy as sa

_INTEGER_RANK = {"SmallInteger": 1, "Integer": 2, "BigInteger": 3}
_FAMILIES = (("integer", sa.Integer), ("numeric", sa.Numeric), ("string", sa.String),
             ("datetime", sa.DateTime), ("date", sa.Date), ("time", sa.Time),
             ("boolean", sa.Boolean), ("binary", sa.LargeBinary))


def _family(t: sa.types.TypeEngine) -> str:
    for family, base in _FAMILIES:
        if isinstance(t, base):
            return family
    return type(t).__name__


def _integer_rank(t: sa.types.TypeEngine) -> int:
    return _INTEGER_RANK.get(type(t).__name__, 2)


def _numeric_narrows(old, new) -> bool:
    old_precision, new_precision = getattr(old, "precision", None), getattr(new, "precision", None)
    old_scale, new_scale = getattr(old, "scale", None) or 0, getattr(new, "scale", None) or 0
    return (new_precision is not None and (old_precision is None or new_precision < old_precision)) \
        or new_scale < old_scale


def _string_change(table: str, column: str, old, new, what: str) -> str | None:
    if isinstance(old, sa.Enum) and isinstance(new, sa.Enum):
        missing = [e for e in old.enums if e not in new.enums]
        return f"removes values {', '.join(missing)} of {table}.{column}" if missing else None
    old_length, new_length = getattr(old, "length", None), getattr(new, "length", None)
    if new_length is not None and (old_length is None or new_length < old_length):
        return f"narrows {what}: longer values are cut or rejected"
    return None


def lossy_type_change(table: str, column: str, old, new) -> str | None:
    """A message when changing ``old`` to ``new`` can lose data; None for a widening."""
    if old is None or new is None:
        return None
    old = old() if isinstance(old, type) else old
    new = new() if isinstance(new, type) else new
    what = f"{table}.{column} from {old} to {new}"
    family = _family(old)
    if family != _family(new):
        return f"converts {what}: values that do not convert are lost or rejected"
    if family == "integer":
        narrows = _integer_rank(new) < _integer_rank(old)
        return f"narrows {what}: larger values are rejected" if narrows else None
    if family == "numeric":
        return f"narrows {what}: values are rounded or rejected" if _numeric_narrows(old, new) else None
    if family == "string":
        return _string_change(table, column, old, new, what)
    if str(old) != str(new):
        return f"changes {what}: check that every value fits"
    return None
