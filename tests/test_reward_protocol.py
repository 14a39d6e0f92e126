"""Every reward entry point judges with the judge's trained protocol (judge_config.json in its model
folder) unless told otherwise: JudgeReward, verl's compute_score (the shared reward) and the server CLI."""
import json
import warnings

import pytest

import model.protocol as protocol_mod
import model.reward.shared as shared_mod
from model.agent import AgentConfig, load_skills
from model.backends.scripted import ScriptedBackend
from model.prompts import PromptOptions, initial_messages
from model.protocol import BASELINE, SKILL_FAIR, SKILL_OPERATIONAL, JudgeProtocol
from model.records import JudgeTask, Resources
from model.reward import ENV_VARS, JudgeReward, compute_score
from model.reward.server import build_parser, reward_from_args
from tests.test_reward import QUESTION, RIGHT, Recorder, length_judge


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(protocol_mod, "_WARNED", set())


@pytest.fixture
def compact_judge(tmp_path):
    """A model folder whose judge was trained in skill_fair with the compact prompt, ties off."""
    folder = tmp_path / "judge"
    JudgeProtocol(settings=[SKILL_FAIR, SKILL_OPERATIONAL], prompt_style="compact", allow_tie=False,
                  max_steps=5, max_new_tokens=300).save(folder)
    return folder


def expected_messages(setting, style, allow_tie):
    task = JudgeTask(id="expected", source="reward", kind="pointwise", prompt=QUESTION, candidates=[RIGHT],
                     resources=Resources(reference="18"))
    catalog = load_skills(AgentConfig()).catalog_text()
    return initial_messages(task, [0], setting, catalog, PromptOptions(allow_tie=allow_tie, style=style))


def dumps(messages):
    return json.dumps(messages, ensure_ascii=False, sort_keys=True)


def test_judge_reward_builds_the_trained_compact_prompt_byte_for_byte(compact_judge):
    seen = []

    def judge(req):
        seen.append((dumps(req.messages), req.context.prompt_style))  # as sent, before the episode goes on
        return length_judge(req)

    reward = JudgeReward(str(compact_judge), backend=ScriptedBackend(judge))  # no protocol flags at all
    assert reward.setting == SKILL_FAIR  # the protocol's first setting
    assert (reward.agent.prompt_style, reward.agent.allow_tie, reward.agent.max_steps,
            reward.agent.max_new_tokens) == ("compact", False, 5, 300)
    reward(prompts=[QUESTION], completions=[RIGHT], reference=["18"])
    [(first, style)] = seen  # one step: the initial messages, nothing else
    assert first == dumps(expected_messages(SKILL_FAIR, "compact", allow_tie=False))
    assert first != dumps(expected_messages(SKILL_FAIR, "full", allow_tie=False))  # the check can fail
    assert style == "compact"


def test_without_a_protocol_the_defaults_apply(compact_judge, tmp_path):
    plain = JudgeReward(str(tmp_path), backend=Recorder(length_judge).backend)  # a folder without judge_config.json
    assert plain.protocol is None and plain.setting == SKILL_OPERATIONAL and plain.agent.prompt_style == "full"
    off = JudgeReward(str(compact_judge), backend=Recorder(length_judge).backend, protocol=None)
    assert off.setting == SKILL_OPERATIONAL and off.agent.prompt_style == "full" and off.agent.allow_tie
    given = JudgeReward(backend=Recorder(length_judge).backend, protocol=JudgeProtocol(settings=[BASELINE]))
    assert given.setting == BASELINE
    with pytest.raises(ValueError, match="protocol must be"):
        JudgeReward(backend=Recorder(length_judge).backend, protocol="auto")


def test_an_explicit_setting_or_prompt_style_that_differs_warns_once(compact_judge):
    rec = Recorder(length_judge)
    with pytest.warns(UserWarning, match=r"JudgeReward: prompt_style='full' differs .*prompt_style='compact'"):
        reward = JudgeReward(str(compact_judge), backend=rec.backend, agent=AgentConfig(prompt_style="full"))
    assert reward.agent.prompt_style == "full"  # the explicit value is kept
    with pytest.warns(UserWarning, match=r"judging in \['baseline'\], but the judge was trained on"):
        assert JudgeReward(str(compact_judge), backend=rec.backend, setting=BASELINE).setting == BASELINE
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once: the same difference does not warn again
        JudgeReward(str(compact_judge), backend=rec.backend, agent=AgentConfig(prompt_style="full"))
        JudgeReward(str(compact_judge), backend=rec.backend, setting=SKILL_OPERATIONAL)  # trained: no warning


def test_compute_score_reads_the_protocol_of_its_model(compact_judge, monkeypatch):
    monkeypatch.setattr(shared_mod, "_SHARED", {})
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SKILLRM_REWARD_MODEL", str(compact_judge))
    monkeypatch.setenv("SKILLRM_REWARD_BACKEND", "scripted:tests.test_reward:length_judge")
    assert 0.0 <= compute_score("src", RIGHT, "18", {"question": QUESTION}) <= 1.0
    [shared] = shared_mod._SHARED.values()
    assert shared.setting == SKILL_FAIR and shared.agent.prompt_style == "compact"


def test_the_server_cli_reads_the_protocol_and_its_flags_override_it(compact_judge):
    backend = ["--backend", "scripted:tests.test_reward:length_judge"]
    reward = reward_from_args(build_parser().parse_args(["--model", str(compact_judge), *backend]))
    assert reward.setting == SKILL_FAIR and reward.agent.prompt_style == "compact" and reward.agent.max_steps == 5
    with pytest.warns(UserWarning, match="max_steps=3 differs"):
        reward = reward_from_args(build_parser().parse_args(["--model", str(compact_judge), "--max-steps", "3",
                                                             "--setting", SKILL_OPERATIONAL, *backend]))
    assert reward.setting == SKILL_OPERATIONAL and reward.agent.max_steps == 3
