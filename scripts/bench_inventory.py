#!/usr/bin/env python3
"""Benchmark jupyterops.cloud.tagged_ec2 against amazon.aws.aws_ec2 and a raw paginated DescribeInstances.

Starts its own EC2 emulator, grows one tagged fleet to each size N and times, side by side in the same
run, `ansible-inventory --list` with each plugin and a raw boto3 DescribeInstances (all three as fresh
processes, so interpreter and import start-up count for each). Per-host overhead = (plugin - raw) / N.
Goal: tagged_ec2's per-host overhead at most one third of aws_ec2's and never slower in total.

    .venv/bin/python scripts/bench_inventory.py [--sizes 100,500,1000] [--repeat 3]

Prints a table and writes the figures as JSON (default .cache/bench/inventory.json). Not a test.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.harness.ec2_emulator import Ec2Emulator  # noqa: E402

BIN = Path(sys.executable).parent
PROJECT = "bench"
EMPTY_PROJECT = "bench-empty"  # no instance carries it: measures each tool's fixed start-up cost
BATCH = 250

TAGGED_CONFIG = """plugin: jupyterops.cloud.tagged_ec2
region: eu-west-1
tags:
  Project: {project}
"""
# Configured to produce the same inventory: Name tag as host name, the project's instances in the
# default states, ansible_host = public IP, one group per instance state.
AWS_EC2_CONFIG = """plugin: amazon.aws.aws_ec2
regions: [eu-west-1]
filters:
  tag:Project: {project}
hostnames:
  - tag:Name
compose:
  ansible_host: public_ip_address
keyed_groups:
  - key: state.name
    prefix: state
"""
RAW_SCRIPT = """
import sys
import boto3
client = boto3.client("ec2", region_name="eu-west-1")
pages = client.get_paginator("describe_instances").paginate(
    Filters=[{"Name": "tag:Project", "Values": [sys.argv[1]]},
             {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}])
print(sum(len(r["Instances"]) for r in pages.build_full_result()["Reservations"]))
"""


_HOP_HEADERS = ("content-length", "connection", "transfer-encoding", "date", "server")


class ReplayProxy:
    """Loopback HTTP proxy to the emulator that answers a repeated request from memory.

    The emulator's response time at 1000 instances is seconds and varies a lot with machine load;
    replaying the same recorded bytes to every client removes that noise, so the difference between
    a plugin and the raw call is the client-side work alone. Requests are keyed by their form
    parameters (order-insensitive), never by signatures or dates.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.store: dict[tuple, tuple[int, list[tuple[str, str]], bytes]] = {}
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                key = (self.path, tuple(sorted(urllib.parse.parse_qsl(body.decode()))))
                if key not in proxy.store:
                    headers = {k: v for k, v in self.headers.items()
                               if k.lower() not in ("host", "content-length")}
                    request = urllib.request.Request(  # noqa: S310 - upstream is the loopback emulator
                        proxy.upstream + self.path, data=body, headers=headers)
                    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
                        proxy.store[key] = (response.status, list(response.getheaders()), response.read())
                status, headers, payload = proxy.store[key]
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in _HOP_HEADERS:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def clear(self) -> None:
        """Forget recorded answers (the fleet changed)."""
        self.store.clear()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def grow_fleet(client: Any, have: int, want: int) -> None:
    """Launch tagged instances until the fleet has `want` of them, each with a unique Name tag."""
    while have < want:
        count = min(BATCH, want - have)
        ids = [i["InstanceId"] for i in client.run_instances(
            ImageId="ami-12c6146b", MinCount=count, MaxCount=count,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Project", "Value": PROJECT}]}],
        )["Instances"]]
        for instance_id in ids:
            client.create_tags(Resources=[instance_id], Tags=[{"Key": "Name", "Value": f"bench{have:05d}"}])
            have += 1


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run a command from the repository root; return its wall time and the completed process."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed, proc


def inventory_run(config: Path, out: Path, env: dict[str, str], expected: int) -> float:
    """Time `ansible-inventory --list` for one config and check it listed every instance."""
    cmd = [str(BIN / "ansible-inventory"), "-i", str(config), "--list", "--output", str(out)]
    elapsed, _ = timed(cmd, env)
    hosts = len(json.loads(out.read_text())["_meta"]["hostvars"])
    if hosts != expected:
        raise SystemExit(f"{config.name}: listed {hosts} hosts, expected {expected}")
    return elapsed


