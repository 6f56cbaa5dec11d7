"""Helpers for strings that end up in Terraform JSON."""

from __future__ import annotations


def terraform_literal(text: str) -> str:
    """``text`` escaped so Terraform takes it literally: ``${`` -> ``$${``, ``%{`` -> ``%%{``.

    Terraform reads every string argument of a ``.tf.json`` file as a template, and cdktf escapes
    nothing: user-supplied text (a schema, a content filter, a URL, OAuth scopes) would otherwise be
    evaluated by ``terraform plan`` (``${file("...")}`` reads the generator's files) or break it.
    Apply it to user text only, never to a string holding cdktf references.
    """
    return text.replace("${", "$${").replace("%{", "%%{")
