"""The workflow's ``triggers`` array: declared and validated, never executed.

See docs/workflow-files.md#triggers.
"""

from __future__ import annotations

from wf.dag.cron import cron_problem
from wf.dag.keys import TRIGGER_TABLE, names
from wf.dag.model import Trigger
from wf.dag.report import Report, quote, unknown_key

__all__ = ["REQUIRED_CONFIG", "TRIGGER_KEYS", "parse_triggers"]

TRIGGER_KEYS = names(TRIGGER_TABLE)
REQUIRED_CONFIG = {"cron": "schedule", "file_watch": "path", "webhook": "endpoint"}


def parse_triggers(value: object, report: Report) -> list[Trigger]:
    """Check the ``triggers`` value; return the triggers that have a usable type and config."""
    if not isinstance(value, list):
        report.error('key "triggers" must be an array of tables')
        return []
    triggers = []
    for number, item in enumerate(value, start=1):
        trigger = _parse_trigger(f"trigger {number}", item, report)
        if trigger is not None:
            triggers.append(trigger)
    return triggers


def _parse_trigger(where: str, item: object, report: Report) -> Trigger | None:
    if not isinstance(item, dict):
        report.error(f'{where} must be a table with keys "type" and "config"')
        return None
    for key in item:
        if key not in TRIGGER_KEYS:
            report.error(f"{where}: {unknown_key(key, TRIGGER_KEYS)}")
    kind = item.get("type")
    config = item.get("config", {})
    usable = True
    if kind is None:
        report.error(f'{where}: missing key "type"')
        usable = False
    elif not isinstance(kind, str):
        report.error(f'{where}: key "type" must be a string')
        usable = False
    if not isinstance(config, dict):
        report.error(f'{where}: key "config" must be a table')
        usable = False
    if not usable:
        return None
    assert isinstance(kind, str)
    assert isinstance(config, dict)
    required = REQUIRED_CONFIG.get(kind)
    if required is None:
        known = ", ".join(REQUIRED_CONFIG)
        report.warn(f"{where}: unknown trigger type {quote(kind)} (known: {known})")
    else:
        setting = config.get(required)
        prefix = f"{where} ({kind}): config key {quote(required)}"
        if setting is None:
            report.error(f"{where} ({kind}): missing required config key {quote(required)}")
        elif not isinstance(setting, str):
            report.error(f"{prefix} must be a string")
        elif not setting.strip():
            report.error(f"{prefix} must not be empty")
        elif kind == "cron":
            problem = cron_problem(setting)
            if problem:
                report.error(f"{prefix} is not a valid cron expression: {problem}")
    return Trigger(type=kind, config=dict(config))
