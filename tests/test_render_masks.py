"""data.render.formats on the SmolLM2 tokenizer (project tool template): what the loss mask trains in a real
skill trajectory (run through the runtime), prefix consistency, and the direct-judge twin."""
from __future__ import annotations

import pytest

from model.agent import run_agent, tool_call
from model.backends.scripted import ScriptedBackend
from model.chat_template import IGNORE_INDEX, PROJECT_TOOL_TEMPLATE, render
from model.prompts import PromptOptions
from model.records import JudgeTask, Resources
from model.tools import tool_specs

MATH = JudgeTask(id="m1", source="test", kind="pairwise", domain="math",
                 prompt="Tom has 3 boxes of 6 apples. How many apples?",
                 candidates=["3 boxes x 6 = 18. The answer is 18.", "3 + 6 = 9. The answer is 9."],
                 gold=0, resources=Resources(reference="18"))


@pytest.fixture(scope="module")
def tok():
    from data.render.formats import prepare_tokenizer

    tok, info = prepare_tokenizer("smollm2-135m")
    assert tok.chat_template == PROJECT_TOOL_TEMPLATE and info["end_of_turn"] == "<|im_end|>"
    return tok


@pytest.fixture(scope="module")
def trajectory():
    def policy(req):
        turn = sum(1 for m in req.messages if m["role"] == "assistant")
        if turn == 0:
            return "I will compare the final answers with the reference.\n" + tool_call(
                "run_resource", resource_id="verifier.math_answer", reason="hard evidence")
        return "B matches the reference.\n" + tool_call("final_answer", verdict="B", confidence=0.9,
                                                        used_resources=["verifier.math_answer"], reason="18")
    [t] = run_agent(ScriptedBackend(policy), [(MATH, [1, 0])], "skill_operational")
    assert t.correct and t.messages[-1]["role"] == "tool"  # "Verdict recorded."
    return t


def spans(tok, ids, labels, trained=True):
    """Decoded runs of trained (or masked) tokens."""
    out, cur = [], []
    for i, lab in zip(ids, labels):
        if (lab != IGNORE_INDEX) == trained:
            cur.append(i)
        elif cur:
            out.append(tok.decode(cur))
            cur = []
    if cur:
        out.append(tok.decode(cur))
    return out


def test_skill_example_mask(tok, trajectory):
    from data.render.formats import encode_all, sft_row, skill_messages

    msgs = skill_messages(trajectory)
    assert msgs[-1]["role"] == "assistant" and len(msgs) == len(trajectory.messages) - 1
    [enc] = encode_all([(msgs, tool_specs(trajectory.setting))], tok, "smollm2-135m", progress=False)
    row = sft_row(MATH, trajectory.setting, trajectory.order, trajectory.verdict, msgs, enc)
    ids, labels = row["input_ids"].tolist(), row["labels"].tolist()
    assert row["n_tokens"] == len(ids) and row["n_trained"] == sum(x != IGNORE_INDEX for x in labels)
    assert all(lab in (IGNORE_INDEX, i) for i, lab in zip(ids, labels))  # labels are the ids, unshifted
    trained = spans(tok, ids, labels)
    assert len(trained) == 2  # one span per assistant turn
    assert trained[0].startswith("I will compare") and '"name": "run_resource"' in trained[0]
    assert trained[1].startswith("B matches") and '"verdict": "B"' in trained[1]
    assert all(s.endswith("</tool_call><|im_end|>") for s in trained)  # tool-call text and end of turn
    masked = "".join(spans(tok, ids, labels, trained=False))
    tool_output = trajectory.messages[3]["content"]
    assert "matches_reference" in tool_output and tool_output in masked  # tool output masked
    assert msgs[0]["content"] in masked and msgs[1]["content"] in masked  # system, user masked
    assert '"name": "final_answer"' in masked  # the tool definitions in the system prompt are masked
    assert masked.count("<|im_start|>assistant\n") == 2  # generation prompts masked
    eot = tok.convert_tokens_to_ids("<|im_end|>")
    assert sum(1 for i, lab in zip(ids, labels) if i == eot and lab != IGNORE_INDEX) == 2


def test_prefix_consistency_on_the_project_template(tok, trajectory):
    from data.render.formats import skill_messages

    msgs = skill_messages(trajectory)
    tools = tool_specs(trajectory.setting)
    full = render(tok, msgs, tools)
    for i, m in enumerate(msgs):
        if m["role"] == "assistant":
            before = render(tok, msgs[:i], tools, add_generation_prompt=True)
            upto = render(tok, msgs[: i + 1], tools)
            assert upto.startswith(before) and full.startswith(upto)
    # tokenizing the whole text equals what render_with_mask returns (no re-tokenization drift)
    from data.render.formats import encode_all

    [(ids, _)] = encode_all([(msgs, tool_specs(trajectory.setting))], tok, "smollm2-135m", progress=False)
    assert ids.tolist() == tok(full, add_special_tokens=False)["input_ids"]


def test_direct_twin_trains_only_the_verdict(tok, trajectory):
    from data.render.formats import direct_messages, encode_all, trains_token

    msgs = direct_messages(MATH, trajectory.order, trajectory.verdict, "baseline", PromptOptions())
    assert [m["role"] for m in msgs] == ["system", "user", "assistant"]
    assert msgs[-1]["content"] == "[[B]]" and "[[A]]" in msgs[0]["content"]  # the baseline's output format
    assert "<tools>" not in render(tok, msgs) and "<tool_call>" not in render(tok, msgs)
    [(ids, labels)] = encode_all([(msgs, None)], tok, "smollm2-135m", progress=False)
    assert spans(tok, ids.tolist(), labels.tolist()) == ["[[B]]<|im_end|>"]
    assert trains_token(ids, labels, tok.convert_tokens_to_ids("<|im_end|>"))


def test_a_template_error_is_returned_not_raised(tok):
    from data.render.formats import encode_all

    bad = [{"role": "system", "content": "s"}, {"role": "assistant", "content": None,
                                                "tool_calls": [{"function": {"name": "x"}}]}]
    [r] = encode_all([(bad, tool_specs("skill_fair"))], tok, "smollm2-135m", progress=False)
    assert isinstance(r, str) and r


def test_coloured_example(tok, trajectory):
    from data.render.formats import GREEN, GREY, coloured, encode_all, skill_messages

    msgs = skill_messages(trajectory)
    [(ids, labels)] = encode_all([(msgs, tool_specs(trajectory.setting))], tok, "smollm2-135m", progress=False)
    text = coloured(tok, ids, labels)
    assert text.startswith(GREY) and GREEN + "I will compare" in text
    plain = text.replace(GREEN, "").replace(GREY, "").replace("\033[0m", "")
    assert plain == tok.decode(ids.tolist())
