"""Dossiers: the organisation, the people involved, the order and its workflow state."""
