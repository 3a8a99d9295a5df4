"""What a database error means for the request that met it: try again later, or a value it cannot hold.

Callers branch on these answers, not on driver exceptions: SQLAlchemy wraps asyncpg's and
sqlite3's errors, and only the SQLSTATE tells "the server is shutting down" (57P03, a plain
`DBAPIError` from asyncpg) from a programming error.
"""

from __future__ import annotations

from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

#: SQLSTATE classes of an unreachable, overloaded or stopping server: connection exception,
#: insufficient resources, operator intervention (shutdown, restart), system error.
_UNAVAILABLE = ("08", "53", "57", "58")
#: SQLSTATE class of a value the column or the encoding cannot hold (NUL in text, out of range).
_BAD_VALUE = "22"


def _sqlstate(error: BaseException) -> str | None:
    original = getattr(error, "orig", None)
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return code if isinstance(code, str) else None


def is_unavailable(error: BaseException) -> bool:
    """True when the database is unreachable, out of connections or stopping: retrying may work."""
    if isinstance(error, (PoolTimeout, OperationalError, InterfaceError, OSError)):
        return True
    if isinstance(error, DBAPIError):
        code = _sqlstate(error)
        return error.connection_invalidated or (code is not None and code[:2] in _UNAVAILABLE)
    return False


def is_refused_value(error: BaseException) -> bool:
    """True when the database refused a value the statement carried (the request's fault, not ours)."""
    if isinstance(error, DataError):
        return True
    code = _sqlstate(error)
    return code is not None and code.startswith(_BAD_VALUE)
