"""Skill packages and their loader: the shipped content, validation, progressive disclosure, CLI."""
from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from model.skills import (
    KNOWN_RUNNERS,
    SKILLS_ROOT,
    SkillError,
    SkillLibrary,
    load_skill,
    main,
    validate_skill,
)

REPO = Path(__file__).resolve().parent.parent
SHIPPED = ("reward_judge", "instruction_following")


@pytest.fixture(scope="module")
def library() -> SkillLibrary:
    return SkillLibrary()


@pytest.fixture(scope="module")
def judge(library):
    return library.get("reward_judge")


def _package_texts(name: str) -> dict[str, str]:
    root = SKILLS_ROOT / name
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(root.rglob("*")) if p.is_file()}


def _body_words(text: str) -> int:
    if text.startswith("---"):
        text = text.split("---", 2)[2]
    return len(text.split())


# ------------------------------------------------------------------------------------ shipped content


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_package_validates(name):
    assert validate_skill(SKILLS_ROOT / name) == []
    pkg = load_skill(SKILLS_ROOT / name)
    assert pkg.name == name and pkg.tool_budget >= 3 and pkg.instructions.strip()
    assert pkg.warnings == ()  # every content file is served by some resource
    # every runtime verifier points at a protocol document that is itself viewable
    for r in pkg.resources:
        if r.implementation_kind == "runtime_verifier":
            assert r.runner in KNOWN_RUNNERS
            assert f"protocol.{r.runner}" in [x.id for x in pkg.resources]
            assert pkg.get(f"protocol.{r.runner}").path == r.path


def test_library_catalog(library):
    assert set(SHIPPED) <= set(library.names())
    lines = library.catalog_text().splitlines()
    assert len(lines) == len(library.names())
    assert any(line.startswith("- reward_judge - ") for line in lines)
    with pytest.raises(SkillError, match="available: .*reward_judge"):
        library.get("nope")
    with pytest.raises(SkillError, match="unknown skill"):
        SkillLibrary(names=["nope"])
    assert SkillLibrary(names=["instruction_following"]).names() == ["instruction_following"]


def test_reward_judge_covers_every_runner_and_sample_field(judge):
    runners = {r.runner for r in judge.resources if r.runner}
    assert runners == set(KNOWN_RUNNERS)
    fields = {r.field: r for r in judge.resources if r.implementation_kind == "sample_field"}
    assert set(fields) == {"reference", "checklist", "constraints", "tests"}
    assert all(r.allowed_setting == ("skill_operational",) for r in fields.values())
    # verifiers that need the reference exist only where there is a reference
    for rid in ("verifier.math_answer", "verifier.reference_match"):
        assert judge.get(rid).requires == ("reference",)
        assert not judge.get(rid).allowed_in("skill_fair")
    types = {r.type for r in judge.resources}
    assert {"rubric", "principle", "bias_control", "aggregation_policy", "output_contract",
            "verifier_protocol", "verifier", "sample_resource"} <= types
    rubrics = {r.id for r in judge.resources if r.type == "rubric"}
    assert rubrics == {f"rubric.{d}" for d in
                       ("generic", "math", "code", "instruction_following", "safety", "factuality", "chat")}
    biases = {r.id for r in judge.resources if r.type == "bias_control"}
    assert biases == {f"bias.{b}" for b in ("position", "length", "style", "self_enhancement", "sycophancy")}


def test_instruction_following_has_checks(library):
    pkg = library.get("instruction_following")
    v = pkg.get("verifier.instruction_checks")
    assert v.runner == "instruction_checks" and v.accepts_args == ("constraints",)
    assert v.allowed_in("skill_fair")  # the judge can pass constraints it read in the prompt
    assert pkg.get("sample.constraints").allowed_setting == ("skill_operational",)
    assert pkg.resources_for("skill_fair", type="output_contract")


