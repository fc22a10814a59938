"""Documents: the content-addressed store, document records and cached extraction."""
