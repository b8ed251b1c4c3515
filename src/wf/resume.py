"""Resume: kept for imports of ``wf.resume``; it lives in ``wf.executor.resume``.

See docs/resume.md.
"""

from wf.executor.resume import SelectionError, expand_names, plan_selection, resume_run, split_names

__all__ = ["SelectionError", "expand_names", "plan_selection", "resume_run", "split_names"]
