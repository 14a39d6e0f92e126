"""The openai backend against a real `transformers serve` on 127.0.0.1 (started and stopped here)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from model.agent import AgentConfig, run_agent
from model.backends.base import GenerationRequest, SamplingParams
from model.backends.openai_server import OpenAIBackend, _with_string_arguments
from model.records import JudgeTask, Resources
from tests.local_server import free_port, local_server

REPO = Path(__file__).resolve().parent.parent
TASK = JudgeTask(id="t1", source="test", kind="pairwise", domain="math", prompt="What is 6 x 7?",
                 candidates=["6 x 7 = 42. The answer is 42.", "6 x 7 = 36. The answer is 36."], gold=0,
                 resources=Resources(reference="42"))


def _dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there


@pytest.fixture(scope="module")
def server():
    """`transformers serve` on the embedded model (its converted HF folder), on a free local port."""
    from model.loading import resolve_spec

    exe = shutil.which("transformers", path=str(Path(sys.executable).parent)) or shutil.which("transformers")
    if exe is None:
        pytest.skip("the `transformers` CLI is not installed (pip install 'transformers[serving]')")
    folder = resolve_spec("smollm2-135m").path
    port = free_port()
    argv = [exe, "serve", "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", folder]
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"serve-{port}.log"
    with local_server(argv, port, log, env={"HF_HUB_OFFLINE": "1"}) as url:
        yield {"base_url": url + "/v1", "model": folder}


def test_arguments_are_serialised_for_the_api():
    msg = {"role": "assistant", "content": "", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "final_answer", "arguments": {"verdict": "A"}}}]}
    out = _with_string_arguments(msg)
    assert out["tool_calls"][0]["function"]["arguments"] == '{"verdict": "A"}'
    assert msg["tool_calls"][0]["function"]["arguments"] == {"verdict": "A"}  # the trajectory is untouched


def test_all_servers_down_is_a_reported_error_not_an_exception():
    backend = OpenAIBackend("m", [_dead_url(), _dead_url()], max_retries=1, backoff_s=0.01, timeout_s=2)
    [gen] = backend.generate([GenerationRequest([{"role": "user", "content": "hi"}])], SamplingParams())
    assert gen.finish_reason == "error" and "all servers failed" in gen.error


@pytest.mark.slow
def test_generation_with_failover(server):
    backend = OpenAIBackend(server["model"], [_dead_url(), server["base_url"]], max_retries=1, backoff_s=0.01)
    reqs = [GenerationRequest([{"role": "user", "content": f"Say the number {i}."}]) for i in range(3)]
    gens = backend.generate(reqs, SamplingParams(max_new_tokens=12, seed=0))
    assert len(gens) == 3
    for g in gens:
        assert g.error is None and g.text.strip()
        assert g.prompt_tokens > 0 and 0 < g.completion_tokens <= 12


@pytest.mark.slow
def test_agent_loop_over_the_server_in_text_tool_mode(server):
    backend = OpenAIBackend(server["model"], [server["base_url"]], tool_mode="text")
    cfg = AgentConfig(max_steps=2, max_new_tokens=32)
    for setting, order in (("baseline", [0, 1]), ("skill_operational", [1, 0])):
        trajs = run_agent(backend, [(TASK, order)], setting, cfg)
        for t in trajs:
            assert t.steps >= 1 and t.completion_tokens > 0
            assert t.parse_ok or t.meta["parse_error"]
            assert not any(g == "error" for g in t.meta["finish_reasons"])


@pytest.mark.slow
def test_judge_cli_with_the_openai_backend(server, tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"id": "p1", "prompt": "2+2?", "chosen": "4", "rejected": "5"}) + "\n")
    out = tmp_path / "judgments.jsonl"
    cmd = [sys.executable, "-m", "model.judge", "--backend", "openai", "--base-url", server["base_url"],
           "--model", server["model"], "--setting", "baseline", "--input", str(pairs), "--output", str(out),
           "--max-new-tokens", "32", "--no-progress"]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert sorted(tuple(r["order"]) for r in rows) == [(0, 1), (1, 0)]
    assert "| setting | pairs | pair accuracy |" in res.stdout
