"""Supervision: the dashboard, the overrides awaiting a second approval, the quality review
of a random sample of approvals, and the failed-jobs screen."""