@pytest.mark.parametrize("name", SHIPPED)
def test_ids_mentioned_in_content_exist(name):
    """A document that names `some.id` must name a resource of the same package."""
    pkg = load_skill(SKILLS_ROOT / name)
    ids = {r.id for r in pkg.resources}
    prefixes = {i.split(".")[0] for i in ids}
    for rel, text in _package_texts(name).items():
        for token in re.findall(r"`([a-z_]+\.[a-z_]+)`", text):
            if token.split(".")[0] in prefixes:
                assert token in ids, f"{name}/{rel} mentions unknown resource `{token}`"


@pytest.mark.parametrize("name", SHIPPED)
def test_documents_are_short(name):
    for rel, text in _package_texts(name).items():
        if rel == "resources.yaml":
            continue
        limit = 900 if rel == "SKILL.md" else 400 if rel.startswith("rubrics/") else 600
        assert _body_words(text) < limit, f"{name}/{rel}: {_body_words(text)} words (limit {limit})"


@pytest.mark.parametrize("name", SHIPPED)
def test_no_gold_convention_words(name):
    """The judge must never learn the dataset's labelling conventions from the skill."""
    banned = re.compile(r"\b(chosen|rejected|gold|ground[ -]truth|label_?[ab]\b)", re.IGNORECASE)
    for rel, text in _package_texts(name).items():
        hit = banned.search(text)
        assert hit is None, f"{name}/{rel} contains {hit.group(0)!r}"


def test_shared_protocols_do_not_drift():
    for rel in ("verifiers/instruction_checks.md", "verifiers/checklist_score.md"):
        a = (SKILLS_ROOT / "reward_judge" / rel).read_bytes()
        b = (SKILLS_ROOT / "instruction_following" / rel).read_bytes()
        assert a == b, rel


def test_contracts_name_the_same_fields():
    for name in SHIPPED:
        text = load_skill(SKILLS_ROOT / name).read("contract.output", "skill_fair")
        for fld in ("`verdict`", "`confidence`", "`used_resources`", "`reason`", '"A"', "1 to 10"):
            assert fld in text, (name, fld)


def test_counting_snippet_runs_and_counts():
    text = load_skill(SKILLS_ROOT / "instruction_following").read("principle.counting", "skill_fair")
    code = re.search(r"```python\n(.*?)```", text, re.DOTALL).group(1)
    candidates = {
        "A": "It's a well-known fact. Dr. Who is here!\n\nSecond paragraph, with a comma.",
        "B": "* one\n* two\n- three\n***\nafter",
    }
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, {"candidates": candidates})  # noqa: S102 - our own snippet
    a, b = out.getvalue().splitlines()
    assert "words 13" in a and "paragraphs 2" in a and "commas 1" in a
    assert "bullets 3" in b and "***-parts 2" in b


def test_counting_snippet_agrees_with_the_checker_on_words():
    text_mod = pytest.importorskip("model.verifiers.text")
    doc = load_skill(SKILLS_ROOT / "instruction_following").read("principle.counting", "skill_fair")
    word_re = re.search(r'WORD = r"(.*?)"', doc).group(1)
    for text in ("It's a well-known fact.", "Price: 3 apples - 2 pears; e-mail me!", "one\n\n* two three"):
        assert len(re.findall(word_re, text)) == text_mod.count_words(text), text


def test_taxonomy_matches_the_checker():
    ifeval = pytest.importorskip("model.verifiers.ifeval")
    text = load_skill(SKILLS_ROOT / "instruction_following").read("rubric.constraint_taxonomy", "skill_fair")
    documented = set(re.findall(r"\b([a-z_]+:[a-z_]+)\b", text))
    assert documented == set(ifeval.INSTRUCTIONS)


def test_runner_names_match_the_registered_verifiers():
    pytest.importorskip("model.verifiers.runners")  # registers the runners
    from model.verifiers.base import VERIFIERS
    assert set(KNOWN_RUNNERS) == set(VERIFIERS)


