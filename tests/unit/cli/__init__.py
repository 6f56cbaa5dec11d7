"""Unit tests of the broker command line (no network)."""
