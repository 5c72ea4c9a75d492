"""Build steps of the documentation site (make docs)."""