def _doc_args(text: str) -> list[dict]:
    """Every `args={...}` example in a protocol document, parsed as JSON."""
    found = []
    for m in re.finditer(r"args=\{", text):
        depth, i = 0, m.end() - 1
        for i in range(m.end() - 1, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                break
        found.append(json.loads(re.sub(r"\s*\n\s*", " ", text[m.end() - 1: i + 1])))
    return found


@pytest.mark.parametrize("runner", ["instruction_checks", "checklist_score", "code_tests"])
def test_documented_args_examples_run(runner):
    """The args a protocol shows the judge are accepted by the real runner."""
    pytest.importorskip("model.verifiers.runners")
    from model.records import Resources
    from model.verifiers.base import VerifierInput, run_verifier
    doc = load_skill(SKILLS_ROOT / "reward_judge").read(f"protocol.{runner}", "skill_fair")
    examples = _doc_args(doc)
    assert examples
    candidates = {"A": "def add(a, b):\n    return a + b\n", "B": "Hello there, friend."}
    if runner == "code_tests":
        pytest.importorskip("model.sandbox")
    for args in examples:
        if runner == "checklist_score" and "marks" in args:
            args = {**args, "checklist": ["one", "two", "three"]}
        if runner == "code_tests" and "tests" not in args:
            continue
        result = run_verifier(runner, VerifierInput("Add two numbers.", candidates, Resources(), args))
        assert set(result.per_candidate) == {"A", "B"}, result.to_text()


# ------------------------------------------------------------------------------ progressive disclosure


def test_index_has_no_contents_and_read_serves_them(judge):
    for setting in ("skill_fair", "skill_operational"):
        index = judge.index_text(setting)
        for r in judge.resources_for(setting, type="rubric"):
            assert r.id in index
            body = judge.read(r.id, setting)
            long_lines = [ln for ln in body.splitlines() if len(ln) > 40]
            assert long_lines and not any(ln in index for ln in long_lines)
    assert judge.read("rubrics/math.md", "skill_fair") == judge.read("rubric.math", "skill_fair")
    assert judge.read("./rubrics/math.md", "skill_fair").startswith("# Rubric: math")
    # a runtime verifier's path serves its protocol document
    assert judge.read("verifiers/math_extract.md", "skill_fair") == judge.read("protocol.math_extract",
                                                                                 "skill_fair")


def test_index_is_setting_aware(judge):
    fair, op = judge.index_text("skill_fair"), judge.index_text("skill_operational")
    assert "sample.reference" not in fair and "verifier.math_answer" not in fair
    assert "sample.reference" in op and "verifier.math_answer" in op
    assert "[args: tests (required), entry_point]" in fair
    assert "[uses the task's tests; args: tests, entry_point]" in op
    assert "verifier.math_extract | verifier | low | medium | Extracts each candidate's final answer " \
           "and shows which candidates agree.\n" in op  # no inputs, no note
    assert "no resources" in judge.index_text("baseline")


def test_read_refusals(judge):
    with pytest.raises(SkillError, match="not available in setting skill_fair"):
        judge.read("protocol.math_answer", "skill_fair")
    assert judge.read("protocol.math_answer", "skill_operational")
    with pytest.raises(SkillError, match="not a document"):
        judge.read("verifier.math_extract", "skill_fair")
    with pytest.raises(SkillError, match="not a document"):
        judge.read("sample.reference", "skill_operational")
    with pytest.raises(SkillError, match="no resource"):
        judge.read("rubric.nope", "skill_fair")
    with pytest.raises(SkillError, match="not available in setting baseline"):
        judge.read("rubric.math", "baseline")
    with pytest.raises(SkillError, match="unknown setting"):
        judge.read("rubric.math", "fair")
    with pytest.raises(SkillError, match="unknown resource"):
        judge.get("rubric.nope")


def test_resources_for_filters(judge):
    ids = lambda rs: {r.id for r in rs}  # noqa: E731
    fair, op = ids(judge.resources_for("skill_fair")), ids(judge.resources_for("skill_operational"))
    assert fair < op
    assert {"sample.reference", "verifier.math_answer", "protocol.reference_match"} <= op - fair
    assert judge.resources_for("baseline") == []
    assert ids(judge.resources_for("skill_fair", type="bias_control")) == {
        "bias.position", "bias.length", "bias.style", "bias.self_enhancement", "bias.sycophancy"}
    math = ids(judge.resources_for("skill_operational", domain="math"))
    assert {"rubric.math", "verifier.math_answer", "verifier.math_extract", "rubric.generic"} <= math
    assert not {"rubric.code", "verifier.code_tests", "sample.tests"} & math
    math_verifiers = ids(judge.resources_for("skill_operational", type="verifier", domain="math"))
    assert math_verifiers == {"verifier.math_answer", "verifier.math_extract", "verifier.arithmetic_steps"}
    # the task's own fields: absent ones are hidden, and so are verifiers that cannot get their input
    no_ref = ids(judge.resources_for("skill_operational", sample_fields=["tests"]))
    assert "sample.tests" in no_ref and "sample.reference" not in no_ref
    assert "verifier.math_answer" not in no_ref and "verifier.code_tests" in no_ref
    assert "verifier.instruction_checks" in no_ref  # constraints can still come as args
    with pytest.raises(SkillError, match="unknown resource type"):
        judge.resources_for("skill_fair", type="rubrics")
    with pytest.raises(SkillError, match="unknown domain"):
        judge.resources_for("skill_fair", domain="maths")


def test_spec_helpers(judge):
    v = judge.get("verifier.code_tests")
    assert v.missing_inputs(sample_fields=[], args=[]) == ["tests"]
    assert v.missing_inputs(sample_fields=["tests"]) == []
    assert v.missing_inputs(args=["tests"]) == []
    assert judge.get("rubric.generic").applies("code")
    assert judge.get("rubric.math").applies("math") and not judge.get("rubric.math").applies("code")
    assert not judge.get("rubric.math").allowed_in("baseline")


# -------------------------------------------------------------------------------------- content hash


def test_content_hash_is_stable_and_tracks_changes(tmp_path):
    src = SKILLS_ROOT / "reward_judge"
    dst = tmp_path / "reward_judge"
    shutil.copytree(src, dst)
    h0 = load_skill(src).content_hash()
    assert load_skill(dst).content_hash() == h0 == load_skill(dst).content_hash()
    pkg = load_skill(dst)
    (dst / "rubrics" / "math.md").write_text("# Rubric: math\n\nchanged\n", encoding="utf-8")
    assert pkg.content_hash() == h0  # a loaded package is a snapshot
    assert "changed" not in pkg.read("rubric.math", "skill_fair")
    h1 = load_skill(dst).content_hash()
    assert h1 != h0
    (dst / "notes.txt").write_text("x", encoding="utf-8")  # unreferenced files are hashed too
    reloaded = load_skill(dst)
    assert reloaded.content_hash() != h1
    assert any("notes.txt" in w and "not referenced" in w for w in reloaded.warnings)


# ---------------------------------------------------------------------------------------- validation


def _doc(rid="rubric.x", path="rubrics/x.md", **kw):
    entry = {"id": rid, "type": "rubric", "implementation_kind": "document", "path": path,
             "applies_to": ["general"], "allowed_setting": ["skill_fair", "skill_operational"],
             "cost": "low", "decision_impact": "medium", "description": "A rubric."}
    entry.update(kw)
    return entry


def _verifier(**kw):
    entry = {"id": "verifier.math_answer", "type": "verifier", "implementation_kind": "runtime_verifier",
             "runner": "math_answer", "path": "rubrics/x.md", "requires": ["reference"],
             "applies_to": ["math"], "allowed_setting": ["skill_operational"], "cost": "low",
             "decision_impact": "high", "description": "Compares answers."}
    entry.update(kw)
    return entry


def _sample(**kw):
    entry = {"id": "sample.reference", "type": "sample_resource", "implementation_kind": "sample_field",
             "field": "reference", "applies_to": "all", "allowed_setting": ["skill_operational"],
             "cost": "low", "decision_impact": "high", "description": "The reference."}
    entry.update(kw)
    return entry


def _write_pkg(root: Path, name="pkg", resources=None, front=None, body="Do the thing.\n",
               files=None) -> Path:
    pkg = root / name
    pkg.mkdir(parents=True)
    meta = {"name": name, "description": "A test skill.", "version": "0.1", "tool_budget": 4}
    meta.update(front or {})
    meta = {k: v for k, v in meta.items() if v is not None}
    (pkg / "SKILL.md").write_text(f"---\n{yaml.safe_dump(meta)}---\n{body}", encoding="utf-8")
    res = resources if resources is not None else [_doc(), _verifier(), _sample()]
    (pkg / "resources.yaml").write_text(yaml.safe_dump({"resources": res}), encoding="utf-8")
    for rel, text in (files if files is not None else {"rubrics/x.md": "# X\ncontent\n"}).items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text, encoding="utf-8")
    return pkg


