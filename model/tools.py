"""The judge's tools (DESIGN.md "Tool protocol") bound to one task in one candidate order.

`JudgeEnv` is the only object tools can reach. It holds the prompt, the candidates under their display
labels, and — in `skill_operational` only — the sample's resources. It never holds the gold label,
the task's meta, or which candidate index a label maps to beyond the order it was built with.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model.prompts import labels_for, resource_text, verdict_choices
from model.protocol import get_setting
from model.records import JudgeTask, Resources
from model.toolcall import ToolCall
from model.verdict import Verdict, parse_verdict_value

SAMPLE_PREFIX = "sample."
MAX_TOOL_OUTPUT_CHARS = 4000


def _fn(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": properties, "required": required}}}


_REASON = {"type": "string", "description": "why this step can change the verdict"}
TOOL_SPECS: list[dict[str, Any]] = [
    _fn("use_skill", "Load a skill package: its instructions and the index of its resources.",
        {"skill_name": {"type": "string"}, "reason": _REASON}, ["skill_name"]),
    _fn("list_resources", "List the resources available in this setting, optionally of one type.",
        {"type": {"type": "string", "description": "rubric, verifier, sample_resource, ..."}}, []),
    _fn("view_resource", "Read a document resource (rubric, policy, protocol) or a sample resource.",
        {"path": {"type": "string", "description": "resource id or path"}, "reason": _REASON}, ["path"]),
    _fn("run_resource", "Run a runtime verifier on every response and get its findings.",
        {"resource_id": {"type": "string"}, "reason": _REASON,
         "args": {"type": "object", "description": "optional inputs, e.g. constraints or tests"}},
        ["resource_id"]),
    _fn("python_sandbox", "Run Python (stdlib only) on the variables prompt, candidates {label: text} and "
        "sample; print what you need.", {"code": {"type": "string"}, "reason": _REASON}, ["code"]),
    _fn("final_answer", "Give the verdict and finish.",
        {"verdict": {"type": "string"}, "confidence": {"type": "number"},
         "used_resources": {"type": "array", "items": {"type": "string"}}, "reason": {"type": "string"}},
        ["verdict"]),
]
TOOL_NAMES = tuple(t["function"]["name"] for t in TOOL_SPECS)


def tool_specs(setting: str, style: str = "full") -> list[dict[str, Any]]:
    """The JSON schemas the chat template lists; none in baseline, and none in the compact prompt
    style, whose system prompt names the tools inline."""
    return TOOL_SPECS if get_setting(setting).tools and style != "compact" else []


SANDBOX_RUNNERS = ("code_tests", "prompt_examples")  # runtime verifiers that execute candidate code


@dataclass
class ToolResult:
    content: str
    ok: bool = True
    final: bool = False
    meta: dict[str, Any] = field(default_factory=dict)  # not shown to the judge: e.g. the sandbox level


@dataclass
class EnvStats:
    tool_calls: int = 0
    invalid_tool_calls: int = 0
    used_resources: list[str] = field(default_factory=list)
    loaded_skills: list[str] = field(default_factory=list)
    isolation: set[str] = field(default_factory=set)  # sandbox levels that ran code in this episode

    def use(self, rid: str) -> None:
        if rid not in self.used_resources:
            self.used_resources.append(rid)


class JudgeEnv:
    def __init__(self, task: JudgeTask, order: list[int], setting: str, skills: Any,
                 tool_budget: int | None = None, allow_tie: bool = True,
                 sandbox_timeout_s: float = 5.0, compact: bool = False, allow_weak_isolation: bool = False):
        self.setting = setting
        self.prompt = task.prompt_text
        self.kind = task.kind
        self.labels = labels_for(task)
        self.candidates = {lab: task.candidates[idx] for lab, idx in zip(self.labels, order)}
        self.resources = task.resources if get_setting(setting).sample_resources else Resources()
        self.verdict_labels = verdict_choices(task, allow_tie)
        self.allow_tie = allow_tie
        self.skills = skills
        self.tool_budget = tool_budget
        self.sandbox_timeout_s = sandbox_timeout_s
        self.compact = compact  # the compact prompt style: use_skill answers with the skill's short form
        self.allow_weak_isolation = allow_weak_isolation
        self.stats = EnvStats()
        self.final: Verdict | None = None
        self.final_args: dict[str, Any] = {}
        self.history: list[tuple[str, Any]] = []  # structured results (verifier, sandbox) in call order

    # -- dispatch ---------------------------------------------------------------------------------
    def call(self, call: ToolCall) -> ToolResult:
        self.stats.tool_calls += 1
        if not get_setting(self.setting).tools:
            return self._invalid(f"no tools are available in the {self.setting} setting; give your verdict")
        handler = getattr(self, f"_tool_{call.name}", None) if call.name in TOOL_NAMES else None
        if handler is None:
            return self._invalid(f"unknown tool '{call.name}'; available: {', '.join(TOOL_NAMES)}")
        budget = self.budget
        if call.name != "final_answer" and budget is not None and self.stats.tool_calls > budget:
            return self._invalid(f"tool budget of {budget} calls is used up; call final_answer now")
        try:
            return handler(**call.arguments)
        except TypeError as e:
            return self._invalid(f"bad arguments for {call.name}: {e}")

    def invalid_call(self, error: str) -> ToolResult:
        """A malformed tool call (unparseable JSON, missing name): answered with an error and counted."""
        self.stats.tool_calls += 1
        return self._invalid(f"malformed tool call: {error}")

    def _invalid(self, message: str) -> ToolResult:
        self.stats.invalid_tool_calls += 1
        return ToolResult(content=f"Error: {message}", ok=False)

    @property
    def budget(self) -> int | None:
        if self.tool_budget is not None:
            return self.tool_budget
        budgets = [self.skills.get(n).tool_budget for n in self.stats.loaded_skills]
        return max(budgets) + 2 if budgets else None  # +2: loading the skill and final_answer

    # -- tools ------------------------------------------------------------------------------------
    def _tool_use_skill(self, skill_name: str, reason: str = "") -> ToolResult:
        from model.skills import SkillError

        try:
            pkg = self.skills.get(skill_name)
        except SkillError as e:
            return self._invalid(str(e))
        if pkg.name not in self.stats.loaded_skills:
            self.stats.loaded_skills.append(pkg.name)
        self.stats.use(f"skill:{pkg.name}")
        if self.compact:
            return ToolResult(f"Skill '{pkg.name}' loaded. "
                              + pkg.short_text(self.setting, sample_fields=self.resources.available()))
        return ToolResult(f"Skill '{pkg.name}' loaded.\n\n{pkg.instructions.strip()}\n\n{self._index(pkg)}")

    def _index(self, pkg: Any, type: str | None = None) -> str:  # noqa: A002
        return pkg.index_text(self.setting, type, sample_fields=self.resources.available())

    def _tool_list_resources(self, type: str | None = None) -> ToolResult:  # noqa: A002 (tool arg name)
        if not self.stats.loaded_skills:
            sample = self._sample_index()
            text = "Load a skill with use_skill to see its resources.\nSkills:\n" + self.skills.catalog_text()
            return ToolResult(text + ("\n\nThis task's own resources:\n" + sample if sample else ""))
        return ToolResult("\n\n".join(self._index(self.skills.get(n), type) for n in self.stats.loaded_skills))

    def _skill_order(self) -> list[str]:
        """Loaded skills first, then the rest of the library: a judge that has internalized a skill
        may address its resources by id without loading it again."""
        return self.stats.loaded_skills + [n for n in self.skills.names() if n not in self.stats.loaded_skills]

    def _tool_view_resource(self, path: str, reason: str = "") -> ToolResult:
        from model.skills import SkillError

        if not isinstance(path, str) or not path:
            return self._invalid("view_resource needs a resource id or path")
        if path.startswith(SAMPLE_PREFIX):
            return self._view_sample(path[len(SAMPLE_PREFIX):])
        errors = []
        for name in self._skill_order():
            pkg = self.skills.get(name)
            try:
                text = pkg.read(path, self.setting)
            except SkillError as e:
                errors.append(str(e))
                continue
            self.stats.use(_resource_id(pkg, path))
            return ToolResult(_clip(text))
        return self._invalid(errors[0] if errors else f"unknown resource '{path}'")

    def _tool_run_resource(self, resource_id: str, reason: str = "", args: dict | None = None) -> ToolResult:
        from model.skills import SkillError
        from model.verifiers import VerifierError, VerifierInput, run_verifier

        spec = None
        for name in self._skill_order():
            try:
                spec = self.skills.get(name).get(resource_id)
                break
            except SkillError:
                continue
        if spec is None:
            return self._invalid(f"unknown resource '{resource_id}'; list_resources shows the available ids")
        if spec.implementation_kind != "runtime_verifier":
            return self._invalid(f"'{resource_id}' is a {spec.implementation_kind}, not a runnable verifier; "
                                 "use view_resource")
        if not spec.allowed_in(self.setting):
            return self._invalid(f"'{resource_id}' is not available in the {self.setting} setting")
        if args is not None and not isinstance(args, dict):
            return self._invalid("args must be a JSON object")
        inp = VerifierInput(prompt=self.prompt, candidates=dict(self.candidates),
                            resources=self.resources, args=dict(args or {}),
                            allow_weak_isolation=self.allow_weak_isolation)
        meta = {}
        if spec.runner in SANDBOX_RUNNERS:
            from model.sandbox import isolation_level

            meta["isolation"] = isolation_level(allow_weak_isolation=self.allow_weak_isolation)
            self.stats.isolation.add(meta["isolation"])
        try:
            result = run_verifier(spec.runner, inp)
        except VerifierError as e:
            return self._invalid(str(e))
        self.history.append((spec.id, result))
        self.stats.use(spec.id)
        for field_name in spec.requires:
            if getattr(self.resources, field_name, None):
                self.stats.use(SAMPLE_PREFIX + field_name)
        return ToolResult(_clip(result.to_text()), meta=meta)

    def _tool_python_sandbox(self, code: str, reason: str = "") -> ToolResult:
        from model.sandbox import run_python

        if not isinstance(code, str) or not code.strip():
            return self._invalid("python_sandbox needs non-empty code")
        result = run_python(code, inputs={"prompt": self.prompt, "candidates": dict(self.candidates),
                                          "sample": self.sample_view()},
                            timeout_s=self.sandbox_timeout_s, allow_weak_isolation=self.allow_weak_isolation)
        self.history.append(("python_sandbox", result))
        self.stats.isolation.add(result.isolation)
        out = result.stdout.strip() or "(no output)"
        if not result.ok:
            out += f"\nError: {result.error}"
            if result.stderr.strip():
                out += "\n" + result.stderr.strip()[-800:]
        return ToolResult(_clip(out), ok=result.ok, meta={"isolation": result.isolation})

    def _tool_final_answer(self, verdict: Any = None, confidence: Any = None, used_resources: Any = None,
                           reason: str = "") -> ToolResult:
        parsed = parse_verdict_value(verdict, self.labels, self.allow_tie, pointwise=self.kind == "pointwise")
        if not parsed.ok:
            return self._invalid(parsed.error or "invalid verdict")
        self.final = parsed
        self.final_args = {"verdict": verdict, "confidence": confidence,
                           "used_resources": used_resources, "reason": reason}
        return ToolResult("Verdict recorded.", final=True)

    # -- sample resources -------------------------------------------------------------------------
    def sample_view(self) -> dict[str, Any]:
        """The sample's resources visible in this setting (empty in the fair settings)."""
        return {k: v for k, v in self.resources.to_dict().items() if k != "metadata"}

    def _sample_index(self) -> str:
        return "\n".join(f"- {SAMPLE_PREFIX}{name} | sample_resource | this task's {name}"
                         for name in self.resources.available())

    def _view_sample(self, name: str) -> ToolResult:
        value = self.sample_view().get(name)
        if value is None:
            avail = ", ".join(SAMPLE_PREFIX + n for n in self.resources.available()) or "none"
            return self._invalid(f"sample resource '{name}' is not available here (available: {avail})")
        self.stats.use(SAMPLE_PREFIX + name)
        text = value if name == "tests" else resource_text(self.resources, name)
        return ToolResult(_clip(text))


def _resource_id(pkg: Any, path: str) -> str:
    for spec in pkg.resources:
        if spec.id == path or spec.path == path:
            return spec.id
    return path


def _clip(text: str, limit: int = MAX_TOOL_OUTPUT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n[... {len(text) - limit} more characters]"
