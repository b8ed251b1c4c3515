"""``wf cache``: the records of incremental runs (docs/caching.md)."""

from __future__ import annotations

import click

from wf.cli.context import app_context


@click.group("cache")
def command() -> None:
    """Manage the cache of incremental runs (tasks with inputs and outputs).

    \b
    Examples:
      wf cache clear           # every workflow's records and the file-hash cache
      wf cache clear build     # the records of workflow "build" only
    """


@command.command("clear")
@click.argument("workflow", required=False)
def clear(workflow: str | None) -> int:
    """Forget the cache records of WORKFLOW (a workflow name), or of every workflow.

    Every task with inputs then runs on its next run, and records anew. Without WORKFLOW the
    cached content hashes of files are dropped too.
    """
    store = app_context().store()
    count = store.clear_cache(workflow)
    noun = "record" if count == 1 else "records"
    if workflow is None:
        click.echo(f"Cleared {count} cache {noun} and the file-hash cache")
    else:
        click.echo(f"Cleared {count} cache {noun} of workflow {workflow}")
    return 0
