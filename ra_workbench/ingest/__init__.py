"""Ingest: the portal's dossier packages and signature events, from CLI, API or inbox."""
