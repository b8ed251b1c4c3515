"""The local web UI of ``wf ui`` (docs/ui.md): a read-only Starlette app over the SQLite store.

It reads through ``wf.storage`` and the library's views (``wf.inspection``, ``wf.history``,
``wf.rundiff``, ``wf.health``) and never imports the engine (``wf.executor``).
"""

from __future__ import annotations

#: The third-party packages of the ``ui`` extra, imported lazily.
UI_PACKAGES = ("starlette", "uvicorn")
