"""How fast the generator synthesizes consumer stacks, cold and warm, lazy and stock provider import.

Each cold start runs in a fresh Python process (like a cold Lambda): the figure is the time from
spawning the process to the first consumer stack's ``cdk.tf.json`` on disk, and the peak RSS of the
Python process plus its Node.js (jsii) child. The same process then synthesizes 100 more consumer
stacks, each in its own ``App``. ``BROKER_STOCK_PROVIDER_IMPORT=1`` selects the stock provider import.

    .venv/bin/python benchmarks/bench_generator_synth.py [--stacks 100] [--skip-stock]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# the variable's name only: modules/_provider.py imports nothing heavy, and the lazy path is the child's to choose
from modules._provider import STOCK_IMPORT_VARIABLE

REPO = Path(__file__).resolve().parent.parent

TARGET_FIRST_SECONDS = 3.0
TARGET_PEAK_MB = 900.0
TARGET_NEXT_MEDIAN_MS = 150.0
TARGET_HUNDRED_SECONDS = 20.0


def _peak_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # the command name is in parentheses and may hold spaces: the ppid follows the last ')'
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def peak_rss_mb() -> float:
    """Peak RSS (VmHWM) of this process and its children (the jsii Node.js process), in MB."""
    pid = os.getpid()
    return (_peak_kb(pid) + sum(_peak_kb(child) for child in _children(pid))) / 1024


def child(spawned_at: float, stacks: int) -> None:
    """Runs in the fresh process: first stack, then ``stacks`` more; prints one JSON line."""
    sys.path.insert(0, str(REPO))
    from broker_contract.examples import examples  # noqa: PLC0415
    from generator.jsii_provider import preloaded_tarball  # noqa: PLC0415
    from generator.settings import placeholder_runtime  # noqa: PLC0415
    from generator.synth import CdktfSynthesizer  # noqa: PLC0415
    from modules._provider import PROVIDER_PACKAGE  # noqa: PLC0415

    base = examples()["consumer-lambda"]
    runtime = placeholder_runtime("dev", environ={})
    synthesizer = CdktfSynthesizer()
    out = Path(tempfile.mkdtemp(prefix="bench-generator-"))
    synthesizer.synthesize(base, runtime, out / "first")
    first = time.time() - spawned_at
    peak_first = peak_rss_mb()
    durations = []
    started = time.perf_counter()
    for index in range(stacks):
        deployment = base.model_copy(update={"subscription_id": f"sub-{index + 1:016x}"})
        began = time.perf_counter()
        synthesizer.synthesize(deployment, runtime, out / str(index))
        durations.append(time.perf_counter() - began)
    total = time.perf_counter() - started
    result = {
        "first_seconds": first,
        "peak_first_mb": peak_first,
        "next_median_ms": statistics.median(durations) * 1000 if durations else 0.0,
        "next_p95_ms": sorted(durations)[int(len(durations) * 0.95) - 1] * 1000 if durations else 0.0,
        "hundred_seconds": total,
        "peak_mb": peak_rss_mb(),
        "lazy": getattr(sys.modules[PROVIDER_PACKAGE], "__broker_lazy__", False),
        "lazy_node": preloaded_tarball() is not None,
    }
    print(json.dumps(result))


def run_cold(stock: bool, stacks: int) -> dict[str, float]:
    """One fresh process; its figures."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop(STOCK_IMPORT_VARIABLE, None)
    if stock:
        env[STOCK_IMPORT_VARIABLE] = "1"
    spawned = time.time()
    completed = subprocess.run(
        [sys.executable, __file__, "--child", str(spawned), "--stacks", str(stacks)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if completed.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{completed.stderr[-3000:]}")
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def line(label: str, lazy: float, stock: float | None, *, target: str, ok: bool, unit: str) -> str:
    ratio = f"{stock / lazy:5.1f}x" if stock is not None and lazy else "   - "
    stock_text = f"{stock:9.2f}" if stock is not None else "        -"
    return f"{label:<38} {lazy:9.2f} {stock_text} {ratio}  {unit:<3} target {target:<8} {'ok' if ok else 'MISSED'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", type=int, default=100)
    parser.add_argument("--skip-stock", action="store_true", help="do not run the (slow, ~1.7 GB) stock import")
    parser.add_argument("--runs", type=int, default=2, help="cold starts per path (the best one is reported)")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.stacks)
        return
    # like the container image build: the lazy provider copy exists and the jsii kernel has indexed it
    prepared = subprocess.run(
        [sys.executable, "-m", "generator", "prepare"], cwd=REPO, capture_output=True, text=True, check=False
    )
    if prepared.returncode != 0:
        raise SystemExit(f"python -m generator prepare failed:\n{prepared.stderr[-3000:]}")
    # the first cold run also warms the page cache and .pyc files; report the best of ``runs``
    lazy_runs = [run_cold(stock=False, stacks=args.stacks) for _ in range(args.runs)]
    lazy = min(lazy_runs, key=lambda result: result["first_seconds"])
    stock = None if args.skip_stock else run_cold(stock=True, stacks=args.stacks)

    def pick(key: str) -> tuple[float, float | None]:
        return lazy[key], (stock[key] if stock else None)

    print(f"generator synthesis, consumer stacks ({os.cpu_count()} CPUs, best of {args.runs} cold starts)")
    print(f"{'figure':<38} {'lazy':>9} {'stock':>9} {'ratio':>6}")
    first, first_stock = pick("first_seconds")
    print(
        line(
            "cold process -> first stack",
            first,
            first_stock,
            target=f"<= {TARGET_FIRST_SECONDS:g}",
            ok=first <= 3,
            unit="s",
        )
    )
    peak, peak_stock = pick("peak_first_mb")
    print(
        line(
            "peak RSS at first stack (python+node)",
            peak,
            peak_stock,
            target="<= 900",
            ok=peak <= TARGET_PEAK_MB,
            unit="MB",
        )
    )
    median, median_stock = pick("next_median_ms")
    ok = median <= TARGET_NEXT_MEDIAN_MS
    print(line("each further stack, median", median, median_stock, target="<= 150", ok=ok, unit="ms"))
    p95, p95_stock = pick("next_p95_ms")
    print(line("each further stack, p95", p95, p95_stock, target="-", ok=True, unit="ms"))
    hundred, hundred_stock = pick("hundred_seconds")
    ok = hundred <= TARGET_HUNDRED_SECONDS
    print(line(f"{args.stacks} further stacks, one process", hundred, hundred_stock, target="<= 20", ok=ok, unit="s"))
    total_peak, total_peak_stock = pick("peak_mb")
    print(line("peak RSS after all stacks", total_peak, total_peak_stock, target="-", ok=True, unit="MB"))
    print("lazy cold starts (s): " + ", ".join(f"{run['first_seconds']:.2f}" for run in lazy_runs))
    print(
        f"lazy path: python per-resource imports {bool(lazy['lazy'])}, node per-resource requires "
        f"{bool(lazy['lazy_node'])}; stock path: BROKER_STOCK_PROVIDER_IMPORT=1"
    )


if __name__ == "__main__":
    main()
