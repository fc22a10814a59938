"""Accounts: staff users, roles and permissions, reference data."""
