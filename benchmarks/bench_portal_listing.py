"""Median latency of ``GET /events?limit=50`` with 100 and with 10,000 events in the catalog, in one run.

The portal lists with one DynamoDB ``Query`` on the ``by-listing`` index with ``Limit`` (never a Scan), so
DynamoDB reads one page whatever the size of the table. Offline, DynamoDB is moto, whose ``Query`` walks
and sorts EVERY item of the table on every call (``moto/dynamodb/models/table.py`` ``Table.query``:
``for item in self.all_items()``): moto's cost grows with the table, DynamoDB's does not. So the script
measures the same portal, through Chalice's test client, over two stand-ins and prints both rows:

(a) plain moto: honest about moto, but its ratio measures moto's in-memory scan, not the portal;
(b) moto whose Query on the listing index is answered from a partition-sorted index built from the same
    items (``PartitionIndexedQuery`` below): a binary search to the start key, then one page, i.e.
    DynamoDB's cost model. Every other call still goes to moto. Before timing, the script walks the
    whole listing through (a) and (b) and checks that every page (Items, Count, ScannedCount,
    LastEvaluatedKey) is identical, and that the portal's answers are identical, so (b) is proven
    faithful on this path. The target (ratio <= 1.5) applies to (b). (b) also skips botocore's and
    moto's serialization of the page (about 50 ms per page with moto 5.2.5, a network round trip with
    DynamoDB): a cost per page, not per table item, so leaving it out makes (b)'s ratio stricter,
    and (b)'s milliseconds are the portal's own work.

For both rows it prints what DynamoDB read per request (ScannedCount, items): 50 and 50 at both sizes.

Usage: ``.venv/bin/python benchmarks/bench_portal_listing.py [--repeat 30] [--repeat-indexed 300]
[--small 100] [--large 10000]`` (about 45 s).
Exit status 1 when (b) is not faithful to (a), when the reads per request change with the table size,
or when (b)'s ratio misses the target.
"""

from __future__ import annotations

import argparse
import bisect
import copy
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "portal_chalice")]
from chalicelib.settings import AuthMode, PortalVariable  # noqa: E402 - needs the path above

os.environ.setdefault(PortalVariable.AUTH, AuthMode.TOKEN)
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")

import boto3  # noqa: E402
from app import app  # noqa: E402
from chalice.test import Client  # noqa: E402
from chalicelib import container  # noqa: E402
from chalicelib.aws.catalog import CatalogRepository  # noqa: E402
from chalicelib.aws.registry import LocalSchemaRegistry  # noqa: E402
from chalicelib.aws.storage import ObjectStorage  # noqa: E402
from chalicelib.records import EventRecord  # noqa: E402
from chalicelib.services.backend import Backend  # noqa: E402
from chalicelib.settings import PortalSettings, RegistryMode  # noqa: E402
from moto import mock_aws  # noqa: E402

from broker_contract.catalog import BY_LISTING, PARTITION_KEY, SORT_KEY, Index  # noqa: E402
from broker_contract.dynamo_items import serialize  # noqa: E402
from tests.support.portal_wiring import create_buckets, create_catalog_table, runtime_config  # noqa: E402

TOKEN_HEADERS = {"Authorization": "Bearer bench-token"}
PAGE = 50
TARGET = 1.5
#: the parts of a Query response that (a) and (b) must agree on
COMPARED = ("Items", "Count", "ScannedCount", "LastEvaluatedKey")
#: the largest page the stand-in serves (the portal's maximum ``limit``)
MAX_SERVED_LIMIT = 100


