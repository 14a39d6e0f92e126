"""Fair batching of the reward server's requests onto one judge.

Each request is a `Job` with its own queue of samples. The judge runs one batch at a time, of at most
`max_batch_samples` samples taken round-robin, one sample per job per round: a request of 10,000 samples
and one of 2 share every batch, so the small one is answered after at most one batch in flight plus
one batch of its own, whatever else is queued. Requests that arrive within `window_s` of an idle
server's first one are judged together.

Every job has a deadline (`request_timeout_s` from its arrival, queue included). At the deadline the
request is answered with what finished; every other sample gets the failure reward and an error saying
the request ran out of time (never a label). A batch is cancelled (at its next step boundary, or at
once when a step overruns) as soon as no request waits for it any more. `close()` (SIGTERM) fails
every open request as shutting down and abandons the running batch.

Batches run in daemon threads: a process that is told to exit never waits for a judge step.
"""
from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from model.reward.core import JudgeReward
from model.reward.inputs import RewardResult, RewardSample

REQUEST_TIMEOUT_ERROR = "request timeout: not judged within the request's {budget:g} s (queue and judging)"


class ShuttingDown(RuntimeError):
    """The server is exiting; the request was not (fully) judged."""


@dataclass(eq=False)
class Job:
    samples: list[RewardSample]
    arrival: float
    deadline: float
    future: asyncio.Future
    results: list[RewardResult | None] = field(default_factory=list)
    next: int = 0        # the first sample not handed to a batch yet
    unfinished: int = 0  # samples without a result
    expired: bool = False

    @property
    def pending(self) -> int:
        return len(self.samples) - self.next


class FairScheduler:
    def __init__(self, reward: JudgeReward, max_batch_samples: int = 64, window_s: float = 0.005,
                 request_timeout_s: float | None = 150.0):
        if max_batch_samples < 1:
            raise ValueError(f"max_batch_samples must be >= 1, got {max_batch_samples}")
        if request_timeout_s is not None and request_timeout_s <= 0:
            raise ValueError(f"request_timeout_s must be positive (or None), got {request_timeout_s}")
        self.reward = reward
        self.max_batch_samples = max_batch_samples
        self.window_s = window_s
        self.request_timeout_s = request_timeout_s
        self.jobs: collections.deque[Job] = collections.deque()  # open jobs, in round-robin order
        self.closed = False
        self.batches = 0
        self.request_timeouts = 0  # samples answered with REQUEST_TIMEOUT_ERROR
        self._running: list[tuple[Job, int]] = []
        self._cancel: threading.Event | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = self._loop.create_task(self._run())

    def close(self) -> None:
        """Fails every open request with ShuttingDown and abandons the running batch (in the loop's thread)."""
        self.closed = True
        if self._cancel is not None:
            self._cancel.set()
        for job in self.jobs:
            if not job.future.done():
                job.future.set_exception(ShuttingDown("the reward server is shutting down"))
        self.jobs.clear()
        if self._task is not None:
            self._task.cancel()

    def close_threadsafe(self) -> None:
        """close() from any thread, or from a signal handler."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.close)
        else:
            self.closed = True

    def depth(self) -> dict[str, Any]:
        """What /health reports: the open requests, their samples queued and in the running batch."""
        now = time.monotonic()
        return {"requests": len(self.jobs), "queued_samples": sum(j.pending for j in self.jobs),
                "running_samples": len(self._running), "batches": self.batches,
                "oldest_request_age_s": round(now - min((j.arrival for j in self.jobs), default=now), 3),
                "request_timeouts": self.request_timeouts}

    # -- requests -------------------------------------------------------------------------------------
    async def submit(self, samples: list[RewardSample]) -> list[RewardResult]:
        """The results of `samples`, in order; those not judged by the request's deadline fail as timeouts."""
        if self.closed or self._wake is None:
            raise ShuttingDown("the reward server is shutting down" if self.closed else "the scheduler is not started")
        now = time.monotonic()
        budget = self.request_timeout_s
        job = Job(samples=list(samples), arrival=now, deadline=now + budget if budget else float("inf"),
                  future=asyncio.get_running_loop().create_future(), results=[None] * len(samples),
                  unfinished=len(samples))
        self.jobs.append(job)
        self._wake.set()
        try:
            return await asyncio.wait_for(asyncio.shield(job.future), budget)
        except TimeoutError:
            return self._expire(job)
        finally:
            if job in self.jobs:
                self.jobs.remove(job)
            self._abandon_unwatched_batch()

    def _expire(self, job: Job) -> list[RewardResult]:
        job.expired = True
        error = REQUEST_TIMEOUT_ERROR.format(budget=self.request_timeout_s)
        fail = self.reward.failure_reward
        out = [r if r is not None else RewardResult(reward=fail, ok=False, error=error, timed_out=True)
               for r in job.results]
        self.request_timeouts += job.unfinished
        return out

    def _abandon_unwatched_batch(self) -> None:
        if self._cancel is not None and self._running and all(j.expired or j.future.done()
                                                              for j, _ in self._running):
            self._cancel.set()

    # -- batches --------------------------------------------------------------------------------------
    def _take_batch(self) -> list[tuple[Job, int]]:
        """Up to max_batch_samples (job, sample index) pairs, one per job per round."""
        batch: list[tuple[Job, int]] = []
        active = [j for j in self.jobs if j.pending]
        while active and len(batch) < self.max_batch_samples:
            for job in list(active):
                if len(batch) == self.max_batch_samples:
                    break
                batch.append((job, job.next))
                job.next += 1
                if not job.pending:
                    active.remove(job)
        if self.jobs:
            self.jobs.rotate(-1)  # the next batch starts its rounds with the next job
        return batch

    async def _run(self) -> None:
        assert self._wake is not None
        while not self.closed:
            if not any(j.pending for j in self.jobs):
                self._wake.clear()
                await self._wake.wait()
                if self.window_s > 0:
                    await asyncio.sleep(self.window_s)  # let the requests sent together arrive
                continue
            batch = self._take_batch()
            self._running, self._cancel = batch, threading.Event()
            self.batches += 1
            try:
                results = await in_daemon_thread(self.reward.score, [j.samples[i] for j, i in batch],
                                                 cancel=self._cancel)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - answered as a 500 to every request of the batch
                for job in {j for j, _ in batch}:
                    if not job.future.done():
                        job.future.set_exception(e)
                continue
            finally:
                self._running, self._cancel = [], None
            for (job, i), result in zip(batch, results):
                if job.expired or job.future.done():
                    continue
                job.results[i] = result
                job.unfinished -= 1
                if job.unfinished == 0:
                    job.future.set_result(list(job.results))


async def in_daemon_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs) in a daemon thread (unlike the default executor's, never joined at exit)."""
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def deliver(setter: Callable[[Any], None], value: Any) -> None:
        if not fut.done():
            setter(value)

    def run() -> None:
        try:
            value, setter = fn(*args, **kwargs), fut.set_result
        except BaseException as e:  # noqa: BLE001 - delivered to the awaiting coroutine
            value, setter = e, fut.set_exception
        try:
            loop.call_soon_threadsafe(deliver, setter, value)
        except RuntimeError:  # the loop is gone: nobody waits for the result
            pass

    threading.Thread(target=run, name="reward-batch", daemon=True).start()
    return await fut
