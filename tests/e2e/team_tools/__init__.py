"""The catalog pages and the ``broker`` command line against the local broker."""