class CountingClient:
    """Forwards to a DynamoDB client and remembers what each Query read (ScannedCount, Count)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.queries: list[tuple[int, int]] = []

    def query(self, **kwargs: Any) -> Any:
        response = self._client.query(**kwargs)
        self.queries.append((int(response.get("ScannedCount", 0)), int(response.get("Count", 0))))
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class PartitionIndexedQuery:
    """moto, except that ``Query`` on one index is answered from a partition-sorted copy of that index.

    Built from the table's items (``rebuild``), each index partition is kept sorted by (index sort key,
    table partition key, table sort key): moto's order. A page is a binary search to the item after
    ``ExclusiveStartKey`` and a slice of ``Limit`` items: O(log n + page), as in DynamoDB. Paging follows
    moto exactly: ``LastEvaluatedKey`` (table and index keys of the last item) only when another item
    follows the page. Only the shape the portal's listing sends is served here (equality on the
    partition key, ``Limit`` of at most 100, optional ``ExclusiveStartKey``); any other call goes to moto.
    The 1 MB page cut of moto and DynamoDB is not modelled: 100 catalog items are a few dozen KB.
    """

    SERVED_ARGUMENTS = frozenset(
        {
            "TableName",
            "IndexName",
            "KeyConditionExpression",
            "ExpressionAttributeNames",
            "ExpressionAttributeValues",
            "Limit",
            "ExclusiveStartKey",
        }
    )

    def __init__(self, client: Any, table_name: str, index: Index) -> None:
        self._client = client
        self.table_name = table_name
        self.index = index
        self.key_attributes = (index.sort_key, PARTITION_KEY, SORT_KEY)
        self._partitions: dict[str, tuple[list[tuple[str, ...]], list[dict[str, Any]]]] = {}
        self.served = 0
        self.forwarded = 0

    def _sort_key(self, item: dict[str, Any]) -> tuple[str, ...]:
        return tuple(item[name]["S"] for name in self.key_attributes)

    def rebuild(self) -> int:
        """Read the table once (paginated Scan, at setup only) and index the items that carry the index keys."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        count = 0
        start: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {"TableName": self.table_name}
            if start:
                kwargs["ExclusiveStartKey"] = start
            response = self._client.scan(**kwargs)
            for item in response["Items"]:
                if self.index.partition_key in item and self.index.sort_key in item:
                    grouped.setdefault(item[self.index.partition_key]["S"], []).append(item)
                    count += 1
            start = response.get("LastEvaluatedKey")
            if not start:
                break
        self._partitions = {}
        for partition, items in grouped.items():
            items.sort(key=self._sort_key)
            self._partitions[partition] = ([self._sort_key(item) for item in items], items)
        return count

    def partition(self, value: str) -> list[dict[str, Any]]:
        """The indexed items of one partition, in order."""
        return self._partitions.get(value, ([], []))[1]

    def _serves(self, kwargs: dict[str, Any]) -> bool:
        return (
            1 <= int(kwargs.get("Limit", 0)) <= MAX_SERVED_LIMIT
            and kwargs.get("TableName") == self.table_name
            and kwargs.get("IndexName") == self.index.name
            and kwargs.get("KeyConditionExpression") == "#pk = :pk"
            and kwargs.get("ExpressionAttributeNames") == {"#pk": self.index.partition_key}
            and set(kwargs) <= self.SERVED_ARGUMENTS
        )

    def query(self, **kwargs: Any) -> dict[str, Any]:
        if not self._serves(kwargs):
            self.forwarded += 1
            response: dict[str, Any] = self._client.query(**kwargs)
            return response
        self.served += 1
        partition = kwargs["ExpressionAttributeValues"][":pk"]["S"]
        keys, items = self._partitions.get(partition, ([], []))
        start_key = kwargs.get("ExclusiveStartKey")
        first = bisect.bisect_right(keys, self._sort_key(start_key)) if start_key else 0
        stop = min(len(items), first + int(kwargs["Limit"]))
        page = copy.deepcopy(items[first:stop])
        result: dict[str, Any] = {"Items": page, "Count": len(page), "ScannedCount": len(page)}
        if stop < len(items) and page:
            last = page[-1]
            names = (PARTITION_KEY, SORT_KEY, self.index.partition_key, self.index.sort_key)
            result["LastEvaluatedKey"] = {name: last[name] for name in names}
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def fill(dynamodb: Any, table: str, start: int, stop: int) -> None:
    now = datetime.now(UTC)
    items = [
        EventRecord(
            event_type=f"event-{index:05d}",
            application=f"app-{index % 20}",
            owner=f"team-{index % 7}",
            description="benchmark event",
            connection_type="SQS",
            latest_version=1,
            created_at=now,
            updated_at=now,
        ).to_item()
        for index in range(start, stop)
    ]
    for offset in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": serialize(item)}} for item in items[offset : offset + 25]]
        dynamodb.batch_write_item(RequestItems={table: batch})


