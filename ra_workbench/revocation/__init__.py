"""Revocation as an RA workflow: requests from the portal or from staff, reviewed like a
dossier (claim, evidence, decide; four eyes for staff-opened requests), revoked through
issuance's one revocation path."""
