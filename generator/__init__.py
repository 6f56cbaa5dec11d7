"""The generator: turns each deployment file into a synthesized, and when Terraform is present deployed, stack.

``generator.handler.handler`` is the Lambda entry point; ``python -m generator`` the command line.
"""
