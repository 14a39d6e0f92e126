"""Skill packages: the format and the loaded package (progressive disclosure).

A package is a folder `skills/<name>/` with
  SKILL.md        YAML front matter (name, description, version, tool_budget, applies_to?) + the
                  procedure a judge follows (returned by `use_skill`);
  resources.yaml  `resources:` list, one entry per thing the judge may view or run;
  content files   the documents those entries point at.

Progressive disclosure: before `use_skill` the judge sees only `SkillLibrary.catalog_text()`; after
it, the instructions and `index_text()` (ids and one-line descriptions, no contents); a document's
text only through `read()`. Every resource names the settings it is allowed in; per-sample
resources (`sample_field`) exist only in `skill_operational`, and the tool layer resolves them
from the task, since the loader never sees a task.

The package is read into memory once at load time, so what is served and what `content_hash()`
covers are the same bytes even if the files change afterwards.
"""
from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from model.protocol import SETTING_NAMES, get_setting
from model.records import DOMAINS

RESOURCE_TYPES = (
    "rubric",
    "principle",
    "bias_control",
    "aggregation_policy",
    "output_contract",
    "verifier_protocol",
    "verifier",
    "sample_resource",
    "example",
)
IMPLEMENTATION_KINDS = ("document", "runtime_verifier", "sample_field")
KNOWN_RUNNERS = (
    "math_answer",
    "math_extract",
    "arithmetic_steps",
    "stated_constraints",
    "prompt_examples",
    "code_tests",
    "instruction_checks",
    "reference_match",
    "checklist_score",
)
SAMPLE_FIELDS = ("reference", "checklist", "constraints", "tests")
LEVELS = ("low", "medium", "high")  # cost and decision_impact
ALL_DOMAINS = "all"

SKILLS_ROOT = Path(__file__).resolve().parents[2] / "skills"
SKILL_FILE = "SKILL.md"
RESOURCES_FILE = "resources.yaml"


class SkillError(ValueError):
    """A package is invalid or a request to it cannot be served. `problems` lists every problem."""

    def __init__(self, message: str, problems: Sequence[str] = ()):
        super().__init__(message)
        self.problems = list(problems) or [message]


@dataclass(frozen=True)
class ResourceSpec:
    id: str
    type: str
    implementation_kind: str
    path: str | None
    applies_to: tuple[str, ...]
    allowed_setting: tuple[str, ...]
    cost: str
    decision_impact: str
    description: str
    runner: str | None = None
    field: str | None = None
    requires: tuple[str, ...] = ()
    accepts_args: tuple[str, ...] = ()

    def allowed_in(self, setting: str) -> bool:
        _check_setting(setting)
        return setting in self.allowed_setting

    def applies(self, domain: str) -> bool:
        if domain not in DOMAINS:
            raise SkillError(f"unknown domain {domain!r}; known: {', '.join(DOMAINS)}")
        return ALL_DOMAINS in self.applies_to or domain in self.applies_to

    def missing_inputs(self, sample_fields: Collection[str] = (), args: Collection[str] = ()) -> list[str]:
        """Required sample fields of a runtime verifier that neither the sample nor the args provide."""
        return [f for f in self.requires if f not in sample_fields and f not in args]


