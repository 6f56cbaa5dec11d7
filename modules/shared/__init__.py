"""Constructs shared by the core, producer and consumer stacks."""
