"""One ``[tasks.<id>]`` table: key and type checks, defaults, and task warnings.

See docs/workflow-files.md#task-level-keys.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from functools import cached_property
from typing import Any

from wf.contextmap import RESERVED_NAMES, ConditionError
from wf.dag.duration import DurationError, format_duration, parse_duration
from wf.dag.keys import TASK_TABLE, names
from wf.dag.matrix import parse_matrix
from wf.dag.model import TASK_TYPE_FORENSIC, TASK_TYPE_NORMAL, TaskDefinition
from wf.dag.pools import check_pool_name, parse_weights
from wf.dag.report import Report, quote, show, unknown_key
from wf.errors import SecurityError
from wf.security import validate_env_key, validate_variable_name, validate_working_dir

__all__ = ["TASK_KEYS", "parse_task"]

TASK_KEYS = names(TASK_TABLE)
_TASK_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")
# The placeholder form (docs/variables.md#interpolation-name); text outside it is literal.
_PLACEHOLDER_RE = re.compile(r"\{\{\.[A-Za-z0-9_.+\-\[\]=,]+\}\}")

MAX_QUIET_RETRIES = 10
MIN_QUIET_RETRY_DELAY = 0.1
MIN_QUIET_TIMEOUT = 1.0
MAX_QUIET_TIMEOUT = 24 * 3600.0


def parse_task(task_id: str, table: object, report: Report) -> tuple[TaskDefinition, bool] | None:
    """Check one task table; return its definition and whether its matrix is usable.

    Returns None when the value is not a table at all. Invalid values are reported and
    replaced by their defaults, so later checks still see every task.
    """
    if not _TASK_ID_RE.fullmatch(task_id):
        report.error(f"task {quote(task_id)} has invalid name (allowed: letters, digits, _, -)")
    elif task_id.startswith("__"):
        report.error(
            f"task {quote(task_id)} has invalid name (allowed: letters, digits, _, -): "
            'IDs starting with "__" are reserved for wf'
        )
    if not isinstance(table, dict):
        report.error(f"task {quote(task_id)} must be a table")
        return None
    return _TaskReader(task_id, table, report).read()


class _TaskReader:
    """Reads the keys of one task table, reporting problems under ``task "<id>"``.

    Only the keys present are visited, so a small task costs little in a big workflow.
    """

    def __init__(self, task_id: str, table: dict[str, Any], report: Report) -> None:
        self.task_id = task_id
        self.table = table
        self.report = report
        self.task = TaskDefinition(id=task_id)
        self.matrix_ok = True
        self.retries_ok = "retries" not in table
        self.retry_delay: float | None = None

    @cached_property
    def where(self) -> str:
        return f"task {quote(self.task_id)}"

    def error(self, message: str) -> None:
        self.report.error(f"{self.where}: {message}")

    def warn(self, message: str) -> None:
        self.report.warn(f"{self.where}: {message}")

    def type_error(self, key: str, expected: str) -> None:
        self.error(f"key {quote(key)} must be {expected}")

    def read(self) -> tuple[TaskDefinition, bool]:
        task = self.task
        for key, value in self.table.items():
            reader = _READERS.get(key)
            if reader is None:
                self.error(unknown_key(key, TASK_KEYS))
            else:
                reader(self, value)
        command = self.table.get("cmd", "")
        if isinstance(command, str) and not command.strip():
            self.report.error(f"task {show(self.task_id)} must have a command")
        self.retry_warnings()
        if task.outputs and not task.inputs:
            self.error('key "outputs" needs "inputs" (a task without inputs always runs)')
        if task.is_forensic:
            for key in ("matrix", "depends_on", "on_failure", "pool", "pools", "inputs", "outputs"):
                if self.table.get(key):
                    self.error(f"forensic tasks cannot have {key} (they run only as failure traps)")
        return task, self.matrix_ok

    # --- typed values ------------------------------------------------------------------------

    def string(self, key: str, value: object) -> str:
        if not isinstance(value, str):
            self.type_error(key, "a string")
            return ""
        return value

    def boolean(self, key: str, value: object) -> bool:
        if not isinstance(value, bool):
            self.type_error(key, "a boolean")
            return False
        return value

    def duration(self, key: str, value: object) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.type_error(key, 'a duration (a number of seconds or a string such as "30s")')
            return None
        try:
            return parse_duration(value)
        except DurationError as exc:
            self.error(f"key {quote(key)}: {exc}")
            return None

    # --- one reader per key ------------------------------------------------------------------

    def read_name(self, value: object) -> None:
        name = self.string("name", value)
        if name:
            self.task.name = name

    def read_description(self, value: object) -> None:
        self.task.description = self.string("description", value)

    def read_type(self, value: object) -> None:
        if not isinstance(value, str):
            self.type_error("type", 'a string ("normal" or "forensic")')
        elif value not in (TASK_TYPE_NORMAL, TASK_TYPE_FORENSIC):
            self.error(f'type must be "normal" or "forensic", not {quote(value)}')
        else:
            self.task.type = value

    def read_cmd(self, value: object) -> None:
        command = self.string("cmd", value)
        if "\x00" in command:
            self.error('key "cmd" contains a NUL byte')
        self.task.cmd = command

    def read_depends_on(self, value: object) -> None:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.type_error("depends_on", "an array of strings")
        else:
            self.task.depends_on = list(dict.fromkeys(value))

    def read_working_dir(self, value: object) -> None:
        path = self.string("working_dir", value)
        if not path:
            return
        # Only the literal leading directories can be judged now; P4 checks the full path.
        first = _PLACEHOLDER_RE.search(path)
        literal = path if first is None else path[: path.rfind("/", 0, first.start()) + 1]
        try:
            if "\x00" in path:
                validate_working_dir(path)
            validate_working_dir(literal)
        except SecurityError as exc:
            self.error(str(exc))
            return
        if not (path.startswith((".", "{{")) or os.path.isabs(path)):
            self.warn(
                f"relative working_dir {quote(path)} does not start with "
                '"." (it is resolved against the current directory of wf)'
            )
        self.task.working_dir = path

    def read_env(self, value: object) -> None:
        if not isinstance(value, dict):
            self.type_error("env", "a table of strings")
            return
        env = self.task.env
        for key, item in value.items():
            try:
                validate_env_key(key)
            except SecurityError as exc:
                self.error(str(exc))
                continue
            if not isinstance(item, str):
                self.type_error(f"env.{key}", "a string")
            elif "\x00" in item:
                self.error(f"env value {quote(key)} contains a NUL byte")
            else:
                env[key] = item

    def read_clean_env(self, value: object) -> None:
        self.task.clean_env = self.boolean("clean_env", value)

    def read_if(self, value: object) -> None:
        condition = self.string("if", value)
        if condition:
            from wf.contextmap.condition import parse_condition

            try:
                parse_condition(condition)
            except ConditionError as exc:
                # An `if` that can never be evaluated is an error (docs/workflow-files.md).
                self.report.error(
                    f"task {show(self.task_id)}: invalid condition {quote(condition)}: "
                    f"{exc.reason} at position {exc.position}"
                )
        self.task.condition = condition

    def read_matrix(self, value: object) -> None:
        matrix = parse_matrix(self.task_id, value, self.report)
        self.matrix_ok = matrix is not None
        self.task.matrix = matrix or {}

    def read_register(self, value: object) -> None:
        name = self.string("register", value)
        if name and "{{" not in name:  # a templated name is checked after interpolation (P3)
            if name in RESERVED_NAMES:
                self.error(f"register name {quote(name)} is reserved")
                return
            try:
                validate_variable_name(name)
            except SecurityError as exc:
                self.error(f'key "register": {exc}')
                return
        self.task.register = name

    def read_ignore_failure(self, value: object) -> None:
        self.task.ignore_failure = self.boolean("ignore_failure", value)

    def read_retries(self, value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.type_error("retries", "an integer")
        elif value < 0:
            self.error(f'key "retries" must be >= 0, not {value}')
        else:
            self.task.retries = value
            self.retries_ok = True

    def read_retry_delay(self, value: object) -> None:
        self.retry_delay = self.duration("retry_delay", value)
        self.task.retry_delay = self.retry_delay or 0.0

    def read_retry_backoff(self, value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.type_error("retry_backoff", "a number")
        elif not math.isfinite(value) or value < 1.0:
            self.error(f'key "retry_backoff" must be a number >= 1.0, not {value!r}')
        else:
            self.task.retry_backoff = float(value)

    def read_retry_max_delay(self, value: object) -> None:
        self.task.retry_max_delay = self.duration("retry_max_delay", value)

    def read_timeout(self, value: object) -> None:
        timeout = self.duration("timeout", value)
        if not timeout:
            return  # 0 means no timeout
        self.task.timeout = timeout
        if timeout < MIN_QUIET_TIMEOUT:
            self.warn(f"timeout {format_duration(timeout)} is below 1s")
        elif timeout > MAX_QUIET_TIMEOUT:
            self.warn(f"timeout {format_duration(timeout)} is above 24h")

    def read_kill_grace(self, value: object) -> None:
        self.task.kill_grace = self.duration("kill_grace", value)

    def read_on_failure(self, value: object) -> None:
        self.task.on_failure = self.string("on_failure", value)

    def read_pool(self, value: object) -> None:
        if "pools" in self.table:
            self.error('use either "pool" or "pools", not both')
            return
        problem = check_pool_name(value)
        if problem is not None:
            self.error(f'key "pool": {problem}')
        else:
            assert isinstance(value, str)
            self.task.pools = {value: 1}

    def read_pools(self, value: object) -> None:
        self.task.pools = parse_weights(value, self.error)

    def read_inputs(self, value: object) -> None:
        self.task.inputs = self.patterns("inputs", value)

    def read_outputs(self, value: object) -> None:
        self.task.outputs = self.patterns("outputs", value)

    def patterns(self, key: str, value: object) -> list[str]:
        """A list of glob patterns (docs/caching.md): non-empty strings without NUL bytes."""
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.type_error(key, "an array of glob patterns (strings)")
            return []
        out: list[str] = []
        for item in value:
            if not item.strip():
                self.error(f"key {quote(key)} contains an empty pattern")
            elif "\x00" in item:
                self.error(f"key {quote(key)} contains a NUL byte")
            elif item not in out:
                out.append(item)
        return out

    def retry_warnings(self) -> None:
        """The retry warnings, once every retry key has been read.

        See docs/workflow-files.md#validation.
        """
        task = self.task
        if task.retries > MAX_QUIET_RETRIES:
            self.warn(f"retries = {task.retries} is more than {MAX_QUIET_RETRIES}")
        delay = self.retry_delay
        if delay is None:
            return
        if self.retries_ok and task.retries == 0:
            self.warn("retry_delay is set but retries = 0, so it is never used")
        if 0 < delay < MIN_QUIET_RETRY_DELAY:
            self.warn(f"retry_delay {format_duration(delay)} is below 100ms")
        max_delay = task.retry_max_delay
        if max_delay is not None and max_delay < delay:
            self.warn(
                f"retry_max_delay {format_duration(max_delay)} is less than "
                f"retry_delay {format_duration(delay)}"
            )


_READERS: dict[str, Callable[[_TaskReader, object], None]] = {
    key: getattr(_TaskReader, f"read_{key}") for key in TASK_KEYS
}
