"""Per-invocation CLI state: global options, lazily loaded config and store, diagnostics."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from wf.config import Config
    from wf.storage import Store

_LEVELS = {"debug": 10, "info": 20, "warn": 30, "error": 40}


class _DiagnosticHandler(logging.Handler):
    """Library log records as ``warning: …`` lines on stderr (docs/cli.md#global-options)."""

    def emit(self, record: logging.LogRecord) -> None:
        label = {"WARNING": "warning", "CRITICAL": "error"}.get(
            record.levelname, record.levelname.lower()
        )
        try:
            message = record.getMessage()
            if record.exc_info and self.level <= logging.DEBUG:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            sys.stderr.write(f"{label}: {message}\n")
        except Exception:  # a diagnostic must never break the command
            self.handleError(record)


_HANDLER = _DiagnosticHandler()


def configure_logging(level: str) -> None:
    """Route the ``wf`` loggers to stderr at LEVEL (debug, info, warn or error)."""
    logger = logging.getLogger("wf")
    if _HANDLER not in logger.handlers:
        logger.addHandler(_HANDLER)
    logger.propagate = False
    numeric = _LEVELS.get(level, 30)
    logger.setLevel(numeric)
    _HANDLER.setLevel(numeric)


@dataclass
class AppContext:
    """What every command may need; everything heavy is created on first use."""

    config_path: str | None = None
    home: str | None = None
    log_level: str | None = None
    _config: Config | None = None
    _store: Store | None = None
    _closers: list[Any] = field(default_factory=list)

    @property
    def config(self) -> Config:
        """The effective configuration (loaded once)."""
        if self._config is None:
            from wf.config import load_config

            self._config = load_config(config_path=self.config_path, home=self.home)
            if not self.log_level:
                configure_logging(self._config.log_level)
            for warning in self._config.warnings:
                self.diag("warn", warning)
            config = self._config
            self.diag(
                "debug",
                f"config: {config.config_path} ({'read' if config.config_exists else 'absent'}); "
                f"workflows {config.workflows_dir}; logs {config.logs_dir}; "
                f"database {config.database_path}; default_executor {config.default_executor}, "
                f"max_parallel {config.max_parallel}, kill_grace {config.kill_grace}s",
            )
        return self._config

    def diag(self, level: str, message: str) -> None:
        """Print a diagnostic line on stderr when LEVEL passes the configured level."""
        threshold = _LEVELS.get(self.log_level or "warn", 30)
        if self._config is not None and not self.log_level:
            threshold = _LEVELS.get(self._config.log_level, 30)
        if _LEVELS.get(level, 30) >= threshold:
            label = "warning" if level == "warn" else level
            click.echo(f"{label}: {message}", err=True)

    def store(self, *, sweep: bool = True) -> Store:
        """Open the database (once) and sweep for interrupted runs.

        See docs/resume.md#interruption-detection.
        """
        if self._store is None:
            from wf.storage import Store

            self._store = Store(self.config.database_path)
            self.diag("debug", f"database opened: {self.config.database_path}")
            if sweep:
                swept = self._store.mark_interrupted_runs()
                if swept:
                    self.diag("debug", f"marked interrupted: {', '.join(swept)}")
        return self._store

    def close(self) -> None:
        """Release the store."""
        if self._store is not None:
            self._store.close()
            self._store = None


def app_context() -> AppContext:
    """The AppContext of the running click invocation."""
    ctx = click.get_current_context()
    obj = ctx.find_object(AppContext)
    if obj is None:  # a command invoked outside the group (tests)
        obj = AppContext()
        ctx.obj = obj
    return obj


def is_tty(stream: Any = None) -> bool:
    """Whether STREAM (default stdout) is an interactive terminal."""
    stream = stream or sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
