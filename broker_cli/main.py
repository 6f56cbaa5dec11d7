"""``broker``: register events, subscribe and follow deployments from a terminal, through the portal's API.

Tables by default, ``--json`` for scripts (the portal's answer as it sent it). Errors are printed as the
portal words them, on stderr, and the exit code tells scripts what happened:

====  ==========================================================================================
0     done
1     a negative answer: the deployment failed, the event is invalid, the change is breaking
      (``events diff --fail-on-breaking``)
2     wrong usage of the command line (unknown option, missing argument)
3     local problem: no profile configured, unreadable file or JSON
4     the portal refused the input (400)
5     not authenticated or not allowed (401, 403)
6     not found (404), or the portal does not offer that endpoint
7     conflict (409): exists already, changed concurrently, still has subscriptions
8     the portal cannot be reached or failed (5xx)
9     ``deployments watch`` timed out before the deployment settled
====  ==========================================================================================
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from broker_cli import config as profiles
from broker_cli.client import PortalClient, PortalError, Unreachable
from broker_cli.diff import field_changes
from broker_cli.portal_models import DeploymentRecord, DeploymentStatus

P = ParamSpec("P")
R = TypeVar("R")


class Exit(IntEnum):
    """Exit codes (see the module docstring)."""

    OK = 0
    NEGATIVE = 1
    USAGE = 2
    LOCAL = 3
    INVALID = 4
    DENIED = 5
    NOT_FOUND = 6
    CONFLICT = 7
    PORTAL = 8
    TIMEOUT = 9


class LocalError(Exception):
    """A problem on this side: a file, a JSON text, an option combination."""


EPILOG = (
    "Exit codes: 0 done; 1 negative answer (failed deployment, invalid event, breaking change); 2 usage; "
    "3 local problem (profile, file); 4 invalid input (400); 5 not authenticated/allowed (401/403); "
    "6 not found (404); 7 conflict (409); 8 portal unreachable or failing (5xx); 9 watch timed out."
)

app = typer.Typer(
    name="broker",
    help="The event broker from a terminal: events, subscriptions and deployments through the portal API.",
    epilog=EPILOG,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
events_app = typer.Typer(help="Register, read, change and delete event types.", no_args_is_help=True)
subscriptions_app = typer.Typer(help="Your subscriptions: list, read, change, delete.", no_args_is_help=True)
deployments_app = typer.Typer(help="Follow what the generator does with a change.", no_args_is_help=True)
profile_app = typer.Typer(help="Portal URLs and tokens, by name.", no_args_is_help=True)
app.add_typer(events_app, name="events")
app.add_typer(subscriptions_app, name="subscriptions")
app.add_typer(deployments_app, name="deployments")
app.add_typer(profile_app, name="profile")

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)

JsonFlag = Annotated[bool, typer.Option("--json", help="print the portal's JSON answer instead of a table")]
STATUS_STYLE = {"failed": "bold red", "deployed": "green", "destroyed": "green", "synthesized": "cyan"}


# --- plumbing -------------------------------------------------------------------------------------


def _exit_for(error: PortalError) -> Exit:
    if error.unavailable:
        return Exit.NOT_FOUND
    return {400: Exit.INVALID, 401: Exit.DENIED, 403: Exit.DENIED, 404: Exit.NOT_FOUND, 409: Exit.CONFLICT}.get(
        error.status, Exit.PORTAL if error.status >= 500 else Exit.INVALID
    )


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Print a failure as the portal (or this side) words it, and exit with its documented code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except PortalError as error:
            if error.unavailable:
                # the gateway's own wording may quote the Authorization header: never print it
                err.print(f"error: this portal does not offer that endpoint (HTTP {error.status} from its gateway)")
            else:
                err.print(f"error: {error.message}", markup=False)
                for detail in error.details:
                    err.print(f"  {detail.get('field')}: {detail.get('rule')}", markup=False)
            raise typer.Exit(_exit_for(error)) from None
        except Unreachable as error:
            err.print(f"error: {error}", markup=False)
            raise typer.Exit(Exit.PORTAL) from None
        except (profiles.ConfigError, LocalError) as error:
            err.print(f"error: {error}", markup=False)
            raise typer.Exit(Exit.LOCAL) from None

    return wrapper


@app.callback()
def main(
    ctx: typer.Context,
    *,
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="profile to use (default: $BROKER_PROFILE, then the default)")
    ] = None,
) -> None:
    """Global options."""
    ctx.obj = {**(ctx.obj or {}), "profile": profile}


@contextmanager
def portal(ctx: typer.Context) -> Iterator[PortalClient]:
    _, chosen = profiles.resolve(profiles.config_path(), (ctx.obj or {}).get("profile"))
    # tests hand in an httpx transport (a fake of routes a portal does not have yet) through ctx.obj
    client = PortalClient(chosen.url, chosen.token, transport=(ctx.obj or {}).get("transport"))
    try:
        yield client
    finally:
        client.close()


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, sort_keys=False))


def read_json(source: str, what: str) -> Any:
    """JSON from a file path, ``-`` (stdin) or, when it starts with ``{``, the text itself."""
    try:
        if source == "-":
            text = sys.stdin.read()
        elif source.lstrip().startswith(("{", "[")):
            text = source
        else:
            text = Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise LocalError(f"cannot read {what} from {source}: {error.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as error:
        raise LocalError(f"{what} is not valid JSON: {error}") from None


def read_object(source: str, what: str) -> dict[str, Any]:
    value = read_json(source, what)
    if not isinstance(value, dict):
        raise LocalError(f"{what} must be a JSON object")
    return value


#: identifiers are copied into the next command: never wrapped
UNWRAPPED = {"Subscription", "Deployment", "Event type", "Version", "Status", "Profile"}


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> Table:
    grid = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        grid.add_column(column, overflow="fold", no_wrap=column in UNWRAPPED)
    for row in rows:
        grid.add_row(*(cell if isinstance(cell, Text) else Text("" if cell is None else str(cell)) for cell in row))
    return grid


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, "yellow"))


def verdict_text(compatible: bool | None) -> Text:
    if compatible is True:
        return Text("compatible", style="green")
    if compatible is False:
        return Text("breaking", style="bold red")
    return Text("unknown", style="yellow")


# --- profiles -------------------------------------------------------------------------------------


@profile_app.command("add")
@handles_errors
def profile_add(
    name: str,
    url: Annotated[str, typer.Option(help="portal URL, e.g. http://127.0.0.1:8000")],
    token: Annotated[str, typer.Option(help="your team's bearer token", prompt=True, hide_input=True)],
    default: Annotated[bool, typer.Option("--default", help="make it the default profile")] = False,
) -> None:
    """Save (or replace) a profile; the first one becomes the default."""
    path = profiles.config_path()
    current = profiles.load(path)
    try:
        current.profiles[name] = profiles.Profile(url=url, token=token)
    except ValueError as error:
        raise LocalError(f"invalid profile: {error}") from None
    if default or current.default is None:
        current.default = name
    profiles.save(path, current)
    out.print(f"profile {name} saved in {path}" + (" (default)" if current.default == name else ""))


@profile_app.command("list")
@handles_errors
def profile_list(as_json: JsonFlag = False) -> None:
    """The saved profiles (tokens are not shown)."""
    current = profiles.load(profiles.config_path())
    listed = [
        {"name": name, "url": item.url, "default": name == current.default}
        for name, item in sorted(current.profiles.items())
    ]
    if as_json:
        emit_json(listed)
        return
    out.print(
        table(
            None,
            ["Profile", "Portal URL", "Default"],
            [[i["name"], i["url"], "*" if i["default"] else ""] for i in listed],
        )
    )


@profile_app.command("use")
@handles_errors
def profile_use(name: str) -> None:
    """Make a saved profile the default."""
    path = profiles.config_path()
    current = profiles.load(path)
    if name not in current.profiles:
        raise profiles.ConfigError(f"no profile {name!r} in {path}")
    current.default = name
    profiles.save(path, current)
    out.print(f"default profile: {name}")


@profile_app.command("remove")
@handles_errors
def profile_remove(name: str) -> None:
    """Forget a profile."""
    path = profiles.config_path()
    current = profiles.load(path)
    if current.profiles.pop(name, None) is None:
        raise profiles.ConfigError(f"no profile {name!r} in {path}")
    if current.default == name:
        current.default = next(iter(sorted(current.profiles)), None)
    profiles.save(path, current)
    out.print(f"profile {name} removed")


# --- events ---------------------------------------------------------------------------------------


@events_app.command("list")
@handles_errors
def events_list(
    ctx: typer.Context,
    *,
    application: Annotated[str | None, typer.Option(help="only this producing application")] = None,
    owner: Annotated[str | None, typer.Option(help="only events this team owns")] = None,
    limit: Annotated[int | None, typer.Option(help="page size (1-100)")] = None,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page")] = None,
    all_pages: Annotated[bool, typer.Option("--all", help="follow next_cursor to the last page")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List event types, one page at a time (or all with --all)."""
    with portal(ctx) as client:
        reply = client.list_events(application, owner, limit, cursor)
        items, raw_items, next_cursor = list(reply.model.items), list(reply.raw["items"]), reply.model.next_cursor
        while all_pages and next_cursor:
            reply = client.list_events(application, owner, limit, next_cursor)
            items += reply.model.items
            raw_items += reply.raw["items"]
            next_cursor = reply.model.next_cursor
    if as_json:
        emit_json({"items": raw_items, "next_cursor": next_cursor})
        return
    rows = [
        [
            item.event_type,
            item.application,
            item.owner,
            item.connection_type.value,
            f"v{item.latest_version}",
            item.description,
        ]
        for item in items
    ]
    out.print(table(None, ["Event type", "Application", "Owner", "Connection", "Latest", "Description"], rows))
    if next_cursor:
        out.print(f"more: broker events list --cursor {next_cursor}  (or --all)")


@events_app.command("show")
@handles_errors
def events_show(
    ctx: typer.Context,
    *,
    event_type: str,
    version: Annotated[int | None, typer.Option(help="show this version's schema")] = None,
    as_json: JsonFlag = False,
) -> None:
    """An event type and its versions, or (with --version) one version and its schema."""
    with portal(ctx) as client:
        if version is not None:
            detail = client.version(event_type, version)
            if as_json:
                emit_json(detail.raw)
                return
            model = detail.model
            out.print(f"[bold]{model.event_type}[/] v{model.version}  detail type {model.detail_type}")
            if model.producer_endpoint_path:
                out.print(f"producers POST to {model.producer_endpoint_path} on the producer API")
            out.print(f"deployment {model.deployment_id}; {model.subscription_count} subscription(s)")
            out.print_json(json.dumps(model.data_schema))
            return
        reply = client.event(event_type)
    if as_json:
        emit_json(reply.raw)
        return
    event = reply.model
    out.print(
        f"[bold]{event.event_type}[/] ({event.connection_type.value}) by {event.application}, owner {event.owner}"
    )
    if event.description:
        out.print(event.description, markup=False)
    raw_versions = {item["version"]: item for item in reply.raw.get("versions", [])}
    rows = []
    for item in event.versions:
        compatibility = (raw_versions.get(item.version) or {}).get("compatibility") or {}
        verdict = (compatibility.get("backward") or {}).get("compatible", item.backward_compatible)
        rows.append(
            [
                f"v{item.version}",
                item.created_at.strftime("%Y-%m-%d %H:%M"),
                item.created_by,
                item.subscription_count,
                "-" if item.version == 1 else verdict_text(verdict),
                item.deployment_id,
            ]
        )
    out.print(table("Versions", ["Version", "Created", "By", "Subscriptions", "Compatible", "Deployment"], rows))


@events_app.command("create")
@handles_errors
def events_create(
    ctx: typer.Context,
    *,
    schema_file: Annotated[str, typer.Option("-f", "--file", help="JSON Schema (draft-04) of the data; - for stdin")],
    event_type: Annotated[str, typer.Option("--event-type", "-e", help="name of the new event type")],
    application: Annotated[str, typer.Option("--application", "-a", help="producing application (the source)")],
    connection_type: Annotated[str, typer.Option("--connection-type", "-c", help="HTTPS or SQS")] = "HTTPS",
    description: Annotated[str, typer.Option(help="what the event means")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Register a new event type (version 1)."""
    body = {
        "application": application,
        "event_type": event_type,
        "description": description,
        "connection_type": connection_type,
        "data": read_object(schema_file, "the data schema"),
    }
    with portal(ctx) as client:
        reply = client.create_event(body)
    _show_change(reply.raw, reply.model.version, reply.model.deployment_id, reply.model.producer_endpoint_path, as_json)


def _show_change(raw: Any, version: int, deployment_id: str | None, endpoint: str | None, as_json: bool) -> None:
    if as_json:
        emit_json(raw)
        return
    created = raw.get("version_created", True)
    out.print(f"{raw['event']['event_type']} v{version} " + ("created" if created else "unchanged (description only)"))
    if endpoint:
        out.print(f"producers send to {endpoint}")
    problems = raw.get("compatibility_problems") or []
    if raw.get("backward_compatible") is False:
        out.print(Text("not backward compatible with the previous version:", style="bold red"))
    for problem in problems:
        out.print(f"  - {problem}", markup=False)
    if deployment_id:
        out.print(f"deployment {deployment_id}: broker deployments watch {deployment_id}")


@events_app.command("update")
@handles_errors
def events_update(
    ctx: typer.Context,
    *,
    event_type: str,
    schema_file: Annotated[
        str | None, typer.Option("-f", "--file", help="new data schema (creates the next version)")
    ] = None,
    description: Annotated[str | None, typer.Option(help="new description")] = None,
    if_match: Annotated[int | None, typer.Option(help="refuse unless the event is at this revision")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change the description and/or the schema (a new schema becomes the next version)."""
    body: dict[str, Any] = {}
    if description is not None:
        body["description"] = description
    if schema_file is not None:
        body["data"] = read_object(schema_file, "the data schema")
    if not body:
        raise LocalError("give --file, --description or both")
    with portal(ctx) as client:
        reply = client.update_event(event_type, body, if_match)
    _show_change(reply.raw, reply.model.version, reply.model.deployment_id, reply.model.producer_endpoint_path, as_json)


@events_app.command("delete")
@handles_errors
def events_delete(
    ctx: typer.Context,
    *,
    event_type: str,
    version: Annotated[int | None, typer.Option(help="delete only this version")] = None,
    force: Annotated[bool, typer.Option("--force", help="also remove the subscriptions (theirs too)")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Delete an event type or one version; refused while subscriptions exist unless --force."""
    with portal(ctx) as client:
        reply = client.delete_event(event_type, version, force)
    if as_json:
        emit_json(reply.raw)
        return
    removal = reply.model
    out.print(f"deleted {removal.event_type} version(s) {', '.join(f'v{n}' for n in removal.versions)}")
    for subscription_id in removal.removed_subscriptions:
        out.print(f"  removed subscription {subscription_id}")
    for deployment_id in removal.deployment_ids:
        out.print(f"  teardown deployment {deployment_id}")


@events_app.command("diff")
@handles_errors
def events_diff(
    ctx: typer.Context,
    *,
    event_type: str,
    start: Annotated[int, typer.Argument(metavar="FROM")],
    end: Annotated[int, typer.Argument(metavar="TO")],
    fail_on_breaking: Annotated[bool, typer.Option(help="exit 1 unless backward compatible")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Compare two versions: the compatibility verdict and the fields added, removed or changed."""
    with portal(ctx) as client:
        try:
            answer = client.diff(event_type, start, end)
        except PortalError as error:
            if not error.unavailable:
                raise
            answer = _local_diff(client, event_type, start, end)
    changes = field_changes(answer.get("from_schema"), answer.get("to_schema"))
    backward = (answer.get("backward") or {}).get("compatible")
    if as_json:
        emit_json({**answer, "changes": [change.__dict__ for change in changes]})
    else:
        forward = answer.get("forward")
        line = Text(f"{event_type} v{start} -> v{end}: backward ")
        line.append_text(verdict_text(backward))
        if forward:
            line.append(" forward ")
            line.append_text(verdict_text(forward.get("compatible")))
        if answer.get("mode"):
            line.append(f" (mode {answer['mode']})")
        if answer.get("computed_locally"):
            line.append(" (this portal has no diff endpoint: compared here)", style="dim")
        out.print(line)
        for side in ("backward", "forward"):
            for problem in (answer.get(side) or {}).get("problems") or []:
                out.print(f"  {side}: {problem.get('pointer') or ''} {problem.get('message')}", markup=False)
        style = {"added": "green", "removed": "red", "changed": "yellow"}
        rows = [[Text(change.kind, style=style[change.kind]), change.path, change.detail] for change in changes]
        out.print(
            table(None, ["Change", "Field", "Detail"], rows) if rows else "the data schemas declare the same fields"
        )
    if fail_on_breaking and backward is not True:
        raise typer.Exit(Exit.NEGATIVE)


def _local_diff(client: PortalClient, event_type: str, start: int, end: int) -> dict[str, Any]:
    """The diff answer's shape from two versions, for a portal without ``GET .../diff``."""
    before = client.version(event_type, start).model
    after = client.version(event_type, end).model
    verdict: bool | None = None
    problems: list[dict[str, str]] = []
    if end == start + 1:
        newer = next((item for item in client.event(event_type).model.versions if item.version == end), None)
        if newer is not None:
            verdict = newer.backward_compatible
            problems = [{"pointer": "", "message": problem} for problem in newer.compatibility_problems]
    if start == end:
        verdict = True
    return {
        "event_type": event_type,
        "from": start,
        "to": end,
        "mode": None,
        "backward": {"compatible": verdict, "problems": problems},
        "forward": None,
        "from_schema": before.data_schema,
        "to_schema": after.data_schema,
        "computed_locally": True,
    }


@events_app.command("subscriptions")
@handles_errors
def events_subscriptions(ctx: typer.Context, event_type: str, as_json: JsonFlag = False) -> None:
    """The subscriptions of an event you own, with their deployment status."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    with portal(ctx) as client:
        while True:
            page = client.event_subscriptions(event_type, 100, cursor)
            items += page.get("items", [])
            cursor = page.get("next_cursor")
            if not cursor:
                break
    if as_json:
        emit_json({"items": items, "next_cursor": None})
        return
    rows = [
        [
            i["subscription_id"],
            i["team"],
            i["target_unit"],
            i["connection_type"],
            f"v{i['version']}",
            status_text(str(i.get("deployment_status"))),
            i.get("deployment_id"),
        ]
        for i in items
    ]
    out.print(
        table(None, ["Subscription", "Team", "Target unit", "Connection", "Version", "Status", "Deployment"], rows)
    )


# --- subscriptions --------------------------------------------------------------------------------


@app.command("subscribe")
@handles_errors
def subscribe(
    ctx: typer.Context,
    *,
    event_type: str,
    version: Annotated[int, typer.Option(help="event version to receive")],
    target_unit: Annotated[str, typer.Option(help="matched against metadata.event_attributes.target")],
    connection_type: Annotated[str, typer.Option("--connection-type", "-c", help="LAMBDA, SQS or HTTPS")],
    to: Annotated[str, typer.Option("--to", help="Lambda ARN, SQS queue ARN or https URL")],
    content_filter: Annotated[
        str | None, typer.Option("--filter", help="EventBridge pattern on data fields: JSON text or a file")
    ] = None,
    auth: Annotated[str | None, typer.Option(help="HTTPS only: auth object (JSON text or file)")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Subscribe your team to one event version."""
    body: dict[str, Any] = {
        "event_type": event_type,
        "version": version,
        "target_unit": target_unit,
        "connection_type": connection_type,
        "connection_string": to,
    }
    if content_filter is not None:
        body["content_filter"] = read_object(content_filter, "the content filter")
    if auth is not None:
        body["auth"] = read_object(auth, "the auth object")
    with portal(ctx) as client:
        reply = client.subscribe(body)
    if as_json:
        emit_json(reply.raw)
        return
    created = reply.model
    out.print(f"subscription {created.subscription_id} to {created.event_type} v{created.version} created")
    out.print(f"deployment {created.deployment_id}: broker deployments watch {created.deployment_id}")


@subscriptions_app.command("list")
@handles_errors
def subscriptions_list(
    ctx: typer.Context,
    *,
    limit: Annotated[int | None, typer.Option(help="page size (1-100)")] = None,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Your team's subscriptions."""
    with portal(ctx) as client:
        reply = client.list_subscriptions(limit, cursor)
    if as_json:
        emit_json(reply.raw)
        return
    rows = [
        [
            item.subscription_id,
            f"{item.event_type} v{item.version}",
            item.target_unit,
            item.connection_type.value,
            item.connection_string,
            item.deployment_id,
        ]
        for item in reply.model.items
    ]
    out.print(table(None, ["Subscription", "Event", "Target unit", "Connection", "Delivers to", "Deployment"], rows))
    if reply.model.next_cursor:
        out.print(f"more: broker subscriptions list --cursor {reply.model.next_cursor}")


@subscriptions_app.command("show")
@handles_errors
def subscriptions_show(ctx: typer.Context, subscription_id: str, as_json: JsonFlag = False) -> None:
    """One subscription with its deployment status and what to do for events to arrive."""
    with portal(ctx) as client:
        reply = client.subscription(subscription_id)
    if as_json:
        emit_json(reply.raw)
        return
    item = reply.model
    facts = table(
        None,
        ["", ""],
        [
            ["subscription", item.subscription_id],
            ["event", f"{item.event_type} v{item.version}"],
            ["team / target unit", f"{item.team} / {item.target_unit}"],
            ["delivers to", f"{item.connection_type.value} {item.connection_string}"],
            ["content filter", json.dumps(item.content_filter) if item.content_filter else "-"],
            ["deployment", item.deployment_id],
            ["status", status_text(item.deployment_status.value)],
        ],
    )
    facts.show_header = False
    out.print(facts)
    if item.error:
        err.print(f"deployment error: {item.error}", markup=False)
    if item.instructions:
        out.print(item.instructions, markup=False)


@subscriptions_app.command("update")
@handles_errors
def subscriptions_update(
    ctx: typer.Context,
    *,
    subscription_id: str,
    content_filter: Annotated[
        str | None, typer.Option("--filter", help="new content filter (JSON text or file)")
    ] = None,
    retry_attempts: Annotated[int | None, typer.Option(help="delivery retries")] = None,
    maximum_event_age_seconds: Annotated[int | None, typer.Option(help="give up on an event after this age")] = None,
    manage_queue_policy: Annotated[
        bool | None, typer.Option("--manage-queue-policy/--no-manage-queue-policy", help="SQS: broker sets the policy")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change a subscription's filter or delivery settings (a new deployment)."""
    body: dict[str, Any] = {}
    if content_filter is not None:
        body["content_filter"] = read_object(content_filter, "the content filter")
    for key, value in (
        ("retry_attempts", retry_attempts),
        ("maximum_event_age_seconds", maximum_event_age_seconds),
        ("manage_queue_policy", manage_queue_policy),
    ):
        if value is not None:
            body[key] = value
    if not body:
        raise LocalError(
            "give at least one of --filter, --retry-attempts, --maximum-event-age-seconds, --manage-queue-policy"
        )
    with portal(ctx) as client:
        answer = client.update_subscription(subscription_id, body)
    if as_json:
        emit_json(answer)
        return
    out.print(f"subscription {subscription_id} updated")
    if answer.get("deployment_id"):
        out.print(f"deployment {answer['deployment_id']}: broker deployments watch {answer['deployment_id']}")


@subscriptions_app.command("delete")
@handles_errors
def subscriptions_delete(ctx: typer.Context, subscription_id: str, as_json: JsonFlag = False) -> None:
    """Delete a subscription (its rule is torn down by a new deployment)."""
    with portal(ctx) as client:
        answer = client.delete_subscription(subscription_id)
    if as_json:
        emit_json(answer)
        return
    out.print(f"subscription {subscription_id} deleted; teardown deployment {answer.get('deployment_id')}")


@subscriptions_app.command("replay")
@handles_errors
def subscriptions_replay(
    ctx: typer.Context,
    *,
    subscription_id: str,
    start: Annotated[str | None, typer.Option(help="ISO 8601 start of the window (e.g. 2026-01-01T00:00:00Z)")] = None,
    end: Annotated[str | None, typer.Option(help="ISO 8601 end of the window")] = None,
    status_of: Annotated[str | None, typer.Option("--status", help="show the state of this replay instead")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Deliver the archived events of a time window to this subscription again (or show a replay's state)."""
    with portal(ctx) as client:
        if status_of is not None:
            answer = client.replay_state(subscription_id, status_of)
        elif start is None or end is None:
            raise LocalError("give --start and --end (or --status REPLAY_NAME)")
        else:
            answer = client.replay(subscription_id, start, end)
    if as_json:
        emit_json(answer)
        return
    out.print(f"replay {answer.get('replay_name')}: {answer.get('state')}", markup=False)


@subscriptions_app.command("dead-letters")
@handles_errors
def subscriptions_dead_letters(
    ctx: typer.Context,
    *,
    subscription_id: str,
    sample: Annotated[int | None, typer.Option(help="how many messages to show")] = None,
    redrive: Annotated[bool, typer.Option("--redrive", help="move them back for delivery")] = False,
    as_json: JsonFlag = False,
) -> None:
    """The events that could not be delivered to this subscription; --redrive sends them again."""
    with portal(ctx) as client:
        answer = client.redrive(subscription_id) if redrive else client.dead_letters(subscription_id, sample)
    if as_json:
        emit_json(answer)
        return
    if redrive:
        out.print(f"moved {answer.get('moved')} message(s) back for delivery")
        return
    out.print(f"{answer.get('count')} message(s) in {answer.get('queue_url')}", markup=False)
    for message in answer.get("sample") or []:
        out.print(json.dumps(message), markup=False)


# --- deployments ----------------------------------------------------------------------------------


def _deployment_view(record: DeploymentRecord) -> Table:
    rows: list[list[Any]] = [
        [change.at.strftime("%H:%M:%S"), status_text(change.status.value), change.detail or ""]
        for change in record.history
    ]
    title = f"{record.deployment_id}  {record.kind} {record.action.value} {record.event_type} v{record.version}"
    return table(title, ["At", "Status", "Detail"], rows)


@deployments_app.command("show")
@handles_errors
def deployments_show(
    ctx: typer.Context,
    *,
    deployment_id: str,
    terraform: Annotated[bool, typer.Option("--terraform", help="print the generated Terraform JSON")] = False,
    as_json: JsonFlag = False,
) -> None:
    """A deployment: its status history, error, outputs (or its Terraform with --terraform)."""
    with portal(ctx) as client:
        if terraform:
            emit_json(client.terraform(deployment_id))
            return
        reply = client.deployment(deployment_id)
    if as_json:
        emit_json(reply.raw)
        return
    record = reply.model
    out.print(_deployment_view(record))
    out.print(Text("status ").append_text(status_text(record.status.value)))
    for key, value in record.outputs.items():
        out.print(f"{key}: {value}", markup=False)
    if record.instructions:
        out.print(record.instructions, markup=False)
    if record.error:
        err.print(f"error: {record.error}", markup=False)


@deployments_app.command("watch")
@handles_errors
def deployments_watch(
    ctx: typer.Context,
    *,
    deployment_id: str,
    timeout: Annotated[float, typer.Option(help="give up after this many seconds (exit 9)")] = 900.0,
    interval: Annotated[float, typer.Option(help="seconds between two reads")] = 2.0,
    until: Annotated[
        str | None, typer.Option(help="also stop at this status (e.g. synthesized where terraform does not run)")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Follow a deployment until it is deployed, destroyed, superseded or failed (exit 1 when failed)."""
    if until is not None and until not in {status.value for status in DeploymentStatus}:
        raise LocalError(f"--until must be one of {', '.join(status.value for status in DeploymentStatus)}")
    deadline = time.monotonic() + timeout

    def settled(record: DeploymentRecord) -> bool:
        return record.status.is_final or record.status.value == until

    with portal(ctx) as client:
        reply = client.deployment(deployment_id)
        if as_json or not out.is_terminal:
            while not settled(reply.model) and time.monotonic() < deadline:
                time.sleep(interval)
                reply = client.deployment(deployment_id)
        else:
            spinner = Spinner("dots", text=f"{deployment_id}: {reply.model.status.value}")
            with Live(spinner, console=out, transient=True, refresh_per_second=8):
                while not settled(reply.model) and time.monotonic() < deadline:
                    time.sleep(interval)
                    reply = client.deployment(deployment_id)
                    spinner.update(text=f"{deployment_id}: {reply.model.status.value}")
    record = reply.model
    if as_json:
        emit_json(reply.raw)
    else:
        out.print(_deployment_view(record))
        if record.error:
            err.print(f"error: {record.error}", markup=False)
    if record.status is DeploymentStatus.FAILED:
        raise typer.Exit(Exit.NEGATIVE)
    if not settled(record):
        err.print(f"still {record.status.value} after {timeout:g} s")
        raise typer.Exit(Exit.TIMEOUT)


# --- test an event --------------------------------------------------------------------------------


@app.command("test-event")
@handles_errors
def test_event(
    ctx: typer.Context,
    *,
    event_type: str,
    envelope_file: Annotated[str, typer.Option("-f", "--file", help="the sample envelope (JSON file, text or -)")],
    version: Annotated[int | None, typer.Option(help="version to test against (default: the latest)")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check a sample event against a version's schema and see which subscriptions it reaches (exit 1: invalid)."""
    envelope = read_object(envelope_file, "the envelope")
    with portal(ctx) as client:
        number = version if version is not None else client.event(event_type).model.latest_version
        answer = client.test_event(event_type, number, envelope)
    if as_json:
        emit_json(answer)
    else:
        valid = bool(answer.get("valid"))
        out.print(
            Text(f"{event_type} v{number}: ").append("valid" if valid else "invalid", "green" if valid else "bold red")
        )
        for problem in answer.get("errors") or []:
            out.print(f"  {problem.get('field')}: {problem.get('rule')}", markup=False)
        matches = answer.get("matches") or []
        rows = [
            [m.get("subscription_id"), m.get("team"), m.get("target_unit"), m.get("connection_type")] for m in matches
        ]
        out.print(
            table(
                f"Reaches {len(matches)} subscription(s)", ["Subscription", "Team", "Target unit", "Connection"], rows
            )
        )
    if not answer.get("valid"):
        raise typer.Exit(Exit.NEGATIVE)


def run() -> None:
    """Console-script entry point."""
    app()
