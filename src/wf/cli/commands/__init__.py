"""One module per wf command; each defines `command`."""