def measure(n: int, env: dict[str, str], configs: dict[str, Path], tmpdir: Path, repeat: int,
            warmup: bool, project: str = PROJECT) -> dict[str, Any]:
    """Time raw, tagged_ec2 and aws_ec2 (interleaved, `repeat` times) at fleet size n; return figures."""
    runs: dict[str, list[float]] = {"raw": [], "tagged_ec2": [], "aws_ec2": []}
    for i in range(repeat + (1 if warmup else 0)):
        elapsed, proc = timed([sys.executable, "-c", RAW_SCRIPT, project], env)
        if int(proc.stdout.strip()) != n:
            raise SystemExit(f"raw DescribeInstances returned {proc.stdout.strip()}, expected {n}")
        timings = {"raw": elapsed}
        for name, config in configs.items():
            timings[name] = inventory_run(config, tmpdir / f"{name}.json", env, n)
        if warmup and i == 0:
            continue  # the warm-up run records the answers the replay proxy serves
        for name, value in timings.items():
            runs[name].append(value)
    med = {k: statistics.median(v) for k, v in runs.items()}
    if n == 0:
        return {"n": 0, **{f"{k}_s": round(v, 3) for k, v in med.items()},
                "runs_s": {k: [round(x, 3) for x in v] for k, v in runs.items()}}
    ours = (med["tagged_ec2"] - med["raw"]) / n * 1000
    theirs = (med["aws_ec2"] - med["raw"]) / n * 1000
    return {
        "n": n, "raw_s": round(med["raw"], 3), "tagged_ec2_s": round(med["tagged_ec2"], 3),
        "aws_ec2_s": round(med["aws_ec2"], 3),
        "tagged_ec2_overhead_ms_per_host": round(ours, 3),
        "aws_ec2_overhead_ms_per_host": round(theirs, 3),
        "overhead_ratio": round(ours / theirs, 3) if theirs > 0 else None,
        "goal_met": bool(theirs > 0 and ours <= theirs / 3 and med["tagged_ec2"] <= med["aws_ec2"]),
        "runs_s": {k: [round(x, 3) for x in v] for k, v in runs.items()},
    }


def add_marginal(result: dict[str, Any], baseline: dict[str, Any]) -> None:
    """Add the per-host overhead net of fixed start-up cost (the empty-fleet run's plugin - raw)."""
    n = result["n"]
    ours = ((result["tagged_ec2_s"] - result["raw_s"]) - (baseline["tagged_ec2_s"] - baseline["raw_s"])) / n
    theirs = ((result["aws_ec2_s"] - result["raw_s"]) - (baseline["aws_ec2_s"] - baseline["raw_s"])) / n
    result["tagged_ec2_marginal_ms_per_host"] = round(ours * 1000, 3)
    result["aws_ec2_marginal_ms_per_host"] = round(theirs * 1000, 3)
    result["marginal_ratio"] = round(ours / theirs, 3) if theirs > 0 else None
    result["marginal_goal_met"] = bool(theirs > 0 and ours <= theirs / 3
                                       and result["tagged_ec2_s"] <= result["aws_ec2_s"])


def print_table(mode: str, results: list[dict[str, Any]]) -> None:
    """Print one mode's figures as a table."""
    header = (f"{'N':>6} {'raw s':>7} {'tagged_ec2 s':>12} {'aws_ec2 s':>9} "
              f"{'ours ms/host':>12} {'aws_ec2 ms/host':>15} {'ratio':>5} goal  "
              f"{'ours net':>8} {'aws_ec2 net':>11} {'ratio':>5} goal")
    print(f"\n{mode}: {MODES[mode]}")
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = "-" if r["overhead_ratio"] is None else f"{r['overhead_ratio']:.2f}"
        net_ratio = "-" if r["marginal_ratio"] is None else f"{r['marginal_ratio']:.2f}"
        print(f"{r['n']:>6} {r['raw_s']:>7.2f} {r['tagged_ec2_s']:>12.2f} {r['aws_ec2_s']:>9.2f} "
              f"{r['tagged_ec2_overhead_ms_per_host']:>12.2f} {r['aws_ec2_overhead_ms_per_host']:>15.2f} "
              f"{ratio:>5} {'met ' if r['goal_met'] else 'MISS'}  "
              f"{r['tagged_ec2_marginal_ms_per_host']:>8.2f} {r['aws_ec2_marginal_ms_per_host']:>11.2f} "
              f"{net_ratio:>5} {'met ' if r['marginal_goal_met'] else 'MISS'}")
    print("ms/host = (plugin - raw) / N; net = the same after subtracting the empty-fleet (N=0) "
          "difference, i.e. fixed start-up cost")


