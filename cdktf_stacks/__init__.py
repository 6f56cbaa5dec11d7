"""The broker's core stacks, applied once per environment by operators: bootstrap (state) and broker (core).

``python -m cdktf_stacks`` is ``cdktf.json``'s app. The producer and consumer stacks the generator applies
per deployment file are the runtime library ``component_stacks``.

``modules`` is imported first so the AWS provider loads per resource (see ``modules._provider``).
"""

import modules  # noqa: F401  (switches the AWS provider to per-resource imports before any stack module)
