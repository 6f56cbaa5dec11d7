"""How fast the catalog pages are on a catalog of 1,000 events, in headless Chromium.

The page files are the portal's own (``portal_chalice/chalicelib/catalog_pages``); the API answers are
synthetic and served inside the browser (Playwright ``page.route``, nothing leaves the process), so the
figures are the pages' own work: parsing 10 pages of 100 events, filtering, drawing the table and the SVG
graph. A real portal adds its latency per request (10 list requests for 1,000 events, one graph request).

Printed: time to the first 50 rows, to the whole list loaded, the median time for one search keystroke to
redraw the table, and the time to draw the whole-catalog graph (1,000 events, 300 consumers, 2,000 edges).
Exit status 1 when a figure misses its target; 0 with a note when Chromium or Playwright is missing.

    .venv/bin/python benchmarks/bench_catalog_pages.py [--events 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

PAGES = Path(__file__).resolve().parent.parent / "portal_chalice" / "chalicelib" / "catalog_pages"
#: never contacted: every request to it is answered by the route handler below
ORIGIN = "http://127.0.0.1:9"
TARGETS_MS = {"first rows": 1000.0, "whole list": 2500.0, "search keystroke": 150.0, "graph": 2000.0}


def synthetic_events(count: int) -> list[dict[str, Any]]:
    return [
        {
            "event_type": f"event_{index:04d}",
            "application": f"app_{index % 40:02d}",
            "owner": f"team_{index % 25:02d}",
            "description": f"Synthetic event number {index}",
            "connection_type": "HTTPS" if index % 3 else "SQS",
            "latest_version": 1 + index % 4,
            "revision": 1,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-02T00:00:00Z",
        }
        for index in range(count)
    ]


def synthetic_graph(events: list[dict[str, Any]], consumers: int = 300) -> dict[str, Any]:
    nodes = [{"id": f"application:app_{i:02d}", "kind": "application", "label": f"app_{i:02d}"} for i in range(40)]
    nodes += [{"id": f"event:{e['event_type']}", "kind": "event", "label": e["event_type"]} for e in events]
    nodes += [
        {"id": f"consumer:team_{i % 25:02d}/unit_{i}/SQS", "kind": "consumer", "label": f"team_{i % 25:02d}/unit_{i}"}
        for i in range(consumers)
    ]
    edges = [{"from": f"application:{e['application']}", "to": f"event:{e['event_type']}"} for e in events]
    edges += [
        {"from": f"event:{e['event_type']}", "to": f"consumer:team_{j % 25:02d}/unit_{j}/SQS"}
        for i, e in enumerate(events)
        for j in ((i * 7) % consumers,)
    ]
    return {"nodes": nodes, "edges": edges}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    chromium = os.environ.get("BROKER_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415
    except ImportError:
        chromium = None
    if chromium is None:
        print("bench_catalog_pages: skipped, no Chromium/Playwright (apt-get install -y chromium; make install)")
        return 0

    events = synthetic_events(args.events)
    graph = synthetic_graph(events)

    def answer(route: Any) -> None:
        url = urlparse(route.request.url)
        if url.path == "/catalog":
            route.fulfill(body=(PAGES / "index.html").read_text(), content_type="text/html")
        elif url.path.startswith("/catalog/static/"):
            name = url.path.rsplit("/", 1)[1]
            kind = "text/javascript" if name.endswith(".js") else "text/css"
            route.fulfill(body=(PAGES / name).read_text(), content_type=kind)
        elif url.path == "/events":
            query = parse_qs(url.query)
            start = int(query.get("cursor", ["0"])[0])
            limit = int(query.get("limit", ["20"])[0])
            page = events[start : start + limit]
            following = str(start + limit) if start + limit < len(events) else None
            route.fulfill(body=json.dumps({"items": page, "next_cursor": following}), content_type="application/json")
        elif url.path == "/graph":
            route.fulfill(body=json.dumps(graph), content_type="application/json")
        else:
            route.fulfill(status=404, body="{}", content_type="application/json")

    figures: dict[str, float] = {}
    with sync_playwright() as playwright:
        flags = ["--disable-dev-shm-usage"] + (["--no-sandbox"] if os.geteuid() == 0 else [])
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=flags)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script("sessionStorage.setItem('broker.catalog.token', 'bench')")
        page = context.new_page()
        page.route(f"{ORIGIN}/**", answer)

        started = time.perf_counter()
        page.goto(f"{ORIGIN}/catalog#/events")
        page.wait_for_selector("#events-table tbody tr:nth-child(50)")
        figures["first rows"] = (time.perf_counter() - started) * 1000
        page.wait_for_function(
            f"document.querySelector('#events-summary').textContent.endsWith('of {len(events)} events')"
        )
        figures["whole list"] = (time.perf_counter() - started) * 1000

        keystrokes = []
        for needle in ("event_09", "event_0", "Synthetic", "number 99", "event_0999", ""):
            # the page waits 120 ms for typing to pause; that debounce is not the page's work
            page.evaluate("(value) => { const box = document.getElementById('filter-q'); box.value = value; }", needle)
            tick = time.perf_counter()
            page.evaluate(
                """() => new Promise((resolve) => {
                    const body = document.getElementById('events-table');
                    new MutationObserver((_, observer) => { observer.disconnect(); resolve(); })
                        .observe(body, { childList: true, subtree: true });
                    document.getElementById('filter-q').dispatchEvent(new Event('input'));
                })"""
            )
            keystrokes.append((time.perf_counter() - tick) * 1000 - 120)
        figures["search keystroke"] = statistics.median(keystrokes)

        started = time.perf_counter()
        page.goto(f"{ORIGIN}/catalog#/graph")
        page.wait_for_selector("#graph svg")
        figures["graph"] = (time.perf_counter() - started) * 1000
        drawn = page.eval_on_selector("#graph svg", "(svg) => svg.querySelectorAll('g.node').length")
        browser.close()

    print(f"catalog pages, {len(events)} events, {len(graph['nodes'])} graph nodes ({drawn} drawn), headless Chromium")
    failed = False
    for name, value in figures.items():
        target = TARGETS_MS[name]
        verdict = "ok" if value <= target else "MISSED"
        failed |= value > target
        print(f"  {name:<17} {value:8.1f} ms   (target <= {target:.0f} ms)  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