def test_minimal_package_is_valid(tmp_path):
    pkg = load_skill(_write_pkg(tmp_path))
    assert [r.id for r in pkg.resources] == ["rubric.x", "verifier.math_answer", "sample.reference"]
    assert pkg.read("rubric.x", "skill_fair") == "# X\ncontent\n"
    assert pkg.instructions == "Do the thing.\n"


CASES = [
    # (id, kwargs for _write_pkg, expected file, expected resource id or None, message fragment)
    ("bad_front_yaml", dict(skill_md="---\nname: [unclosed\n---\nbody\n"), "SKILL.md", None,
     "not valid YAML"),
    ("no_front_matter", dict(skill_md="# no front matter\n"), "SKILL.md", None,
     "missing YAML front matter"),
    ("unclosed_front_matter", dict(skill_md="---\nname: pkg\n"), "SKILL.md", None,
     "missing YAML front matter"),
    ("name_mismatch", dict(front={"name": "other"}), "SKILL.md", None, "must equal the folder name"),
    ("no_description", dict(front={"description": None}), "SKILL.md", None, "'description'"),
    ("bad_budget", dict(front={"tool_budget": "six"}), "SKILL.md", None, "tool_budget"),
    ("float_version", dict(front={"version": 1.0}), "SKILL.md", None, "'version' must be a string"),
    ("front_unknown_key", dict(front={"tools": 3}), "SKILL.md", None, "unknown front matter key"),
    ("front_bad_domain", dict(front={"applies_to": ["maths"]}), "SKILL.md", None, "unknown domain"),
    ("empty_body", dict(body="\n"), "SKILL.md", None, "instructions"),
    ("unknown_type", dict(resources=[_doc(type="rubrick")]), "resources.yaml", "rubric.x", "unknown type"),
    ("unknown_kind", dict(resources=[_doc(implementation_kind="file")]), "resources.yaml", "rubric.x",
     "unknown implementation_kind"),
    ("unknown_setting", dict(resources=[_doc(allowed_setting=["fair"])]), "resources.yaml", "rubric.x",
     "unknown setting"),
    ("baseline_setting", dict(resources=[_doc(allowed_setting=["baseline"])]), "resources.yaml", "rubric.x",
     "baseline"),
    ("unknown_cost", dict(resources=[_doc(cost="cheap")]), "resources.yaml", "rubric.x", "unknown cost"),
    ("unknown_impact", dict(resources=[_doc(decision_impact="huge")]), "resources.yaml", "rubric.x",
     "unknown decision_impact"),
    ("unknown_domain", dict(resources=[_doc(applies_to=["maths"])]), "resources.yaml", "rubric.x",
     "unknown domain"),
    ("missing_field", dict(resources=[{k: v for k, v in _doc().items() if k != "cost"}]), "resources.yaml",
     "rubric.x", "missing 'cost'"),
    ("unknown_key", dict(resources=[_doc(weight=2)]), "resources.yaml", "rubric.x", "unknown key"),
    ("bad_id", dict(resources=[_doc(rid="Rubric X")]), "resources.yaml", None, "'id' must be"),
    ("dangling_path", dict(resources=[_doc(path="rubrics/missing.md")]), "resources.yaml", "rubric.x",
     "does not exist"),
    ("dotdot_path", dict(resources=[_doc(path="../outside.md")]), "resources.yaml", "rubric.x",
     "escapes the package"),
    ("inner_dotdot_path", dict(resources=[_doc(path="rubrics/../../outside.md")]), "resources.yaml",
     "rubric.x", "escapes the package"),
    ("absolute_path", dict(resources=[_doc(path="/etc/hostname")]), "resources.yaml", "rubric.x",
     "must be relative"),
    ("document_without_path", dict(resources=[_doc(path=None)]), "resources.yaml", "rubric.x",
     "'path' is required"),
    ("duplicate_id", dict(resources=[_doc(), _doc()]), "resources.yaml", "rubric.x", "duplicate id"),
    ("duplicate_document_path", dict(resources=[_doc(), _doc(rid="rubric.y")]), "resources.yaml", "rubric.y",
     "already served"),
    ("verifier_without_runner", dict(resources=[_verifier(runner=None)]), "resources.yaml",
     "verifier.math_answer", "needs 'runner'"),
    ("unknown_runner", dict(resources=[_verifier(runner="sympy_check")]), "resources.yaml",
     "verifier.math_answer", "unknown runner"),
    ("runner_on_document", dict(resources=[_doc(runner="math_answer")]), "resources.yaml", "rubric.x",
     "only for runtime_verifier"),
    ("verifier_wrong_type", dict(resources=[_verifier(type="rubric")]), "resources.yaml",
     "verifier.math_answer", "must have type 'verifier'"),
    ("document_typed_verifier", dict(resources=[_doc(type="verifier")]), "resources.yaml", "rubric.x",
     "cannot be a document"),
    ("requires_not_a_list", dict(resources=[_verifier(requires={"a": 1})]), "resources.yaml",
     "verifier.math_answer", "'requires' must be"),
    ("requires_unknown_field", dict(resources=[_verifier(requires=["answer"])]), "resources.yaml",
     "verifier.math_answer", "unknown sample field"),
    ("fair_verifier_needs_sample", dict(resources=[_verifier(allowed_setting=["skill_fair"])]),
     "resources.yaml", "verifier.math_answer", "skill_fair never has"),
    ("sample_without_field", dict(resources=[_sample(field=None)]), "resources.yaml", "sample.reference",
     "needs 'field'"),
    ("sample_bad_field", dict(resources=[_sample(field="gold")]), "resources.yaml", "sample.reference",
     "needs 'field'"),
    ("sample_in_fair", dict(resources=[_sample(allowed_setting=["skill_fair", "skill_operational"])]),
     "resources.yaml", "sample.reference", "only be allowed in skill_operational"),
    ("sample_with_path", dict(resources=[_sample(path="rubrics/x.md")]), "resources.yaml",
     "sample.reference", "has no path"),
    ("resources_not_a_list", dict(resources={"a": 1}), "resources.yaml", None, "'resources:' list"),
    ("resources_bad_yaml", dict(resources_yaml="resources: [\n"), "resources.yaml", None, "not valid YAML"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_validation_errors(tmp_path, case):
    _, kwargs, file, rid, fragment = case
    kwargs = dict(kwargs)
    skill_md, resources_yaml = kwargs.pop("skill_md", None), kwargs.pop("resources_yaml", None)
    pkg = _write_pkg(tmp_path, **kwargs)
    if skill_md is not None:
        (pkg / "SKILL.md").write_text(skill_md, encoding="utf-8")
    if resources_yaml is not None:
        (pkg / "resources.yaml").write_text(resources_yaml, encoding="utf-8")
    errors = validate_skill(pkg)
    matching = [e for e in errors if fragment in e]
    assert matching, errors
    assert all(e.startswith(f"pkg: {file}: ") for e in matching), matching
    if rid:
        assert any(f": {rid}: " in e for e in matching), matching
    with pytest.raises(SkillError) as exc:
        load_skill(pkg)
    assert fragment in str(exc.value) and exc.value.problems == errors


@pytest.mark.parametrize("missing", ["SKILL.md", "resources.yaml"])
def test_missing_control_file(tmp_path, missing):
    pkg = _write_pkg(tmp_path)
    (pkg / missing).unlink()
    assert f"pkg: {missing}: missing" in validate_skill(pkg)


def test_every_problem_is_reported_at_once(tmp_path):
    pkg = _write_pkg(tmp_path, front={"name": "other"},
                     resources=[_doc(cost="cheap"), _sample(id="sample.x", allowed_setting=["skill_fair"])])
    errors = validate_skill(pkg)
    assert len(errors) >= 3
    assert any("SKILL.md" in e for e in errors)
    assert any("rubric.x" in e and "cost" in e for e in errors)
    assert any("sample.x" in e and "skill_operational" in e for e in errors)


def test_unreferenced_file_is_a_warning_not_an_error(tmp_path):
    pkg_dir = _write_pkg(tmp_path, files={"rubrics/x.md": "# X\n", "rubrics/orphan.md": "# O\n"})
    assert validate_skill(pkg_dir) == []
    pkg = load_skill(pkg_dir)
    assert pkg.warnings == ("pkg: rubrics/orphan.md: not referenced by any resource",)


def test_symlink_out_of_package_is_rejected(tmp_path):
    outside = tmp_path / "secret.md"
    outside.write_text("secret\n", encoding="utf-8")
    pkg = _write_pkg(tmp_path, files={"rubrics/x.md": "# X\n"})
    (pkg / "rubrics" / "link.md").symlink_to(outside)
    (pkg / "resources.yaml").write_text(yaml.safe_dump({"resources": [_doc(path="rubrics/link.md")]}))
    assert any("links outside the package" in e for e in validate_skill(pkg))


# ----------------------------------------------------------------------------------------------- CLI


def _cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        rc = main(list(argv))
    return rc, out.getvalue()


def test_cli_validate_default_is_ok():
    proc = subprocess.run([sys.executable, "-m", "model.skills", "validate"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in SHIPPED:
        assert f"OK    {name}" in proc.stdout


def test_cli_validate_reports_errors(tmp_path):
    good = _write_pkg(tmp_path, name="good")
    bad = _write_pkg(tmp_path, name="bad", resources=[_doc(path="rubrics/missing.md")])
    rc, out = _cli("validate", str(good))
    assert rc == 0 and "OK    good" in out
    rc, out = _cli("validate", str(good), str(bad))
    assert rc == 1
    assert "FAIL  " in out and "ERROR bad: resources.yaml: rubric.x: path 'rubrics/missing.md'" in out
    rc, out = _cli("validate", str(tmp_path))  # a library root expands to its packages
    assert rc == 1 and "OK    good" in out and "FAIL" in out


def test_cli_show(tmp_path):
    rc, out = _cli("show", "reward_judge", "--setting", "skill_fair")
    assert rc == 0 and "rubric.math | rubric" in out and "sample.reference" not in out
    rc, out = _cli("show", "reward_judge")
    assert rc == 0 and "sample.reference" in out
    rc, out = _cli("show", "no_such_skill")
    assert rc == 1 and "available:" in out
    _write_pkg(tmp_path, name="mine")
    rc, out = _cli("show", "mine", "--root", str(tmp_path), "--type", "rubric")
    assert rc == 0 and "rubric.x" in out and "verifier.math_answer" not in out
