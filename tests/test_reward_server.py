"""The reward server (model/reward/server.py) in OpenRLHF's remote-RM format (model/reward/openrlhf.py):
query splitting, the HTTP contract (in-process uvicorn on a free 127.0.0.1 port), request batching,
errors, timeouts, the CLI. Limits, fairness and shutdown: tests/test_reward_server_limits.py."""
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from model.backends.scripted import ScriptedBackend
from model.reward import JudgeReward
from model.reward.openrlhf import clean_prompt, label_fields, split_query
from model.reward.server import create_app
from tests.local_server import free_port, local_server
from tests.test_reward import QUESTION, RIGHT, WRONG, Recorder, length_judge, math_judge

REPO = Path(__file__).resolve().parent.parent
CHATML_PROMPT = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                 f"<|im_start|>user\n{QUESTION}<|im_end|>\n<|im_start|>assistant\n")
LLAMA3_PROMPT = ("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
                 f"{QUESTION}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")


class InProcessServer:
    """uvicorn serving create_app(reward) in a thread on a free local port."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("the in-process reward server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


def openrlhf_request(prompts, responses, labels):
    """What OpenRLHF's remote_rm_fn_ray posts: query = decoded prompt + response (special tokens kept)."""
    return {"query": [p + r for p, r in zip(prompts, responses)], "prompts": prompts, "labels": labels}


# --- query splitting -----------------------------------------------------------------------------------

def test_split_query_with_the_prompt_and_chatml_markup():
    prompt, response = split_query(CHATML_PROMPT + RIGHT + "<|im_end|><|endoftext|>", CHATML_PROMPT)
    assert response == RIGHT
    assert prompt == [{"role": "system", "content": "You are a helpful assistant."},
                      {"role": "user", "content": QUESTION}]


def test_split_query_when_the_prompt_is_missing_or_differs_by_a_bos_token():
    assert split_query(LLAMA3_PROMPT + WRONG + "<|eot_id|>")[1] == WRONG  # no prompt: the template's marker
    assert split_query(LLAMA3_PROMPT + WRONG + "<|eot_id|>")[0] == [{"role": "user", "content": QUESTION}]
    no_bos = LLAMA3_PROMPT.replace("<|begin_of_text|>", "")
    assert split_query(LLAMA3_PROMPT + WRONG, no_bos)[1] == WRONG  # the prompt occurs inside the query
    plain = "Question: what is 2+2?\nAnswer:"
    assert split_query(plain + " 4</s>", plain) == (plain, "4")  # untemplated prompt (no --apply_chat_template)
    with pytest.raises(ValueError, match="cannot split"):
        split_query("just some text without any template", "a prompt that is not in it")
    assert clean_prompt("<s>[INST] hi [/INST]") == "[INST] hi [/INST]"


def test_labels_are_a_reference_or_a_mapping_of_resources():
    assert label_fields("18") == {"reference": "18"}
    assert label_fields(None) == {} and label_fields("") == {}
    assert label_fields('{"reference": "18", "baseline": "9"}') == {"reference": "18", "baseline": "9"}
    with pytest.raises(ValueError, match="unknown keys"):
        label_fields({"answer": "18"})


# --- the HTTP contract -----------------------------------------------------------------------------------

def test_openrlhf_shaped_request_gets_rewards_scores_and_extra_logs():
    rec = Recorder(math_judge)
    reward = JudgeReward(backend=rec.backend, setting="skill_operational")
    with InProcessServer(create_app(reward)) as srv:
        health = requests.get(f"{srv.url}/health", timeout=10).json()
        assert health["status"] == "ok" and health["mode"] == "pointwise" and health["setting"] == "skill_operational"
        body = openrlhf_request([CHATML_PROMPT] * 3, [RIGHT + "<|im_end|>", WRONG + "<|im_end|>", "no markers"],
                                ["18", "18", "18"])
        body["query"][2] = "text that cannot be split"
        r = requests.post(f"{srv.url}/get_reward", json=body, timeout=30)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["rewards"] == [pytest.approx(8 / 9), pytest.approx(1 / 9), 0.0]
        assert out["scores"] == out["rewards"]
        logs = out["extra_logs"]
        assert set(logs) == {"judge_ok", "judge_timeout", "judge_input_error", "judge_tool_calls"}
        assert all(len(v) == 3 for v in logs.values())  # OpenRLHF concatenates extra_logs per sample
        assert logs["judge_ok"] == [1.0, 1.0, 0.0] and logs["judge_input_error"] == [0.0, 0.0, 1.0]
        assert out["errors"][0] is None and "cannot split" in out["errors"][2]
        # the judge saw the clean response and the prompt as messages
        first = next(req for req in rec.requests if req.context.task.candidates[0] == RIGHT)
        assert first.context.task.prompt[-1] == {"role": "user", "content": QUESTION}
        stats = requests.get(f"{srv.url}/health", timeout=10).json()["stats"]
        assert stats["samples"] == 3 and stats["input_errors"] == 1 and stats["failed_samples"] == 1


