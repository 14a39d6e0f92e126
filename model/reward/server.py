"""HTTP reward server in OpenRLHF's remote reward-model format, backed by the skill judge (`JudgeReward`).

    python -m model.reward.server --model outputs/quickstart/sft_skill/final_model --port 5000
    # OpenRLHF: --remote_rm_url http://HOST:5000/get_reward  (--label_key for per-sample resources)

POST /get_reward   the request and response formats: model/reward/openrlhf.py
GET  /health       {"status", model, backend, mode, setting, prompt_style, "queue": open requests and their
                   queued / running samples, "stats": the judge's cumulative counters, "last": its last batch}

The judge's setting, prompt style, tie policy and limits default to its trained protocol
(judge_config.json in the model folder); flags override them, with a warning when they differ.

Limits (each a flag): a body over --max-body-mb or a request of more than --max-request-samples samples
is refused with 413; requests share the judge fairly in batches of at most --max-batch-samples
(model/reward/scheduler.py); a request is answered within --request-timeout seconds (150 s by default,
below the 180 s after which OpenRLHF's client gives up and posts again), with the failure reward and a
"request timeout" error for every sample not judged by then. SIGTERM / Ctrl-C: new requests are
refused, open ones answered 503 at once, the running batch abandoned, and the process exits.
It binds to 127.0.0.1 unless --host says otherwise; the server has no authentication.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from model.agent import AgentConfig
from model.backends.config import add_backend_args, backend_config_from_args
from model.protocol import PROMPT_STYLES, SETTING_NAMES
from model.reward.core import MODES, JudgeReward
from model.reward.openrlhf import TooManySamples, response_body, samples_from_request
from model.reward.scheduler import FairScheduler, ShuttingDown

MiB = 2 ** 20
DEFAULT_MAX_BODY_MB = 64.0
DEFAULT_MAX_REQUEST_SAMPLES = 4096
DEFAULT_MAX_BATCH_SAMPLES = 64
DEFAULT_REQUEST_TIMEOUT_S = 150.0
GRACEFUL_SHUTDOWN_S = 2.0  # uvicorn's wait for open connections after SIGTERM (they are answered at once)


class BodyTooLarge(ValueError):
    pass


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, refused past `max_bytes` (by its Content-Length before reading, else while reading)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise BodyTooLarge(f"the request body has {int(length)} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(f"the request body has more than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_request(body: bytes, mode: str, max_samples: int):
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"the request body is not valid JSON ({e})") from None
    return samples_from_request(data, mode, max_samples)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(reward: JudgeReward, *, batch_window_ms: float = 5.0,
               max_batch_samples: int = DEFAULT_MAX_BATCH_SAMPLES,
               request_timeout_s: float | None = DEFAULT_REQUEST_TIMEOUT_S,
               max_request_samples: int = DEFAULT_MAX_REQUEST_SAMPLES,
               max_body_bytes: int = int(DEFAULT_MAX_BODY_MB * MiB), warmup: bool = False) -> FastAPI:
    """The FastAPI app serving `reward` (tests run it in-process with uvicorn in a thread). `warmup`
    builds the backend at startup (main() does it before it binds the port)."""
    if reward.failure_reward is None:
        raise ValueError("the reward server needs a numeric failure_reward (JSON rewards must be numbers)")
    scheduler = FairScheduler(reward, max_batch_samples, batch_window_ms / 1000.0, request_timeout_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if warmup:
            await asyncio.to_thread(reward.warmup)
        scheduler.start()
        yield
        scheduler.close()

    app = FastAPI(title="Skill-RM judge reward server", lifespan=lifespan)
    app.state.reward = reward
    app.state.scheduler = scheduler

    @app.get("/health")
    async def health() -> JSONResponse:
        body = {"status": "shutting down" if scheduler.closed else "ok", "model": reward.model,
                "backend": reward.describe_backend(), "mode": reward.mode, "setting": reward.setting,
                "prompt_style": reward.agent.prompt_style, "timeout_s": reward.timeout_s,
                "request_timeout_s": request_timeout_s, "failure_reward": reward.failure_reward,
                "queue": scheduler.depth(), "stats": reward.total_stats, "last": reward.last_stats}
        return JSONResponse(body, status_code=503 if scheduler.closed else 200)

    @app.post("/get_reward")
    async def get_reward(request: Request) -> JSONResponse:
        if scheduler.closed:
            return _error(503, "the reward server is shutting down")
        try:
            body = await read_body(request, max_body_bytes)
        except BodyTooLarge as e:
            return _error(413, f"{e}; this server takes at most {max_body_bytes} bytes per request "
                               "(--max-body-mb): send fewer samples per request")
        try:
            samples = await asyncio.to_thread(parse_request, body, reward.mode, max_request_samples)
        except TooManySamples as e:
            return _error(413, str(e))
        except ValueError as e:
            return _error(400, str(e))
        if not samples:
            return JSONResponse(response_body([], reward.failure_reward))
        try:
            results = await scheduler.submit(samples)
        except ShuttingDown as e:
            return _error(503, str(e))
        except Exception as e:  # noqa: BLE001
            return _error(500, f"judge failed: {type(e).__name__}: {e}")
        return JSONResponse(response_body(results, reward.failure_reward))

    return app


def serve(app: FastAPI, host: str, port: int, log_level: str = "info") -> None:
    """uvicorn, with SIGTERM / SIGINT answering every open request at once (503) instead of waiting for it."""
    import uvicorn

    class RewardServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            app.state.scheduler.close_threadsafe()
            super().handle_exit(sig, frame)

    config = uvicorn.Config(app, host=host, port=port, log_level=log_level,
                            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
    RewardServer(config).run()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m model.reward.server", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="smollm2-135m", help="judge model spec (embedded name, Hub id, folder, "
                   "LoRA adapter folder) or the served model name for --backend openai")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--host", default="127.0.0.1", help="bind address (0.0.0.0 to serve other machines)")
    p.add_argument("--setting", choices=SETTING_NAMES, help="default: the judge's trained setting, "
                   "else skill_operational")
    p.add_argument("--mode", choices=MODES, default="pointwise")
    p.add_argument("--prompt-style", choices=PROMPT_STYLES, help="default: the judge's protocol, else full")
    p.add_argument("--max-steps", type=int, help="default: the judge's protocol, else 8")
    p.add_argument("--max-new-tokens", type=int, help="default: the judge's protocol, else 512")
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skills-dir", default="skills")
    p.add_argument("--failure-reward", type=float, default=0.0, help="reward of a sample whose judgment failed")
    p.add_argument("--timeout", type=float, default=None, help="wall-clock seconds per judge batch; unfinished "
                   "judgments get the failure reward (default: the requests' own deadlines)")
    p.add_argument("--request-timeout", type=float, default=DEFAULT_REQUEST_TIMEOUT_S, help="seconds from a "
                   "request's arrival to its answer (queue and judging); unjudged samples get the failure "
                   "reward; 0: no limit. Keep it below the client's timeout (OpenRLHF: 180 s)")
    p.add_argument("--max-body-mb", type=float, default=DEFAULT_MAX_BODY_MB, help="larger bodies get 413")
    p.add_argument("--max-request-samples", type=int, default=DEFAULT_MAX_REQUEST_SAMPLES,
                   help="requests with more samples get 413")
    p.add_argument("--max-batch-samples", type=int, default=DEFAULT_MAX_BATCH_SAMPLES,
                   help="samples per judge batch, taken round-robin from the open requests")
    p.add_argument("--batch-window-ms", type=float, default=5.0, help="an idle server waits this long for "
                   "requests sent together, to judge them in one batch")
    p.add_argument("--log-level", default="info")
    add_backend_args(p)
    return p


def reward_from_args(args: argparse.Namespace) -> JudgeReward:
    agent = AgentConfig(max_steps=args.max_steps, max_new_tokens=args.max_new_tokens, prompt_style=args.prompt_style,
                        temperature=args.temperature, seed=args.seed, skills_dir=args.skills_dir)
    return JudgeReward(args.model, backend=backend_config_from_args(args), setting=args.setting, mode=args.mode,
                       agent=agent, timeout_s=args.timeout, failure_reward=args.failure_reward)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        reward = reward_from_args(args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    app = create_app(reward, batch_window_ms=args.batch_window_ms, max_batch_samples=args.max_batch_samples,
                     request_timeout_s=args.request_timeout or None, max_request_samples=args.max_request_samples,
                     max_body_bytes=int(args.max_body_mb * MiB))
    reward.warmup()  # before the port opens: /health answers once the judge is loaded
    print(f"judge reward server: {reward!r} on http://{args.host}:{args.port}/get_reward", file=sys.stderr)
    serve(app, args.host, args.port, args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
