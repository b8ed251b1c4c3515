"""``wf schema``: print the JSON Schema of workflow files, for editors (docs/schema.md)."""

from __future__ import annotations

from pathlib import Path

import click

from wf.dag.schema import workflow_schema_json
from wf.files import write_shared_file


@click.command("schema")
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the schema to FILE instead of standard output.",
)
def command(output: Path | None) -> int:
    """Print the JSON Schema (draft 2020-12) of workflow files.

    \b
    Save it next to your workflows and point your editor at it, e.g. with
    taplo / Even Better TOML, as the first line of a workflow file:
      #:schema ./wf.schema.json
    """
    text = workflow_schema_json()
    if output is None:
        click.echo(text, nl=False)
        return 0
    try:
        write_shared_file(output, text)
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
    click.echo(f"wrote {output}", err=True)
    return 0
