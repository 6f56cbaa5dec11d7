"""Local mode: the whole broker on loopback, with moto_server standing in for AWS (``make demo``)."""