@dataclass
class SkillPackage:
    name: str
    description: str
    version: str
    tool_budget: int
    root: Path
    instructions: str
    resources: tuple[ResourceSpec, ...]
    applies_to: tuple[str, ...] = (ALL_DOMAINS,)
    warnings: tuple[str, ...] = ()
    files: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)

    def get(self, resource_id: str) -> ResourceSpec:
        for r in self.resources:
            if r.id == resource_id:
                return r
        raise SkillError(f"skill '{self.name}': unknown resource {resource_id!r}; "
                         f"known: {', '.join(r.id for r in self.resources)}")

    def resources_for(
        self,
        setting: str,
        type: str | None = None,
        domain: str | None = None,
        sample_fields: Collection[str] | None = None,
    ) -> list[ResourceSpec]:
        """Resources allowed in `setting`, optionally of one `type` and applying to `domain`.

        `sample_fields` (the task's available resource fields) hides sample entries the task lacks
        and runtime verifiers whose required fields are missing and cannot be passed as args.
        """
        _check_setting(setting)
        if type is not None and type not in RESOURCE_TYPES:
            raise SkillError(f"unknown resource type {type!r}; known: {', '.join(RESOURCE_TYPES)}")
        out = []
        for r in self.resources:
            if not r.allowed_in(setting) or (type and r.type != type) or (domain and not r.applies(domain)):
                continue
            if sample_fields is not None:
                if r.field and r.field not in sample_fields:
                    continue
                if r.missing_inputs(sample_fields, r.accepts_args):
                    continue
            out.append(r)
        return out

    def read(self, id_or_path: str, setting: str) -> str:
        """Text of a document resource, by id or by its path."""
        _check_setting(setting)
        spec = self._lookup(id_or_path)
        if spec.implementation_kind != "document":
            how = "run it with run_resource" if spec.implementation_kind == "runtime_verifier" else \
                "it is a per-sample resource served from the task"
            raise SkillError(f"skill '{self.name}': resource '{spec.id}' is not a document ({how})")
        if not spec.allowed_in(setting):
            raise SkillError(f"skill '{self.name}': resource '{spec.id}' is not available in setting "
                             f"{setting} (allowed: {', '.join(spec.allowed_setting)})")
        return self.files[spec.path].decode("utf-8")

    def _lookup(self, id_or_path: str) -> ResourceSpec:
        if any(r.id == id_or_path for r in self.resources):
            return self.get(id_or_path)
        key = normalize_path(id_or_path)
        by_path = [r for r in self.resources if r.path is not None and r.path == key]
        if by_path:  # a document and a runtime verifier may share a protocol file: serve the document
            return next((r for r in by_path if r.implementation_kind == "document"), by_path[0])
        raise SkillError(f"skill '{self.name}': no resource with id or path {id_or_path!r}")

    def index_text(
        self,
        setting: str,
        type: str | None = None,
        domain: str | None = None,
        sample_fields: Collection[str] | None = None,
    ) -> str:
        """Compact listing of what the judge may use in `setting`: ids and descriptions, no contents."""
        rows = self.resources_for(setting, type=type, domain=domain, sample_fields=sample_fields)
        if not rows:
            return f"Skill '{self.name}': no resources available in setting {setting}."
        groups = {
            "document": "Read with view_resource(path=<id>):",
            "runtime_verifier": "Run with run_resource(resource_id=<id>):",
            "sample_field": "This task's own resources, read with view_resource(path=<id>):",
        }
        lines = [f"Resources of skill '{self.name}' (id | type | cost | impact | description)"]
        for kind, title in groups.items():
            kind_rows = [r for r in rows if r.implementation_kind == kind]
            if kind_rows:
                lines.append(title)
                lines.extend(_index_line(r, setting) for r in kind_rows)
        return "\n".join(lines)

    def short_text(self, setting: str, sample_fields: Collection[str] | None = None) -> str:
        """The skill in brief (the compact prompt style's use_skill): its description, the verifiers this
        setting allows (`id: description`), and the ids of its rubrics and policies (view_resource)."""
        rows = self.resources_for(setting, sample_fields=sample_fields)
        verifiers = [f"- {r.id}: {r.description}" for r in rows if r.implementation_kind == "runtime_verifier"]
        docs = [r.id for r in rows if r.type in ("rubric", "aggregation_policy")]
        lines = [" ".join(self.description.split())]
        if verifiers:
            lines += ["Verifiers (run_resource):", *verifiers]
        if docs:
            lines.append("Read with view_resource: " + ", ".join(docs) + ".")
        return "\n".join(lines)

    def content_hash(self) -> str:
        """sha256 over every file of the package (relative path and bytes, in path order)."""
        h = hashlib.sha256()
        for rel in sorted(self.files):
            data = self.files[rel]
            h.update(f"{rel}\0{len(data)}\0".encode())
            h.update(data)
        return h.hexdigest()


def _index_line(r: ResourceSpec, setting: str) -> str:
    """One index row; verifiers also say where their inputs come from in this setting."""
    line = f"- {r.id} | {r.type} | {r.cost} | {r.decision_impact} | {r.description}"
    notes = []
    with_sample = get_setting(setting).sample_resources
    if r.requires and with_sample:
        notes.append(f"uses the task's {', '.join(r.requires)}")
    if r.accepts_args:
        # a fair setting has no sample: validation guarantees every required field is an accepted arg
        required = set() if with_sample else set(r.requires)
        notes.append("args: " + ", ".join(f"{a} (required)" if a in required else a for a in r.accepts_args))
    return line + (f" [{'; '.join(notes)}]" if notes else "")


def _check_setting(setting: str) -> None:
    if setting not in SETTING_NAMES:
        raise SkillError(f"unknown setting {setting!r}; known: {', '.join(SETTING_NAMES)}")


def normalize_path(path: str) -> str:
    return PurePosixPath(path.strip().removeprefix("./")).as_posix()
