"""Reusable cdktf constructs of the broker: shared pieces, producers and consumers.

Importing this package first switches the AWS provider to per-resource imports (see ``_provider``).
"""

from modules._provider import install_lazy_provider

install_lazy_provider()
