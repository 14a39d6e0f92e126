"""Config errors are one line naming file, key and expected type; a corrupt output row is redone alone."""
from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from model.config import ConfigError, load_config
from model.jsonl import ResumableWriter


@dataclass
class Cfg:
    name: str = "x"
    steps: int = 1


def _error(tmp_path, text: str, overrides=None) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(Cfg, path, overrides)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg, msg
    return msg


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    msg = _error(tmp_path, "name: a\nsteps: 2\nbad: [1, 2\n")
    assert f"{tmp_path / 'c.yaml'}:" in msg and "invalid YAML" in msg
    line = int(msg.split("c.yaml:")[1].split(":")[0])
    assert line in (3, 4), msg  # the unclosed list on line 3 is found at the end of the file


def test_unknown_key_and_wrong_type_name_the_key(tmp_path):
    assert "'nmae'" in _error(tmp_path, "nmae: a\n")
    msg = _error(tmp_path, "steps: many\n")
    assert "'steps'" in msg and "int" in msg.lower()
    msg = _error(tmp_path, "steps: 2\n", ["steps=lots"])
    assert "steps" in msg


def test_a_corrupt_output_line_is_warned_and_only_that_row_is_redone(tmp_path):
    path = tmp_path / "out.jsonl"
    rows = [{"id": i, "v": i * i} for i in range(5)]
    lines = [json.dumps(r) + "\n" for r in rows]
    lines[2] = '{"id": 2, "v": \n'  # a corrupt complete line in the middle
    path.write_text("".join(lines) + '{"id": 5, "v"')  # and a partial last line from a killed writer
    with pytest.warns(UserWarning, match=r"out\.jsonl:3: .*redone"):
        w = ResumableWriter(path, key=lambda r: r["id"])
    assert w.done == {0, 1, 3, 4}
    todo = [r for r in rows + [{"id": 5, "v": 25}] if r["id"] not in w.done]
    assert [r["id"] for r in todo] == [2, 5]
    w.write_many(todo)
    w.close()
    back = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted(r["id"] for r in back) == [0, 1, 2, 3, 4, 5]


def test_eval_run_with_a_missing_input_file_is_one_line_and_exit_2(tmp_path, capsys):
    from eval.run import main

    assert main(["--input", str(tmp_path / "nope.jsonl"), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "nope.jsonl" in err and "no such file" in err


@pytest.mark.parametrize("stage, config", [("data.generate", "configs/data/quickstart.yaml"),
                                           ("data.render", "configs/data/quickstart.yaml"),
                                           ("train.sft", "configs/train/sft_tiny.yaml"),
                                           ("train.rl", "configs/train/rl_quickstart.yaml"),
                                           ("eval.run", "configs/eval/quickstart.yaml")])
def test_every_stage_reports_a_bad_key_or_value_in_one_line_with_exit_2(stage, config, capsys):
    """A typo in an override is one line naming the key (no traceback), before any work starts."""
    import importlib

    main = importlib.import_module(stage if stage != "data.render" else "data.render.cli").main
    assert main(["--config", config, "no_such_key=1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("error:") and "no_such_key" in err, err
    if stage.startswith("train."):  # a value the schema accepts but the trainer cannot run
        assert main(["--config", config, "lr=-1.0"]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and "lr" in err, err
