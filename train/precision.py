"""The training precision, resolved from what the hardware really does.

`precision: auto` means: bf16 on a GPU with native bf16, fp32 on other GPUs, and on a CPU bf16
autocast (`amp_bf16`, fp32 master weights) only where a bf16 matmul is measured faster than an fp32
one. CPUs differ: with AVX512-BF16 or AMX a bf16 matmul runs ~2x faster than fp32; on an AVX2-only CPU
oneDNN emulates it ~30x slower, which makes amp_bf16 training tens of times slower. The CPU's
capability and flags say which kind it is; the probe (a few ms, once per process) is what decides.

The choice is pure (`choose`, tested with injected hardware facts); `resolve` gathers the facts,
agrees on one choice across ranks, and returns it with the reason that train.sft / train.rl log and
save next to their outputs.
"""
from __future__ import annotations

import functools
import platform
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

AMP_MIN_SPEEDUP = 1.5
"""`auto` picks amp_bf16 on a CPU only when the bf16 matmul is at least this much faster: the rest of
a training step (casts, norms, softmax, optimizer) gains less, and a marginal win is noise."""
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@dataclass(frozen=True)
class MatmulTiming:
    """Best-of-N wall time of one square matmul, fp32 vs bf16 inputs."""

    fp32_ms: float
    bf16_ms: float

    @property
    def bf16_speedup(self) -> float:
        return self.fp32_ms / self.bf16_ms

    def describe(self) -> str:
        s = self.bf16_speedup
        return (f"bf16 matmul {s:.1f}x faster than fp32" if s >= 1
                else f"bf16 matmul {1 / s:.0f}x slower than fp32" if s < 0.5
                else f"bf16 matmul {1 / s:.1f}x slower than fp32")


@dataclass(frozen=True)
class Hardware:
    """What the choice depends on. `name` is for messages: the CPU's capability (and its bf16 flags),
    or the GPU's name and compute capability."""

    device: str  # "cpu" | "cuda"
    name: str
    native_bf16: bool  # cuda: bf16 without emulation; cpu: an avx512_bf16 / amx_bf16 flag
    matmul: MatmulTiming | None = None  # cpu only, when measured


@dataclass(frozen=True)
class PrecisionChoice:
    requested: str
    precision: str  # fp32 | bf16 | amp_bf16: what the run uses
    reason: str
    warning: str | None = None

    def summary(self) -> str:
        head = self.precision if self.requested == self.precision else f"{self.requested} -> {self.precision}"
        return f"{head} ({self.reason})"

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def choose(requested: str, hw: Hardware) -> PrecisionChoice:
    """The precision for `requested` (auto | fp32 | bf16 | amp_bf16) on `hw`. Raises ValueError for
    bf16 weights on a CPU (DeepSpeed's CPU accelerator trains fp32 masters only)."""
    if hw.device == "cuda":
        if requested == "auto":
            if hw.native_bf16:
                return PrecisionChoice(requested, "bf16", f"cuda {hw.name}: native bf16")
            return PrecisionChoice(requested, "fp32", f"cuda {hw.name}: no native bf16")
        warning = None
        if requested in ("bf16", "amp_bf16") and not hw.native_bf16:
            warning = (f"precision={requested}: {hw.name} has no native bf16 (emulated, slow); "
                       f"precision=auto picks fp32 here")
        return PrecisionChoice(requested, requested, f"cuda {hw.name}: as configured", warning)

    if requested == "bf16":
        raise ValueError("precision=bf16 needs a GPU; on CPU use fp32, amp_bf16 (bf16 autocast, fp32 weights) "
                         "or auto")
    timing = f", {hw.matmul.describe()}" if hw.matmul else ""
    where = f"cpu {hw.name}{timing}"
    if requested == "auto":
        if hw.matmul is None:
            return PrecisionChoice(requested, "fp32", f"{where}, bf16 matmul not measured")
        fast = hw.matmul.bf16_speedup >= AMP_MIN_SPEEDUP
        return PrecisionChoice(requested, "amp_bf16" if fast else "fp32", where)
    warning = None
    if requested == "amp_bf16" and hw.matmul is not None and hw.matmul.bf16_speedup < 1:
        warning = (f"precision=amp_bf16 on this CPU ({hw.name}): {hw.matmul.describe()}, so training will be "
                   f"several times slower than at fp32; precision=auto picks fp32 here")
    return PrecisionChoice(requested, requested, f"{where}, as configured", warning)


