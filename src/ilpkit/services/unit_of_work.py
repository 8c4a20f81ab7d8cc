"""The unit of work: one database transaction per use case."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.engine import Connection, Engine

from ilpkit.adapters.db.engine import ensure_schema, make_engine


class UnitOfWork:
    """A transaction on the registry database, committed only by :meth:`commit`.

    Leaving the ``with`` block without a commit rolls everything back, so a use case that fails
    half-way leaves the database as it was.

    Parameters
    ----------
    url : str
        SQLAlchemy database URL.
    migrate : bool
        Bring the schema to the newest version first (creates the tables of a new registry).
    """

    def __init__(self, url: str, migrate: bool = True) -> None:
        self.url = url
        self.migrate = migrate
        self._engine: Engine | None = None
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        """The open connection (inside the ``with`` block only)."""
        if self._connection is None:
            raise RuntimeError("the unit of work is not open")
        return self._connection

    def __enter__(self) -> UnitOfWork:
        self._engine = make_engine(self.url)
        if self.migrate:
            ensure_schema(self._engine)
        self._connection = self._engine.connect()
        self._connection.begin()
        return self

    def commit(self) -> None:
        """Commit the transaction."""
        self.connection.commit()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._connection is not None:
                self._connection.rollback()
                self._connection.close()
        finally:
            if self._engine is not None:
                self._engine.dispose()
            self._connection = None
            self._engine = None
