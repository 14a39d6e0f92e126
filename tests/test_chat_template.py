"""Rendering with tool calls and the prefix-derived loss mask, on every supported template kind."""
import copy

import pytest

from model.chat_template import (
    IGNORE_INDEX,
    PROJECT_TOOL_TEMPLATE,
    TemplateError,
    end_of_turn_token,
    ensure_tool_template,
    render,
    render_with_mask,
    template_supports_tools,
    to_text_protocol,
)

TOOLS = [{"type": "function", "function": {"name": "run_resource", "description": "run a verifier",
                                            "parameters": {"type": "object",
                                                           "properties": {"resource_id": {"type": "string"}}}}}]

CONVERSATION = [
    {"role": "system", "content": "You are a judge."},
    {"role": "user", "content": "[Question]\nWhat is 2+2?\n\n[Response A]\n4\n\n[Response B]\n5"},
    {"role": "assistant", "content": "I will check both answers.",
     "tool_calls": [{"id": "c0", "type": "function",
                     "function": {"name": "run_resource", "arguments": {"resource_id": "verifier.math_answer"}}},
                    {"id": "c1", "type": "function",
                     "function": {"name": "run_resource", "arguments": '{"resource_id": "verifier.math_extract"}'}}]},
    {"role": "tool", "tool_call_id": "c0", "content": "A: 4 matches the reference; B: 5 does not"},
    {"role": "tool", "tool_call_id": "c1", "content": "A=4, B=5 disagree"},
    {"role": "assistant", "content": "",
     "tool_calls": [{"id": "c2", "type": "function",
                     "function": {"name": "final_answer", "arguments": {"verdict": "A", "confidence": 0.9}}}]},
]

