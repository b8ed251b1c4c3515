"""The HTML pages of the web UI, one module per page."""
