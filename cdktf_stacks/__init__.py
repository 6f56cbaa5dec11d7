"""The broker's cdktf stacks: bootstrap (state), broker (core), producer and consumer.

``modules`` is imported first so the AWS provider loads per resource (see ``modules._provider``).
"""

import modules  # noqa: F401  (switches the AWS provider to per-resource imports before any stack module)
