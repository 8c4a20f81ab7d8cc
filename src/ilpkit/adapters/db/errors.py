"""Database problems a user can act on, each with a plain message and a command exit code."""

from __future__ import annotations

from ilpkit.errors import IlpkitError


class RegistryDatabaseError(IlpkitError):
    """A database problem with a message for the user (no traceback) and an exit code."""

    exit_code = 3


class DatabaseUrlError(RegistryDatabaseError):
    """The database URL cannot be read, or names a database ilpkit does not support."""

    exit_code = 2


class NoRegistryError(RegistryDatabaseError):
    """There is no registry at the URL (no SQLite file, or an empty database)."""

    exit_code = 1


class SchemaOutdatedError(RegistryDatabaseError):
    """The registry has an older schema; ``ilp upgrade`` brings it up to date."""

    exit_code = 3


class SchemaTooNewError(RegistryDatabaseError):
    """The registry was written by a newer ilpkit whose schema this version does not know."""

    exit_code = 3


class RegistryBusyError(RegistryDatabaseError):
    """Another command kept the registry's write lock longer than the lock timeout."""

    exit_code = 3


class DatabaseUnreachableError(RegistryDatabaseError):
    """The database server did not answer within the connect timeout."""

    exit_code = 3
