"""What the ordering portal talks to: its API (packages, signatures) and the status it reads."""
