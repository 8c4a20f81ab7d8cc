"""The unit of work: one database transaction per use case."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.engine import Connection, Engine

from ilpkit import config
from ilpkit.adapters.db.engine import (
    check_schema,
    make_engine,
    migrate_locked,
    take_write_lock,
    translated_errors,
)
from ilpkit.adapters.db.errors import NoRegistryError


class UnitOfWork:
    """A transaction on the registry database, committed only by :meth:`commit`.

    Leaving the ``with`` block without a commit rolls everything back, so a use case that fails
    half-way leaves the database as it was.

    A writing unit of work (the default) takes the registry's write lock when its transaction
    opens and holds it until the end, so writers run one after the other and each sees what the
    previous ones committed; a writer that finds the lock taken waits (at most the lock timeout,
    ``$ILP_LOCK_TIMEOUT_S``). A reading unit of work (``write=False``) never changes the
    database: a SQLite file is opened read-only, a PostgreSQL transaction is READ ONLY, and the
    schema is checked, never migrated.

    Parameters
    ----------
    url : str
        SQLAlchemy database URL.
    write : bool
        Take the write lock (default). False for use cases that only read.
    migrate : bool, optional
        Bring the schema to the newest version first, under the write lock (creates the tables
        of a new registry). Default: the value of ``write``. Ignored when ``write`` is False.
    require_registry : bool
        When reading: a database without a registry (a missing SQLite file, an empty database)
        is an error (:class:`NoRegistryError`). When False it reads as an empty database, and a
        missing SQLite file is not created.

    Raises
    ------
    RegistryDatabaseError
        Subclasses, on entering: no registry, an older or newer schema, a busy registry, a
        server that does not answer, a malformed URL.
    """

    def __init__(
        self,
        url: str,
        migrate: bool | None = None,
        *,
        write: bool = True,
        require_registry: bool = True,
    ) -> None:
        self.url = url
        self.write = write
        self.migrate = write if migrate is None else (migrate and write)
        self.require_registry = require_registry
        self._engine: Engine | None = None
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        """The open connection (inside the ``with`` block only)."""
        if self._connection is None:
            raise RuntimeError("the unit of work is not open")
        return self._connection

    def __enter__(self) -> UnitOfWork:
        url = self.url
        path = config.sqlite_path(url)
        if not self.write and path is not None and not path.exists():
            if self.require_registry:
                raise NoRegistryError(
                    f"there is no registry at {path}. Create one with 'ilp init' or "
                    "'ilp import FILE', or name another with --db."
                )
            url = "sqlite://"  # read as an empty database; the file is not created
        try:
            self._engine = make_engine(url, read_only=not self.write, write_lock=self.write)
            with translated_errors(self.url):
                self._connection = self._engine.connect()
                self._connection.begin()
                if self._connection.dialect.name == "postgresql" and not self.write:
                    self._connection.exec_driver_sql(
                        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
                    )
                if self.write:
                    take_write_lock(self._connection)
                if self.migrate:
                    migrate_locked(self._connection, self.url)
                else:
                    check_schema(self._connection, self.url, require_registry=self.require_registry)
        except BaseException:
            self._close()
            raise
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
        self._close()

    def _close(self) -> None:
        try:
            if self._connection is not None:
                self._connection.rollback()
                self._connection.close()
        finally:
            if self._engine is not None:
                self._engine.dispose()
            self._connection = None
            self._engine = None