def test_explicit_prompts_responses_and_pairwise_labels():
    rec = Recorder(length_judge)
    reward = JudgeReward(backend=rec.backend, setting="skill_fair", mode="pairwise")
    with InProcessServer(create_app(reward)) as srv:
        body = {"prompts": [QUESTION, [{"role": "user", "content": QUESTION}]],
                "responses": ["a long and careful answer", [{"role": "assistant", "content": "x"}]],
                "labels": [{"baseline": "short"}, '{"reference_response": "a much longer baseline answer"}']}
        out = requests.post(f"{srv.url}/get_reward", json=body, timeout=30).json()
        assert out["rewards"] == [1.0, 0.0]
        orders = sorted((r.context.task.id, tuple(r.context.order)) for r in rec.requests)
        assert len(orders) == 4 and {o for _, o in orders} == {(0, 1), (1, 0)}  # both orders per sample
        bad = requests.post(f"{srv.url}/get_reward", json={"prompts": ["q"], "responses": ["r"]}, timeout=30)
        assert bad.status_code == 400 and "baseline" in bad.json()["error"]


def test_malformed_requests_are_400_with_the_reason():
    reward = JudgeReward(backend=ScriptedBackend(length_judge), setting="baseline")
    with InProcessServer(create_app(reward)) as srv:
        url = f"{srv.url}/get_reward"
        assert requests.post(url, data="not json", timeout=10).status_code == 400
        r = requests.post(url, json={"prompts": ["a"]}, timeout=10)
        assert r.status_code == 400 and "query" in r.json()["error"]
        r = requests.post(url, json={"query": ["a", "b"], "labels": ["x"]}, timeout=10)
        assert r.status_code == 400 and "'labels' has 1 entries" in r.json()["error"]
        r = requests.post(url, json={"prompts": ["q"], "responses": ["r"], "constraints": [[{"kwargs": {}}]]},
                          timeout=10)
        assert r.status_code == 400 and r.json()["error"].startswith("sample 0:")
        assert requests.post(url, json={"query": []}, timeout=10).json()["rewards"] == []


