"""Crash-safety tests of the append-only file (a package, so that its conftest
does not shadow tests/integration/conftest.py when both run in one session)."""