# A model whose own template knows tools (Qwen2.5-style ChatML, simplified for the test).
NATIVE_TOOL_TEMPLATE = (
    "{%- if tools %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '\\n\\n<tools>' }}"
    "{%- for t in tools %}{{- '\\n' + (t | tojson) }}{%- endfor %}{{- '\\n</tools><|im_end|>\\n' }}"
    "{%- else %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- endif %}"
    "{%- for m in messages[1:] %}"
    "{%- if m['role'] == 'assistant' %}{{- '<|im_start|>assistant\\n' + m['content'] }}"
    "{%- if m['tool_calls'] is defined %}{%- for tc in m['tool_calls'] %}"
    "{{- '\\n<tool_call>\\n{\"name\": \"' + tc['function']['name'] + '\", \"arguments\": ' }}"
    "{%- if tc['function']['arguments'] is string %}{{- tc['function']['arguments'] }}"
    "{%- else %}{{- tc['function']['arguments'] | tojson }}{%- endif %}{{- '}\\n</tool_call>' }}"
    "{%- endfor %}{%- endif %}{{- '<|im_end|>\\n' }}"
    "{%- elif m['role'] == 'tool' %}"
    "{{- '<|im_start|>user\\n<tool_response>\\n' + m['content'] + '\\n</tool_response><|im_end|>\\n' }}"
    "{%- else %}{{- '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{%- endif %}"
    "{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# A template that rewrites history (drops the content of earlier assistant turns): not maskable by prefixes.
HISTORY_REWRITING_TEMPLATE = (
    "{%- for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{%- if m['role'] == 'assistant' and not loop.last %}[earlier turn]{%- else %}{{ m['content'] }}{%- endif %}"
    "<|im_end|>\n{%- endfor %}{%- if add_generation_prompt %}<|im_start|>assistant\n{%- endif %}"
)


@pytest.fixture(scope="module")
def base_tokenizer(smollm_tokenizer):
    return smollm_tokenizer


def _tok(base, template):
    tok = copy.deepcopy(base)
    tok.chat_template = template
    return tok


def _trained_text(tok, ids, labels):
    return tok.decode([i for i, lab in zip(ids, labels) if lab != IGNORE_INDEX])


def test_smollm_template_has_no_tools_and_gets_project_template(base_tokenizer):
    tok = copy.deepcopy(base_tokenizer)
    assert not template_supports_tools(tok)
    ensure_tool_template(tok)
    assert tok.chat_template == PROJECT_TOOL_TEMPLATE
    assert template_supports_tools(tok)
    assert end_of_turn_token(tok) == "<|im_end|>"


@pytest.mark.parametrize("template", [PROJECT_TOOL_TEMPLATE, NATIVE_TOOL_TEMPLATE], ids=["project", "native"])
def test_mask_trains_exactly_the_assistant_turns(base_tokenizer, template):
    tok = _tok(base_tokenizer, template)
    ids, labels = render_with_mask(tok, CONVERSATION, TOOLS)
    assert len(ids) == len(labels)
    assert ids == tok(render(tok, CONVERSATION, TOOLS), add_special_tokens=False)["input_ids"]
    trained = _trained_text(tok, ids, labels)
    # assistant text, both tool calls, the final_answer call and each end-of-turn token are trained ...
    assert trained.startswith("I will check both answers.")
    assert "<tool_call>" in trained
    assert '"resource_id": "verifier.math_extract"' in trained
    assert '"name": "final_answer"' in trained
    assert trained.count("<|im_end|>") == 2
    # ... system, user, tool output and the generation prompt are not
    for masked in ("You are a judge", "What is 2+2", "matches the reference", "disagree", "<|im_start|>"):
        assert masked not in trained


def test_mask_spans_are_contiguous_per_assistant_turn(base_tokenizer):
    tok = _tok(base_tokenizer, PROJECT_TOOL_TEMPLATE)
    ids, labels = render_with_mask(tok, CONVERSATION, TOOLS)
    runs, inside = 0, False
    for lab in labels:
        if lab != IGNORE_INDEX and not inside:
            runs += 1
        inside = lab != IGNORE_INDEX
    assert runs == 2
    # the end-of-turn token closes each trained run
    eot = tok.convert_tokens_to_ids("<|im_end|>")
    last_trained = [k for k in range(len(labels)) if labels[k] != IGNORE_INDEX
                    and (k + 1 == len(labels) or labels[k + 1] == IGNORE_INDEX)]
    assert all(ids[k] == eot for k in last_trained)


def test_prefix_consistency_every_prefix(base_tokenizer):
    tok = _tok(base_tokenizer, PROJECT_TOOL_TEMPLATE)
    full = render(tok, CONVERSATION, TOOLS)
    # every prefix that ends where an assistant turn starts (consecutive tool messages share one turn)
    for i, m in enumerate(CONVERSATION):
        if m["role"] == "assistant":
            prefix = render(tok, CONVERSATION[:i], TOOLS, add_generation_prompt=True)
            assert full.startswith(prefix) and prefix.endswith("<|im_start|>assistant\n")


def test_history_rewriting_template_is_refused(base_tokenizer):
    tok = _tok(base_tokenizer, HISTORY_REWRITING_TEMPLATE)
    convo = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "first"},
             {"role": "user", "content": "more"}, {"role": "assistant", "content": "second"}]
    with pytest.raises(TemplateError, match="prefix-consistent"):
        render_with_mask(tok, convo)


def test_text_protocol_renders_like_the_project_template(base_tokenizer):
    project = _tok(base_tokenizer, PROJECT_TOOL_TEMPLATE)
    plain = copy.deepcopy(base_tokenizer)  # SmolLM2's own ChatML template, which knows no tools
    as_text = to_text_protocol(CONVERSATION, TOOLS)
    assert all(m["role"] in ("system", "user", "assistant") and "tool_calls" not in m for m in as_text)
    assert render(plain, as_text) == render(project, CONVERSATION, TOOLS)


def test_plain_conversation_without_tools_matches_chatml(base_tokenizer):
    project = _tok(base_tokenizer, PROJECT_TOOL_TEMPLATE)
    plain = copy.deepcopy(base_tokenizer)
    convo = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
             {"role": "assistant", "content": "a"}]
    assert render(project, convo, add_generation_prompt=False) == render(plain, convo)
