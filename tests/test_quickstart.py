"""The main job: the quickstart pipeline at toy size (wiring, determinism), and in full with every
command of the README run literally afterwards (README rule: every command in it is run by a test)."""
import json
import os
import re
import shlex
import socket
import subprocess
from pathlib import Path

import pytest

from tests.local_server import local_server

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"


def _env(**extra):
    env = dict(os.environ, HF_HUB_OFFLINE="1", WANDB_MODE="disabled", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def _quickstart(out: Path | None, toy: bool, timeout: int):
    env = _env(QUICKSTART_TOY="1" if toy else "0")
    if out is not None:
        env["QUICKSTART_OUT"] = str(out)
    return subprocess.run(["bash", "scripts/quickstart.sh"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _stable(metrics: dict) -> dict:
    metrics = json.loads(json.dumps(metrics))
    metrics.pop("timings_s", None)
    for row in metrics["judges"]:
        row.pop("judgments_per_s", None)
    return metrics


@pytest.mark.slow
@pytest.mark.timeout(3000)
def test_quickstart_toy_wiring_and_determinism(tmp_path):
    runs = []
    for name in ("a", "b"):
        res = _quickstart(tmp_path / name, toy=True, timeout=1500)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        out = tmp_path / name
        for f in ("report.md", "metrics.json", "quickstart.png", "timings.tsv"):
            assert (out / f).exists(), f
        runs.append(json.loads((out / "metrics.json").read_text()))
        assert "| judge | fair inputs | operational inputs |" in res.stdout  # the report is printed last
        assert res.stdout.rstrip().splitlines()[-1].startswith("Stage times")
    cells = {(r["judge"], r["setting"]) for r in runs[0]["judges"]}
    assert cells == {("base model, direct judge", "baseline"), ("base model, direct judge", "baseline_operational"),
                     ("base model, skill prompting", "skill_fair"),
                     ("base model, skill prompting", "skill_operational"),
                     ("direct-judge SFT", "baseline"), ("direct-judge SFT", "baseline_operational"),
                     ("skill SFT (ours)", "skill_fair"), ("skill SFT (ours)", "skill_operational")}
    assert "skill SFT (ours) [skill_fair] - direct-judge SFT [baseline]" in runs[0]["margins"]
    assert _stable(runs[0]) == _stable(runs[1])  # seeded: two runs give the same table


# ---- the full quickstart, then every README command -------------------------------------------

def readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), re.DOTALL)
    cmds = []
    for block in blocks:
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                cmds.append(line)
    return cmds


def test_readme_starts_with_exactly_the_two_setup_commands():
    first = re.search(r"```bash\n(.*?)```", README.read_text(), re.DOTALL).group(1)
    lines = [ln.split("#")[0].strip() for ln in first.splitlines() if ln.strip()]
    assert lines == ["bash scripts/quickstart.sh", "bash scripts/test.sh"]
    ci = (REPO / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in ci


@pytest.fixture(scope="module")
def full_quickstart():
    res = _quickstart(None, toy=False, timeout=4500)
    (REPO / "outputs" / "quickstart").mkdir(parents=True, exist_ok=True)
    (REPO / "outputs" / "quickstart" / "quickstart.log").write_text(res.stdout + res.stderr)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout


@pytest.mark.slow
@pytest.mark.timeout(4800)  # includes the fixture: the quickstart (~30 min on 2 AVX512-BF16 cores, ~44 on AVX2)
def test_full_quickstart_report(full_quickstart):
    out = REPO / "outputs" / "quickstart"
    metrics = json.loads((out / "metrics.json").read_text())
    judges = {r["judge"]: r for r in metrics["judges"]}
    assert set(judges) >= {"base model, direct judge", "base model, skill prompting", "direct-judge SFT",
                           "skill SFT (ours)"}
    assert all(r["pairs"] == judges["skill SFT (ours)"]["pairs"] > 0 for r in judges.values())
    for skill, direct in (("skill_fair", "baseline"), ("skill_operational", "baseline_operational")):
        assert f"skill SFT (ours) [{skill}] - direct-judge SFT [{direct}]" in metrics["margins"]
    report = (out / "report.md").read_text()
    assert "The 2x2 grid" in report and "Margins" in report and "CPU:" in report


@pytest.mark.slow
@pytest.mark.timeout(4800)
def test_every_readme_command_runs(full_quickstart, tmp_path):
    """Stage commands must be exactly those the quickstart ran; the others are run here, verbatim."""
    ran = {m.strip() for m in re.findall(r"^=== [\w.]+: (.*)$", full_quickstart, re.MULTILINE)}
    setup = {"bash scripts/quickstart.sh", "bash scripts/test.sh"}  # the quickstart above; CI runs the tests
    for cmd in readme_commands():
        if cmd in setup or cmd in ran:
            continue
        if "model.reward.server" in cmd:
            _run_server(cmd, tmp_path / "serve.log")
            continue
        res = subprocess.run(cmd, shell=True, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=1800)
        assert res.returncode == 0, f"README command failed: {cmd}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}"


def _run_server(cmd: str, log: Path) -> None:
    port = int(re.search(r"--port (\d+)", cmd).group(1))
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            pytest.fail(f"port {port} of the README's server command is taken")
    with local_server(shlex.split(cmd), port, log, env=_env()):
        pass  # it came up and answered /health
