"""Where an executor writes attempt logs when it is given no ``logs_dir`` (docs/api.md)."""

from __future__ import annotations

import os
from pathlib import Path

from wf.storage import Store
from wf.storage.connection import MEMORY_PATH

__all__ = ["default_logs_dir"]


def default_logs_dir(store: Store) -> Path:
    """``logs`` next to STORE's database file, or the configured logs directory.

    The configured directory is used for the configured database and for an in-memory one;
    any other database keeps its logs beside it, so a project's runs stay in one place.
    """
    from wf.config import ConfigError, load_config

    path = getattr(store, "path", MEMORY_PATH)
    if path == MEMORY_PATH or not path:
        return load_config().logs_dir
    database = Path(os.path.abspath(path))
    try:
        config = load_config()
    except ConfigError:  # a broken config must not stop a library caller with its own DB
        return database.parent / "logs"
    if os.path.abspath(config.database_path) == str(database):
        return config.logs_dir
    return database.parent / "logs"