def test_concurrent_requests_are_batched_into_one_judge_call():
    batch_sizes = []
    reward = JudgeReward(backend=ScriptedBackend(length_judge), setting="baseline")
    inner = reward.backend.generate

    def generate(reqs, sampling):
        batch_sizes.append(len(reqs))
        return inner(reqs, sampling)

    reward.backend.generate = generate
    app = create_app(reward, batch_window_ms=300)
    with InProcessServer(app) as srv:
        bodies = [{"prompts": ["q"] * k, "responses": ["x" * (10 * (k + i)) for i in range(k)]} for k in (1, 2, 3)]
        with ThreadPoolExecutor(3) as pool:
            outs = list(pool.map(lambda b: requests.post(f"{srv.url}/get_reward", json=b, timeout=30).json(), bodies))
        assert [len(o["rewards"]) for o in outs] == [1, 2, 3]
        for body, out in zip(bodies, outs):  # every request gets its own samples' rewards, in order
            expected = [(min(10, 1 + len(c) // 10) - 1) / 9 for c in body["responses"]]
            assert out["rewards"] == pytest.approx(expected)
        assert app.state.scheduler.batches == 1 and batch_sizes == [6]


def test_judge_timeout_and_request_timeout():
    def slow(req):
        time.sleep(1.0)
        return "[[9]]"

    judge_timeout = JudgeReward(backend=ScriptedBackend(slow), setting="baseline", timeout_s=0.2, failure_reward=0.0)
    with InProcessServer(create_app(judge_timeout)) as srv:
        out = requests.post(f"{srv.url}/get_reward", json={"prompts": ["q"], "responses": ["r"]}, timeout=30).json()
        assert out["rewards"] == [0.0] and out["extra_logs"]["judge_timeout"] == [1.0] and out["timed_out"] == 1
        assert out["errors"] == ["timeout"]
    time.sleep(1.0)  # let the overrunning step finish
    request_timeout = JudgeReward(backend=ScriptedBackend(slow), setting="baseline", failure_reward=0.1)
    with InProcessServer(create_app(request_timeout, request_timeout_s=0.3)) as srv:
        t0 = time.perf_counter()
        r = requests.post(f"{srv.url}/get_reward", json={"prompts": ["q"], "responses": ["r"]}, timeout=30)
        assert time.perf_counter() - t0 < 0.9  # answered at the request's deadline, not when the judge is done
        out = r.json()
        assert r.status_code == 200 and out["rewards"] == [0.1] and out["timed_out"] == 1
        assert out["errors"][0].startswith("request timeout") and out["extra_logs"]["judge_timeout"] == [1.0]
        health = requests.get(f"{srv.url}/health", timeout=10).json()
        assert health["queue"]["request_timeouts"] == 1 and health["request_timeout_s"] == 0.3


# --- the CLI ---------------------------------------------------------------------------------------------

def test_cli_help():
    out = subprocess.run([sys.executable, "-m", "model.reward.server", "--help"], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0
    for flag in ("--model", "--port", "--host", "--setting", "--mode", "--prompt-style", "--backend", "--base-url",
                 "--batch-size", "--timeout", "--request-timeout", "--failure-reward", "--batch-window-ms",
                 "--max-body-mb", "--max-request-samples", "--max-batch-samples"):
        assert flag in out.stdout


def test_cli_serves_openrlhf_requests_as_a_subprocess(tmp_path):
    port = free_port()
    argv = [sys.executable, "-m", "model.reward.server", "--model", "scripted-judge", "--port", str(port), "--host",
            "127.0.0.1", "--backend", "scripted:tests.test_reward:math_judge", "--setting", "skill_operational",
            "--mode", "pointwise", "--timeout", "30"]
    with local_server(argv, port, tmp_path / "serve.log", timeout_s=120) as url:
        body = openrlhf_request([LLAMA3_PROMPT] * 2, [RIGHT + "<|eot_id|>", WRONG + "<|eot_id|>"], ["18", "18"])
        out = requests.post(f"{url}/get_reward", json=body, timeout=60).json()
        assert out["rewards"] == [pytest.approx(8 / 9), pytest.approx(1 / 9)]
        assert requests.get(f"{url}/health", timeout=5).json()["backend"] == "scripted:math_judge"


@pytest.mark.slow
def test_cli_with_a_real_hf_model(tiny_model_dir, tmp_path):
    """The hf backend end to end: a random tiny Llama mostly fails to give a verdict; the server still answers
    with one number per sample and reports the failures per sample."""
    port = free_port()
    argv = [sys.executable, "-m", "model.reward.server", "--model", str(tiny_model_dir), "--port", str(port),
            "--backend", "hf", "--setting", "baseline", "--max-new-tokens", "8", "--batch-size", "2",
            "--timeout", "120"]
    with local_server(argv, port, tmp_path / "serve.log", timeout_s=300) as url:
        body = openrlhf_request([CHATML_PROMPT] * 2, [RIGHT + "<|im_end|>", WRONG + "<|im_end|>"], ["18", "18"])
        out = requests.post(f"{url}/get_reward", json=body, timeout=300).json()
        assert len(out["rewards"]) == 2 and all(0.0 <= x <= 1.0 for x in out["rewards"])
        ok = out["extra_logs"]["judge_ok"]
        assert all((e is None) == bool(k) for e, k in zip(out["errors"], ok))
        stats = requests.get(f"{url}/health", timeout=5).json()["stats"]
        assert stats["judgments"] == 2 and stats["failed_samples"] == 2 - sum(ok)
