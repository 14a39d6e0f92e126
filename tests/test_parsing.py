"""Tool-call parsing (text and native) and verdict parsing: robust, and never guessing."""
import pytest

from model.toolcall import parse_native_tool_calls, parse_text_tool_calls
from model.verdict import normalize_label, parse_verdict_text, parse_verdict_value

AB = ["A", "B"]


def test_text_tool_calls_several_blocks_and_content():
    text = ('Checking.\n<tool_call>\n{"name": "use_skill", "arguments": {"skill_name": "reward_judge"}}\n'
            '</tool_call>\n<tool_call>{"name": "list_resources", "arguments": "{}"}</tool_call>')
    out = parse_text_tool_calls(text)
    assert out.content == "Checking."
    assert [c.name for c in out.tool_calls] == ["use_skill", "list_resources"]
    assert out.tool_calls[0].arguments == {"skill_name": "reward_judge"}
    assert out.tool_calls[1].arguments == {}
    assert out.errors == []
    assert len({c.id for c in out.tool_calls}) == 2


def test_text_tool_call_cut_off_closing_tag_and_trailing_text():
    out = parse_text_tool_calls('<tool_call>\n{"name": "final_answer", "arguments": {"verdict": "B"}} extra')
    assert out.tool_calls[0].name == "final_answer" and out.tool_calls[0].arguments == {"verdict": "B"}


@pytest.mark.parametrize("block,error", [
    ('{"name": "x", "arguments": {"a": }', "not valid JSON"),
    ('{"arguments": {}}', "no 'name'"),
    ('["use_skill"]', "JSON object"),
    ('{"name": "x", "arguments": "not json"}', "not a JSON object"),
])
def test_malformed_text_tool_calls_become_errors(block, error):
    out = parse_text_tool_calls(f"<tool_call>{block}</tool_call>")
    assert out.tool_calls == []
    assert len(out.errors) == 1 and error in out.errors[0]


def test_bare_json_reply_is_a_tool_call_but_prose_is_not():
    out = parse_text_tool_calls('{"name": "final_answer", "arguments": {"verdict": "A"}}')
    assert out.tool_calls and out.tool_calls[0].arguments["verdict"] == "A"
    out = parse_text_tool_calls('The JSON {"verdict": "A"} says A.')
    assert out.tool_calls == [] and out.errors == []


def test_native_tool_calls_with_string_and_bad_arguments():
    calls, errors = parse_native_tool_calls([
        {"id": "x1", "type": "function", "function": {"name": "view_resource", "arguments": '{"path": "rubric.math"}'}},
        {"id": "x2", "type": "function", "function": {"name": "run_resource", "arguments": "{bad"}},
    ])
    assert [(c.id, c.name, c.arguments) for c in calls] == [("x1", "view_resource", {"path": "rubric.math"})]
    assert len(errors) == 1


@pytest.mark.parametrize("text,label,how", [
    ("Both are fine but A is right.\n[[A]]", "A", "brackets"),
    ("Reasoning... [[B]]", "B", "brackets"),
    ('{"verdict": "B", "confidence": 0.8}', "B", "json"),
    ("Final: A", "A", "final_line"),
    ("Final verdict: Response B", "B", "final_line"),
    ("Verdict: (A)", "A", "final_line"),
    ("They are equal. [[tie]]", "tie", "brackets"),
    ("\\boxed{B}", "B", "boxed"),
    ("My final verdict is a tie.", "tie", "final_line"),
    ("**Verdict:** A", "A", "final_line"),
    ("The better response is A.", "A", "final_line"),
    ("Winner - B", "B", "final_line"),
    ("A", "A", "standalone"),
    ("After checking both:\n**B**", "B", "standalone"),
    ("Response B.", "B", "standalone"),
])
def test_text_verdicts(text, label, how):
    v = parse_verdict_text(text, AB)
    assert v.ok and v.label == label and v.how == how


@pytest.mark.parametrize("text", ["", "I cannot decide.", "Response A is longer.", "[[C]]", "Final: maybe"])
def test_unparseable_text_is_reported_not_defaulted(text):
    v = parse_verdict_text(text, AB)
    assert not v.ok and v.label is None and v.error


@pytest.mark.parametrize("text", [
    "The verdict is a close call but overall B is better.",  # 'a' is an article, not response A
    "Verdict: A close call; B may be better.",
    "final verdict: a",                                      # lowercase letters in prose are words
    "My verdict is that A is shorter and B is longer.",
    "A is correct but B is clearer.",
    "Answer a question about the text.",
    "The final answer is a matter of taste.",
    "Verdict:",
    "I prefer B over A\nbut it is hard to say",
])
def test_prose_that_merely_mentions_a_label_is_no_verdict(text):
    v = parse_verdict_text(text, AB)
    assert not v.ok and v.label is None, (text, v)


@pytest.mark.parametrize("text", [
    "[[A]] at first, but after checking: [[B]]",
    "Verdict: A\n[[B]]",
    '{"verdict": "A"}\nFinal verdict: B',
])
def test_conflicting_verdicts_are_a_parse_failure_not_a_pick(text):
    v = parse_verdict_text(text, AB)
    assert not v.ok and "conflicting" in v.error


def test_tie_only_when_allowed():
    assert not parse_verdict_text("[[tie]]", AB, allow_tie=False).ok
    assert parse_verdict_value("tie", AB, allow_tie=True).label == "tie"


def test_final_answer_values():
    assert parse_verdict_value("Response B", AB).label == "B"
    assert parse_verdict_value("b", AB).label == "B"
    assert not parse_verdict_value("C", AB).ok
    assert not parse_verdict_value(None, AB).ok
    assert parse_verdict_value("C", ["A", "B", "C", "D"]).label == "C"


@pytest.mark.parametrize("value,score", [(7, 7.0), ("8", 8.0), ("[[6]]", 6.0), ("9/10", 9.0)])
def test_pointwise_scores(value, score):
    assert parse_verdict_value(value, [], pointwise=True).score == score


def test_pointwise_out_of_range_and_text():
    assert not parse_verdict_value(11, [], pointwise=True).ok
    assert not parse_verdict_value(True, [], pointwise=True).ok
    assert parse_verdict_text("Solid answer. Rating: 7/10", [], pointwise=True).score == 7.0
    assert parse_verdict_text("Good. [[9]]", [], pointwise=True).score == 9.0
    assert not parse_verdict_text("Good answer.", [], pointwise=True).ok


def test_normalize_label():
    assert normalize_label("[[A]]", AB, True) == "A"
    assert normalize_label("Assistant B", AB, True) == "B"
    assert normalize_label("AB", AB, True) is None
