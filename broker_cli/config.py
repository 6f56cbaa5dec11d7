"""Profiles: a portal URL and a token under a name, in ``<XDG config dir>/broker/config.json``.

The file is ``{"default": "<name>", "profiles": {"<name>": {"url": ..., "token": ...}}}``, written with
mode 0600 because it holds tokens. ``BROKER_CONFIG`` moves the file; ``BROKER_PROFILE`` picks a profile;
``BROKER_PORTAL_URL`` and ``BROKER_TOKEN`` override (or replace) the chosen profile's values, for CI jobs
that keep their token in a secret variable.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import click
from pydantic import BaseModel, Field, ValidationError

CONFIG_VARIABLE = "BROKER_CONFIG"
PROFILE_VARIABLE = "BROKER_PROFILE"
URL_VARIABLE = "BROKER_PORTAL_URL"
TOKEN_VARIABLE = "BROKER_TOKEN"  # noqa: S105 - the name of a variable, not a secret


class ConfigError(Exception):
    """The configuration is missing, unreadable or does not name the profile asked for."""


class Profile(BaseModel):
    """Where the portal is and the bearer token of the team using it."""

    url: str = Field(pattern=r"^https?://\S+$")
    token: str = Field(min_length=1)


class ConfigFile(BaseModel):
    default: str | None = None
    profiles: dict[str, Profile] = Field(default_factory=dict)


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$BROKER_CONFIG``, else ``config.json`` in the user's config directory (XDG on Linux)."""
    env = os.environ if environ is None else environ
    if env.get(CONFIG_VARIABLE):
        return Path(env[CONFIG_VARIABLE])
    return Path(click.get_app_dir("broker")) / "config.json"


def load(path: Path) -> ConfigFile:
    if not path.exists():
        return ConfigFile()
    try:
        return ConfigFile.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError, ValueError) as error:
        raise ConfigError(f"cannot read the configuration {path}: {error}") from None


def save(path: Path, config: ConfigFile) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(config.model_dump(mode="json"), indent=2) + "\n"
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    temporary.replace(path)


def resolve(path: Path, name: str | None, environ: Mapping[str, str] | None = None) -> tuple[str, Profile]:
    """The profile to use: ``name`` or ``$BROKER_PROFILE`` or the default, with the variables applied."""
    env = os.environ if environ is None else environ
    config = load(path)
    chosen = name or env.get(PROFILE_VARIABLE) or config.default
    base: dict[str, str] = {}
    if chosen is not None:
        profile = config.profiles.get(chosen)
        if profile is None and (name or env.get(PROFILE_VARIABLE)):
            known = ", ".join(sorted(config.profiles)) or "none"
            raise ConfigError(f"no profile {chosen!r} in {path} (profiles: {known})")
        if profile is not None:
            base = profile.model_dump()
    if env.get(URL_VARIABLE):
        base["url"] = env[URL_VARIABLE]
    if env.get(TOKEN_VARIABLE):
        base["token"] = env[TOKEN_VARIABLE]
    if "url" not in base or "token" not in base:
        raise ConfigError(
            f"no portal configured: run 'broker profile add NAME --url URL --token TOKEN' "
            f"(or set {URL_VARIABLE} and {TOKEN_VARIABLE})"
        )
    try:
        return chosen or "(environment)", Profile.model_validate(base)
    except ValidationError as error:
        raise ConfigError(f"invalid profile {chosen!r}: {error.errors()[0]['msg']}") from None