def listing_query(table: str, limit: int | None, start: dict[str, Any] | None) -> dict[str, Any]:
    """The Query the portal sends for ``GET /events`` (see ``CatalogRepository.query``)."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "IndexName": BY_LISTING.name,
        "KeyConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": {"#pk": BY_LISTING.partition_key},
        "ExpressionAttributeValues": {":pk": {"S": "EVENTS"}},
    }
    if limit is not None:
        kwargs["Limit"] = limit
    if start:
        kwargs["ExclusiveStartKey"] = start
    return kwargs


def compare_page(moto: Any, standin: PartitionIndexedQuery, table: str, limit: int, start: Any) -> Any:
    """One listing page through both clients; raise when they differ. Returns moto's ``LastEvaluatedKey``."""
    expected = moto.query(**listing_query(table, limit, start))
    actual = standin.query(**listing_query(table, limit, start))
    for part in COMPARED:
        if expected.get(part) != actual.get(part):
            where = "the first page" if start is None else f"the page after {start[BY_LISTING.sort_key]['S']}"
            raise AssertionError(f"{where} (Limit {limit}): {part} differs between moto and the stand-in")
    return expected.get("LastEvaluatedKey")


def compare_listing(moto: Any, standin: PartitionIndexedQuery, table: str, limit: int, full: bool) -> int:
    """Pages through moto and the stand-in must be identical; returns how many pages were compared.

    ``full``: walk the whole listing by ``LastEvaluatedKey``. Otherwise (moto's Query is slow on a large
    table) the first three pages, pages starting at 20 evenly spaced items, and the last pages with 0, 1,
    ``limit - 1``, ``limit`` and ``limit + 1`` items left, where moto's paging decides whether to return a key.
    """
    pages = 0
    start: Any = None
    while True:
        start = compare_page(moto, standin, table, limit, start)
        pages += 1
        if not start or (not full and pages == 3):
            break
    if full:
        return pages
    items = standin.partition("EVENTS")
    positions = {*range(0, len(items), max(1, len(items) // 20))}
    positions |= {len(items) - left - 1 for left in (0, 1, limit - 1, limit, limit + 1) if left < len(items)}
    names = (PARTITION_KEY, SORT_KEY, BY_LISTING.partition_key, BY_LISTING.sort_key)
    for position in sorted(positions):
        compare_page(moto, standin, table, limit, {name: items[position][name] for name in names})
        pages += 1
    return pages


def compare_portal(client: Client, install: dict[str, Callable[[], None]], pages: int) -> int:
    """The portal's first ``pages`` answers to ``GET /events?limit=50`` are identical over (a) and (b)."""
    cursor: str | None = None
    for number in range(pages):
        bodies = []
        for row in ("a", "b"):
            install[row]()
            url = f"/events?limit={PAGE}" + (f"&cursor={cursor}" if cursor else "")
            response = client.http.get(url, headers=TOKEN_HEADERS)
            assert response.status_code == 200, response.body
            bodies.append(response.json_body)
        if bodies[0] != bodies[1]:
            raise AssertionError(f"GET /events page {number + 1}: the portal answers differently over (a) and (b)")
        cursor = bodies[0]["next_cursor"]
        if cursor is None:
            return number + 1
    return pages


@dataclass(frozen=True)
class Timing:
    median: float
    scanned: int
    count: int


def timed(action: Callable[[], None], repeat: int) -> float:
    """Median seconds of ``action`` after one warm-up call; the garbage collector is paused while timing
    (as ``timeit`` does) so that a collection of moto's garbage does not land in one row's runs."""
    action()
    gc.collect()
    gc.disable()
    try:
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            action()
            timings.append(time.perf_counter() - started)
    finally:
        gc.enable()
    return statistics.median(timings)


def measure(client: Client, counter: CountingClient, repeat: int) -> Timing:
    """Median seconds of one listing call, and the ScannedCount/Count of its single Query."""

    def call() -> None:
        counter.queries.clear()
        response = client.http.get(f"/events?limit={PAGE}", headers=TOKEN_HEADERS)
        assert response.status_code == 200, response.body
        assert len(response.json_body["items"]) == PAGE

    median = timed(call, repeat)
    [(scanned, count)] = counter.queries
    return Timing(median, scanned, count)


def query_alone(query: Callable[..., Any], table: str, repeat: int) -> float:
    """Median seconds of the listing's Query alone (no portal around it)."""
    return timed(lambda: query(**listing_query(table, PAGE, None)), repeat)


def constant(value: Any) -> Callable[[], Any]:
    """A client factory that returns ``value``."""
    return lambda: value


def installer(services: container.Services) -> Callable[[], None]:
    """A callable that makes ``services`` the portal's services (switches between rows a and b)."""
    return lambda: container.install(services)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per size over plain moto (a)")
    parser.add_argument(
        "--repeat-indexed", type=int, default=300, help="timed runs per size over the stand-in (b): ~2 ms each"
    )
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=10_000)
    arguments = parser.parse_args()
    sizes = (arguments.small, arguments.large)
    repeats = {"a": arguments.repeat, "b": arguments.repeat_indexed}
    rows: dict[str, dict[int, Timing]] = {"a": {}, "b": {}}
    alone: dict[str, dict[int, float]] = {"a": {}, "b": {}}
    checked: dict[int, str] = {}
    with mock_aws():
        config = runtime_config()
        table = config.catalog_table_name
        dynamodb = boto3.client("dynamodb", region_name=config.region)
        s3 = boto3.client("s3", region_name=config.region)
        create_catalog_table(dynamodb, table)
        create_buckets(s3, config)
        standin = PartitionIndexedQuery(dynamodb, table, BY_LISTING)
        counters = {"a": CountingClient(dynamodb), "b": CountingClient(standin)}
        settings = PortalSettings(tokens={"bench-token": "bench-team"}, registry_mode=RegistryMode.LOCAL)
        services = {
            row: container.Services.over(
                Backend(
                    config=config,
                    catalog=CatalogRepository(table, constant(counter)),
                    storage=ObjectStorage(lambda: s3),
                    registry=LocalSchemaRegistry(),
                ),
                settings,
            )
            for row, counter in counters.items()
        }
        install = {row: installer(built) for row, built in services.items()}
        with Client(app) as client:
            filled = 0
            for size in sizes:
                fill(dynamodb, table, filled, size)
                filled = size
                indexed = standin.rebuild()
                full = size <= arguments.small
                walks = {limit: compare_listing(dynamodb, standin, table, limit, full) for limit in (PAGE, 7)}
                portal_pages = compare_portal(client, install, 3)
                checked[size] = (
                    f"{indexed} items indexed; Query pages identical ({'whole listing' if full else 'sampled'}): "
                    + ", ".join(f"{pages} with Limit {limit}" for limit, pages in walks.items())
                    + f"; portal answers identical: first {portal_pages} pages"
                )
                for row in ("a", "b"):
                    install[row]()
                    rows[row][size] = measure(client, counters[row], repeats[row])
                alone["a"][size] = query_alone(dynamodb.query, table, repeats["a"])
                alone["b"][size] = query_alone(standin.query, table, repeats["b"])
        container.reset()
    if standin.forwarded:
        print(f"error: {standin.forwarded} listing Query(s) were not served by the stand-in", file=sys.stderr)
        return 1
    ratios = {row: rows[row][arguments.large].median / rows[row][arguments.small].median for row in rows}
    titles = {
        "a": "(a) over plain moto: moto's Query reads every item of the table on each call (cost grows with it)",
        "b": "(b) over moto with the listing index served partition-sorted (DynamoDB's cost model: one page, "
        "no page serialization)",
    }
    print(f"GET /events?limit={PAGE} through the Chalice test client")
    for row in ("a", "b"):
        print(f"{titles[row]}; median of {repeats[row]} runs")
        for size in sizes:
            timing = rows[row][size]
            print(
                f"  {size:>6} events: median {timing.median * 1000:7.2f} ms   DynamoDB ScannedCount {timing.scanned}, "
                f"items {timing.count}   (its Query alone {alone[row][size] * 1000:.2f} ms)"
            )
        verdict = "the target row" if row == "b" else "not the target: it measures moto's in-memory walk"
        print(f"  ratio {arguments.large}/{arguments.small}: {ratios[row]:.2f}   ({verdict})")
    print("(b) is faithful to (a) on this path:")
    for size in sizes:
        print(f"  {size:>6} events: {checked[size]}")
    reads = {(timing.scanned, timing.count) for row in rows.values() for timing in row.values()}
    same_reads = reads == {(PAGE, PAGE)}
    print(f"items read per request: {'always' if same_reads else 'NOT always'} {PAGE} (ScannedCount = items)")
    met = ratios["b"] <= TARGET
    print(f"target ratio <= {TARGET} on (b): {'met' if met else 'MISSED'} ({ratios['b']:.2f})")
    return 0 if same_reads and met else 1


if __name__ == "__main__":
    raise SystemExit(main())
