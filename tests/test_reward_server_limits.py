"""The reward server under abuse and load: body and sample caps (413), the per-request deadline, fair
batching (a huge request does not starve small ones), /health's queue depth, and SIGTERM while busy
(a real subprocess). Scripted judges that sleep stand in for a slow model."""
import http.client
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

from model.backends.scripted import ScriptedBackend
from model.reward import JudgeReward
from model.reward.server import create_app
from tests.local_server import free_port, local_server_process, tail
from tests.test_reward_server import InProcessServer


def rate_by_length(req):
    return f"[[{min(10, 1 + len(req.context.task.candidates[0]) // 10)}]]"


def slow_judge(seconds):
    def policy(req):
        time.sleep(seconds)
        return rate_by_length(req)
    return policy


def sleepy_judge(req):
    """For the SIGTERM test: a backend step that overruns by far."""
    time.sleep(60)
    return "[[5]]"


def body(n, text="an answer"):
    return {"prompts": ["q"] * n, "responses": [f"{text} {i}" for i in range(n)]}


def post(url, payload, timeout=60):
    return requests.post(f"{url}/get_reward", json=payload, timeout=timeout)


def fast_reward(**kw):
    return JudgeReward(backend=ScriptedBackend(rate_by_length), setting="baseline", **kw)


# --- caps ------------------------------------------------------------------------------------------------

def test_a_200_mb_body_is_refused_from_its_content_length_without_reading_it():
    with InProcessServer(create_app(fast_reward())) as srv:  # the default cap (64 MiB)
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        conn.putrequest("POST", "/get_reward")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(200 * 2 ** 20))
        conn.endheaders()  # and no body: the answer must not wait for it
        r = conn.getresponse()
        assert r.status == 413 and b"--max-body-mb" in r.read()
        conn.close()
        assert post(srv.url, body(2)).status_code == 200  # the server is fine afterwards


def test_a_chunked_body_is_cut_off_at_the_cap():
    with InProcessServer(create_app(fast_reward(), max_body_bytes=10_000)) as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        chunks = (b'{"prompts": [' + b'"q", ' * 5000 + b'"q"]}',)  # ~25 kB, no Content-Length
        conn.request("POST", "/get_reward", body=iter(chunks), headers={"Content-Type": "application/json"},
                     encode_chunked=True)
        r = conn.getresponse()
        assert r.status == 413 and b"more than 10000 bytes" in r.read()
        conn.close()
        small = requests.post(f"{srv.url}/get_reward", data=b'{"prompts": ["q"], "responses": ["r"]}', timeout=10)
        assert small.status_code == 200


def test_too_many_samples_is_413_with_the_flag_to_change():
    with InProcessServer(create_app(fast_reward(), max_request_samples=4)) as srv:
        r = post(srv.url, body(5))
        assert r.status_code == 413
        assert "holds 5 samples" in r.json()["error"] and "--max-request-samples" in r.json()["error"]
        assert len(post(srv.url, body(4)).json()["rewards"]) == 4
        queries = {"query": ["<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\nr"] * 5}
        assert post(srv.url, queries).status_code == 413  # OpenRLHF's query form counts the same


# --- deadlines and fairness ---------------------------------------------------------------------------------

def test_a_request_past_its_deadline_gets_what_finished_and_marked_failures_for_the_rest():
    reward = JudgeReward(backend=ScriptedBackend(slow_judge(0.2)), setting="baseline", failure_reward=0.05)
    with InProcessServer(create_app(reward, max_batch_samples=1, request_timeout_s=0.7)) as srv:
        t0 = time.perf_counter()
        out = post(srv.url, body(5, "x" * 40)).json()
        took = time.perf_counter() - t0
    assert took < 1.5, f"answered after {took:.2f} s, the deadline is 0.7 s"
    done = [e is None for e in out["errors"]]
    k = done.index(False)
    assert 1 <= k <= 4 and not any(done[k:]), done  # batches of one: a prefix finished, the rest did not
    assert out["rewards"] == [pytest.approx(4 / 9)] * k + [0.05] * (5 - k)
    assert all(e.startswith("request timeout: not judged within the request's 0.7 s") for e in out["errors"][k:])
    assert out["extra_logs"]["judge_timeout"] == [0.0] * k + [1.0] * (5 - k) and out["timed_out"] == 5 - k


@pytest.mark.parametrize("fair", [True, False])
def test_a_huge_request_does_not_starve_small_ones(fair):
    """200 samples at 10 ms each (2 s of judging) with small requests arriving while it runs: in batches
    of 8 taken round-robin, each small request is answered after about two batches; with one unbounded
    batch per request (fair=False, what the server did before) it waits for the whole huge request."""
    reward = JudgeReward(backend=ScriptedBackend(slow_judge(0.01)), setting="baseline")
    app = create_app(reward, max_batch_samples=8 if fair else 100_000, batch_window_ms=0)
    with InProcessServer(app) as srv:
        huge: dict = {}

        def send_huge():
            huge["out"] = post(srv.url, body(200)).json()
            huge["done"] = time.perf_counter()

        thread = threading.Thread(target=send_huge)
        thread.start()
        deadline = time.time() + 10
        while requests.get(f"{srv.url}/health", timeout=5).json()["queue"]["running_samples"] == 0:
            assert time.time() < deadline, "the huge request never started"
            time.sleep(0.01)
        queue = requests.get(f"{srv.url}/health", timeout=5).json()["queue"]
        small = []
        for _ in range(3):
            t0 = time.perf_counter()
            out = post(srv.url, body(2)).json()
            small.append((time.perf_counter() - t0, time.perf_counter()))
            assert out["rewards"] == [pytest.approx(1 / 9)] * 2
        thread.join(30)
    assert len(huge["out"]["rewards"]) == 200 and all(e is None for e in huge["out"]["errors"])
    assert queue["requests"] == 1 and queue["running_samples"] == (8 if fair else 200)
    assert queue["queued_samples"] == (192 if fair else 0) and queue["oldest_request_age_s"] >= 0
    if fair:
        assert all(done < huge["done"] for _, done in small), "small requests finished after the huge one"
        assert max(lat for lat, _ in small) < 0.6, small
    else:  # the check above can fail: without bounded batches the first small request waits for everything
        assert small[0][1] > huge["done"] - 0.05


# --- shutdown ------------------------------------------------------------------------------------------------

def test_sigterm_while_busy_answers_503_and_exits_within_5_seconds(tmp_path):
    port = free_port()
    argv = [sys.executable, "-m", "model.reward.server", "--model", "scripted-judge", "--port", str(port),
            "--backend", "scripted:tests.test_reward_server_limits:sleepy_judge", "--setting", "baseline"]
    with local_server_process(argv, port, tmp_path / "serve.log", timeout_s=120) as (proc, url):
        answer: dict = {}

        def send():
            try:
                r = post(url, body(3), timeout=60)
                answer["status"], answer["body"] = r.status_code, r.json()
            except requests.RequestException as e:
                answer["error"] = repr(e)

        thread = threading.Thread(target=send)
        thread.start()
        deadline = time.time() + 20
        while requests.get(f"{url}/health", timeout=5).json()["queue"]["running_samples"] == 0:
            assert time.time() < deadline, "the request never reached the judge"
            time.sleep(0.05)
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running 10 s after SIGTERM:\n{tail(tmp_path / 'serve.log')}")
        took = time.perf_counter() - t0
        thread.join(10)
    assert took < 5.0, f"exited {took:.1f} s after SIGTERM"
    assert answer.get("status") == 503 and "shutting down" in answer["body"]["error"], answer
