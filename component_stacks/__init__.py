"""The component stacks: the runtime library the generator builds one producer or consumer stack from.

Applied by the generator, once per deployment file, unlike the core stacks of ``cdktf_stacks`` (applied by
operators). Modules, in the order they import each other (no circle: ``tests/unit/test_import_graph.py``):

- ``hooks``: ``ComponentHooks``, what the generator does around a component's apply; pure data, importable
  without cdktf.
- ``base``: what every component stack shares: AWS provider, S3 state, tags, derived names.
- ``producer`` / ``consumer``: the two kinds of stack, and each one's hooks.
- ``dispatch``: a deployment file to its producer or consumer stack and hooks; the generator's entry.

This package imports nothing on its own, so ``component_stacks.hooks`` stays light; every stack module
imports ``modules`` (which switches the AWS provider to per-resource imports) before any provider class.
"""