# ------------------------------------------------------------------------------------ the facts

def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    m = re.search(r"^(?:flags|Features)\s*:(.*)$", text, re.M)
    return set(m.group(1).split()) if m else set()


def cpu_model() -> str:
    try:
        m = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        if m:
            return m.group(1).strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_kind() -> str:
    """`torch.backends.cpu.get_cpu_capability()` (what ATen dispatches to; AVX2 under
    ATEN_CPU_CAPABILITY=avx2) and the bf16 flags /proc/cpuinfo reports, e.g. 'AVX512, cpuinfo: avx512_bf16'."""
    flags = [f for f in BF16_CPU_FLAGS if f in cpu_flags()]
    return f"{torch.backends.cpu.get_cpu_capability()}, cpuinfo: {'/'.join(flags) or 'no avx512_bf16/amx_bf16'}"


@functools.cache
def probe_cpu_matmul(n: int = 256, reps: int = 20, budget_s: float = 0.25) -> MatmulTiming:
    """fp32 vs bf16 `n x n` matmul, interleaved, best of `reps`, on one thread.

    20 rounds, not 5: one quickstart on an AVX512-BF16 machine measured "1.1x slower" for its first
    SFT and "2.0x faster" for its second (five rounds while other work shared the two cores); a
    fast matmul pair costs ~0.5 ms, so the extra rounds are free.

    One thread, because on a shared machine a multi-threaded micro-kernel measures the scheduler
    (a descheduled worker adds a whole time slice) rather than the arithmetic; the per-core kernel
    ratio is what carries over to training. Stops early past `budget_s` (an emulated bf16 matmul is
    ~15 ms at n=256). Cached: one probe per process."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        g = torch.Generator().manual_seed(0)
        a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
        ah, bh = a.bfloat16(), b.bfloat16()
        best = {"fp32": float("inf"), "bf16": float("inf")}
        start = time.perf_counter()
        for i in range(reps + 1):  # the first round warms up (oneDNN builds its kernels)
            for key, (x, y) in (("fp32", (a, b)), ("bf16", (ah, bh))):
                t0 = time.perf_counter()
                torch.mm(x, y)
                if i:
                    best[key] = min(best[key], time.perf_counter() - t0)
            if i and time.perf_counter() - start > budget_s:
                break
    finally:
        torch.set_num_threads(threads)
    return MatmulTiming(fp32_ms=best["fp32"] * 1e3, bf16_ms=best["bf16"] * 1e3)


def detect_hardware(requested: str) -> Hardware:
    if torch.cuda.is_available():
        major, minor = torch.cuda.get_device_capability()
        return Hardware("cuda", f"{torch.cuda.get_device_name()} (sm_{major}{minor})",
                        torch.cuda.is_bf16_supported(including_emulation=False))
    flags = cpu_flags()
    probe = probe_cpu_matmul() if requested in ("auto", "amp_bf16") else None
    return Hardware("cpu", cpu_kind(), any(f in flags for f in BF16_CPU_FLAGS), probe)


def resolve(requested: str) -> PrecisionChoice:
    """The run's precision. Under a process group, rank 0's choice is every rank's (a probe is a
    measurement: two ranks must not train in two precisions)."""
    import torch.distributed as dist

    multi = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
    choice = None
    if not multi or dist.get_rank() == 0:
        choice = choose(requested, detect_hardware(requested))
    if multi:
        box = [choice]
        dist.broadcast_object_list(box, src=0)
        choice = box[0]
    return choice


def annotate_saved_config(path: str | Path, choice: PrecisionChoice) -> None:
    """Adds the resolution to the saved config.yaml as a comment on its `precision:` line: the file
    keeps the requested value (re-running it resolves again on the machine it runs on) and stays
    loadable by model.config.load_config."""
    p = Path(path)
    note = f"# resolved: {choice.precision} ({choice.reason})"
    text = re.sub(r"^(precision: .*)$", lambda m: f"{m.group(1)}  {note}", p.read_text(encoding="utf-8"),
                  count=1, flags=re.M)
    p.write_text(text, encoding="utf-8")
