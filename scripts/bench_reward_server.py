"""Load benchmark of `python -m model.reward.server`: p50 / p99 request latency and judgments/s at 1, 8 and
64 concurrent clients.

The server runs as a real subprocess on 127.0.0.1 only (the address is not a flag) with a scripted judge
(`rate_by_length`, no model): the numbers are the cost of the HTTP layer, request parsing, the fair
scheduler's batching and the agent loop, i.e. the server's own overhead on top of any judge. The load is
bounded: each level sends a fixed number of requests (--requests-per-level) of --samples samples, and the
whole run stops after --max-seconds.

    python scripts/bench_reward_server.py                        # 1, 8, 64 clients
    python scripts/bench_reward_server.py --clients 1 8 --samples 8 --json out/bench_reward_server.json
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from model.protocol import BASELINE  # noqa: E402

HOST = "127.0.0.1"
PROMPT = ("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 3 * 6?"
          "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")


def rate_by_length(req):
    """The scripted judge: a pointwise rating from the response length (one turn, no tools)."""
    shown = [m["content"] for m in req.messages if m["role"] == "user"][-1]
    return f"Rating: [[{1 + len(shown) % 9}]]"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(port: int, log: Path, max_batch: int) -> subprocess.Popen:
    argv = [sys.executable, "-m", "model.reward.server", "--model", "scripted-judge", "--host", HOST,
            "--port", str(port), "--backend", "scripted:scripts.bench_reward_server:rate_by_length",
            "--setting", BASELINE, "--mode", "pointwise", "--max-batch-samples", str(max_batch)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(argv, cwd=REPO, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True, env=env)
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    stop_server(proc)
    raise SystemExit(f"the server was not healthy within 120 s:\n{log.read_text()[-2000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def one_request(url: str, samples: int, seed: int) -> tuple[float, int]:
    responses = [f"The answer is {18 + (seed + i) % 5}.<|eot_id|>" for i in range(samples)]
    body = json.dumps({"query": [PROMPT + r for r in responses], "prompts": [PROMPT] * samples,
                       "labels": ["18"] * samples}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as r:
        out = json.loads(r.read())
    dt = time.perf_counter() - t0
    if len(out.get("rewards", [])) != samples:
        raise RuntimeError(f"expected {samples} rewards, got {out}")
    return dt, samples


def run_level(url: str, clients: int, n_requests: int, samples: int, deadline: float) -> dict:
    n_requests = max(n_requests, clients)
    lat: list[float] = []
    judged = 0
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(one_request, url, samples, i) for i in range(n_requests)
                   if time.time() < deadline]
        for f in futures:
            dt, n = f.result()
            lat.append(dt)
            judged += n
    wall = time.perf_counter() - t0
    lat.sort()
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    return {"clients": clients, "requests": len(lat), "samples_per_request": samples,
            "p50_ms": round(pick(0.50), 1), "p99_ms": round(pick(0.99), 1),
            "judgments_per_s": round(judged / wall, 1), "wall_s": round(wall, 2)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, nargs="+", default=[1, 8, 64])
    p.add_argument("--requests-per-level", type=int, default=256)
    p.add_argument("--samples", type=int, default=4, help="samples per request")
    p.add_argument("--max-batch-samples", type=int, default=64)
    p.add_argument("--max-seconds", type=float, default=100.0, help="stop sending new requests after this")
    p.add_argument("--json", help="also write the rows here")
    args = p.parse_args(argv)

    import torch

    cpu = torch.backends.cpu.get_cpu_capability()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = start_server(port, Path(tmp) / "server.log", args.max_batch_samples)
        try:
            url = f"http://{HOST}:{port}/get_reward"
            one_request(url, args.samples, 0)  # warm-up
            deadline = time.time() + args.max_seconds
            rows = [run_level(url, c, args.requests_per_level, args.samples, deadline) for c in args.clients]
        finally:
            stop_server(proc)
    print(f"model.reward.server, scripted judge, loopback; CPU capability: {cpu}; "
          f"{os.cpu_count()} CPUs; --max-batch-samples {args.max_batch_samples}\n")
    print("| clients | requests | samples/request | p50 ms | p99 ms | judgments/s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clients']} | {r['requests']} | {r['samples_per_request']} | {r['p50_ms']} | {r['p99_ms']} "
              f"| {r['judgments_per_s']} |")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"cpu_capability": cpu, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