MODES = {
    "replay": "emulator answers recorded once and replayed from memory (client-side cost only)",
    "live": "every run asks the emulator (includes its load-dependent response time)",
}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print/write its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,500,1000", help="comma-separated fleet sizes")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is kept")
    parser.add_argument("--modes", default="replay,live", help="replay and/or live (see MODES)")
    parser.add_argument("--output", default=str(REPO / ".cache" / "bench" / "inventory.json"))
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    modes = [m for m in args.modes.split(",") if m]
    if not modes or set(modes) - set(MODES):
        parser.error(f"--modes: choose from {', '.join(MODES)}")

    import boto3

    results: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    with Ec2Emulator() as emulator, tempfile.TemporaryDirectory(prefix="bench-inventory-") as tmp:
        tmpdir = Path(tmp)
        proxy = ReplayProxy(emulator.url)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))}
        base.update(emulator.env())
        base.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="true",
                    ANSIBLE_NOCOLOR="1")
        envs = {"live": base, "replay": {**base, "AWS_URL": proxy.url, "AWS_ENDPOINT_URL": proxy.url}}
        configs = {"tagged_ec2": tmpdir / "bench.tagged_ec2.yml", "aws_ec2": tmpdir / "bench.aws_ec2.yml"}
        configs["tagged_ec2"].write_text(TAGGED_CONFIG.format(project=PROJECT))
        configs["aws_ec2"].write_text(AWS_EC2_CONFIG.format(project=PROJECT))
        empty = {"tagged_ec2": tmpdir / "empty.tagged_ec2.yml", "aws_ec2": tmpdir / "empty.aws_ec2.yml"}
        empty["tagged_ec2"].write_text(TAGGED_CONFIG.format(project=EMPTY_PROJECT))
        empty["aws_ec2"].write_text(AWS_EC2_CONFIG.format(project=EMPTY_PROJECT))
        client = boto3.client("ec2", endpoint_url=emulator.url, region_name=emulator.region,
                              **{k.lower(): v for k, v in emulator.env().items()
                                 if k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")})
        have = 0
        baselines: dict[str, dict[str, Any]] = {}
        try:
            for mode in modes:
                baselines[mode] = measure(0, envs[mode], empty, tmpdir, args.repeat, warmup=mode == "replay",
                                          project=EMPTY_PROJECT)
            for n in sizes:
                grow_fleet(client, have, n)
                have = n
                proxy.clear()
                for mode in modes:
                    result = measure(n, envs[mode], configs, tmpdir, args.repeat, warmup=mode == "replay")
                    add_marginal(result, baselines[mode])
                    results[mode].append(result)
                    print(f"N={n} {mode}: done", file=sys.stderr, flush=True)
        finally:
            proxy.close()

    for mode in modes:
        print_table(mode, results[mode])
    report = {
        "description": "wall time of `ansible-inventory --list` per plugin and of a raw paginated "
                       "DescribeInstances (fresh processes, interleaved, median of runs); "
                       "overhead per host = (plugin - raw) / N",
        "goal": "tagged_ec2 overhead per host <= aws_ec2 overhead per host / 3, "
                "and tagged_ec2 total <= aws_ec2",
        "modes": {m: MODES[m] for m in modes},
        "repeat": args.repeat,
        "configs": {"tagged_ec2": TAGGED_CONFIG, "aws_ec2": AWS_EC2_CONFIG},
        "environment": {"python": platform.python_version(), "machine": platform.machine(),
                        "cpus": os.cpu_count(), "loadavg_at_end": os.getloadavg()},
        "baseline_empty_fleet": baselines,
        "results": results,
        "all_goals_met": {m: all(r["goal_met"] for r in results[m]) for m in modes},
        "all_net_goals_met": {m: all(r["marginal_goal_met"] for r in results[m]) for m in modes},
    }
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
