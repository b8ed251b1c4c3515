"""``wf audit`` (docs/cli.md#wf-audit): the TIME EVENT DATA table, JSON array, --type filter."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from wf.cli.commands.audit import render_audit
from wf.storage import AuditEntry, Run


def test_text_table_lists_events_in_order(wf, flow_run):
    code, out, _ = wf("audit", flow_run)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("TIME")
    assert "  EVENT" in lines[0]
    assert lines[0].endswith("  DATA")
    events = [line.split()[1] for line in lines[1:]]
    assert events[0] == "run_started"
    assert events[-1] == "run_completed"
    assert "forensic_trap_fired" in events
    assert '{"workflow":"flow","mode":"sequential","max_parallel":1,"tags":["nightly"]}' in out
    # local HH:MM:SS.mmm
    stamp = lines[1].split()[0]
    assert len(stamp) == 12
    assert stamp[2] == stamp[5] == ":"
    assert stamp[8] == "."


def test_json_is_an_array_with_parsed_event_data(wf, flow_run):
    code, out, _ = wf("audit", flow_run, "--json")
    assert code == 0
    entries = json.loads(out)
    assert all(
        set(e) == {"id", "run_id", "event_type", "event_data", "created_at"} for e in entries
    )
    assert entries[0]["event_type"] == "run_started"
    assert entries[0]["event_data"]["tags"] == ["nightly"]
    assert all(e["run_id"] == flow_run for e in entries)
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids)


def test_type_filter_keeps_only_that_event_type(wf, flow_run):
    code, out, _ = wf("audit", flow_run, "--type", "task_failed", "-j")
    assert code == 0
    (entry,) = json.loads(out)
    assert entry["event_type"] == "task_failed"
    assert entry["event_data"] == {
        "task_id": "build",
        "attempts": 1,
        "error": "exit status 3",
        "ignored": False,
    }
    text = wf("audit", flow_run, "--type", "task_started").out
    assert [line.split()[1] for line in text.splitlines()[1:]] == ["task_started"] * 3


def test_filter_without_matches_prints_the_empty_marker(wf, flow_run):
    code, out, _ = wf("audit", flow_run, "--type", "run_resumed")
    assert code == 0
    assert out.startswith("No audit events recorded for this run.")
    assert json.loads(wf("audit", flow_run, "--type", "run_resumed", "-j").out) == []


def test_unknown_event_type_is_a_usage_error(wf, flow_run):
    code, _, err = wf("audit", flow_run, "--type", "task_exploded")
    assert code == 2
    assert "invalid event type: task_exploded" in err


def test_run_without_events_prints_the_marker(wf, store):
    run_id = store.create_run(Run(workflow_name="w", workflow_file="/w.toml"))
    code, out, _ = wf("audit", run_id[:10])
    assert code == 0
    assert out == "No audit events recorded for this run.\n"


def test_unparsable_event_data_is_kept_as_the_stored_string(wf, store):
    run_id = store.create_run(Run(workflow_name="w", workflow_file="/w.toml"))
    store.create_audit_entry(run_id, "run_started", "not json {")
    assert json.loads(wf("audit", run_id, "-j").out)[0]["event_data"] == "not json {"
    assert wf("audit", run_id).out.splitlines()[1].endswith("run_started  not json {")


def test_unknown_run_exits_1(wf, flow_run):
    code, _, err = wf("audit", "nope", "-j")
    assert code == 1
    assert "run not found: nope" in err


# -- rendering ---------------------------------------------------------------------------

T0 = datetime(2026, 3, 13, 9, 15, 2, 123456, tzinfo=UTC)


def hand_built() -> list[AuditEntry]:
    data = [
        ("run_started", '{"workflow": "site-release", "mode": "parallel", "tags": []}'),
        ("task_started", '{"task_id":"build","task_name":"Build site","attempt":1}'),
        ("task_failed", '{"task_id":"build","attempts":3,"error":"exit status 2","ignored":false}'),
        (
            "run_completed",
            '{"status":"failed","duration_ms":75400,"error":"task build failed after 3 '
            'attempt(s): exit status 2","failed_task":"build"}',
        ),
    ]
    return [
        AuditEntry(i, "R" * 27, kind, text, T0 + timedelta(milliseconds=1500 * i))
        for i, (kind, text) in enumerate(data, 1)
    ]


def test_rendered_table_matches_snapshot(snapshot):
    snapshot("audit.txt", render_audit(hand_built()))


def test_rendered_table_wraps_long_data_at_80_columns(snapshot):
    text = render_audit(hand_built(), width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    snapshot("audit_80.txt", text)


def test_wrapping_breaks_after_commas_and_drops_nothing():
    from wf.cli.commands.audit import wrap_data

    data = '{"a":"' + "x" * 30 + '","b":2,"c":"y y y"}'
    pieces = wrap_data(data, 20)
    assert "".join(pieces) == data
    assert all(len(p) <= 20 for p in pieces)
    assert pieces[1].endswith(",")
