"""Skill packages: loading, validation and progressive disclosure.

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

import argparse
import hashlib
import re
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from model.protocol import SETTING_NAMES, SKILL_OPERATIONAL, TOOL_SETTINGS, get_setting
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

SKILLS_ROOT = Path(__file__).resolve().parent.parent / "skills"
SKILL_FILE = "SKILL.md"
RESOURCES_FILE = "resources.yaml"
FRONT_MATTER_KEYS = {"name", "description", "version", "tool_budget", "applies_to"}
RESOURCE_KEYS = {
    "id", "type", "implementation_kind", "path", "applies_to", "allowed_setting", "cost",
    "decision_impact", "description", "runner", "field", "requires", "accepts_args",
}
REQUIRED_RESOURCE_KEYS = (
    "id", "type", "implementation_kind", "applies_to", "allowed_setting", "cost", "decision_impact",
    "description",
)
# implementation kind -> the only resource type it may carry (documents take any other type)
KIND_TYPE = {"runtime_verifier": "verifier", "sample_field": "sample_resource"}
ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
ARG_RE = re.compile(r"^[a-z][a-z0-9_]*$")


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
        key = _normalize_path(id_or_path)
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


def _normalize_path(path: str) -> str:
    return PurePosixPath(path.strip().removeprefix("./")).as_posix()


# ---------------------------------------------------------------------------------------------- loading


def _split_front_matter(text: str) -> tuple[str | None, str]:
    """(YAML text, body) of a SKILL.md; YAML is None when the file does not open with `---`."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None, text
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "".join(lines[1:i]), "".join(lines[i + 1:])
    return None, text


def _package_files(root: Path) -> dict[str, bytes]:
    """All files under the package, hidden files and caches excluded, keyed by posix relative path."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts) or not p.is_file():
            continue
        out[rel.as_posix()] = p.read_bytes()
    return out


def _as_list(value) -> list | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


class _Problems:
    """Collects errors as 'package: file: id: message'."""

    def __init__(self, package: str):
        self.package = package
        self.errors: list[str] = []

    def add(self, file: str, message: str, rid: str | None = None) -> None:
        self.errors.append(f"{self.package}: {file}: {rid + ': ' if rid else ''}{message}")


def _parse_front_matter(root: Path, files: dict[str, bytes], problems: _Problems) -> dict | None:
    if SKILL_FILE not in files:
        problems.add(SKILL_FILE, "missing")
        return None
    try:
        text = files[SKILL_FILE].decode("utf-8")
    except UnicodeDecodeError:
        problems.add(SKILL_FILE, "not UTF-8 text")
        return None
    raw, body = _split_front_matter(text)
    if raw is None:
        problems.add(SKILL_FILE, "missing YAML front matter (the file must open with a '---' block)")
        return None
    try:
        meta = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        problems.add(SKILL_FILE, f"front matter is not valid YAML: {e}")
        return None
    if not isinstance(meta, dict):
        problems.add(SKILL_FILE, "front matter must be a mapping")
        return None
    for key in sorted(set(meta) - FRONT_MATTER_KEYS):
        problems.add(SKILL_FILE, f"unknown front matter key {key!r}")
    if meta.get("name") != root.name:
        problems.add(SKILL_FILE, f"front matter name {meta.get('name')!r} must equal the folder name "
                     f"{root.name!r}")
    if not isinstance(meta.get("description"), str) or not meta["description"].strip():
        problems.add(SKILL_FILE, "front matter 'description' must be a non-empty string")
    if not isinstance(meta.get("version"), str) or not meta["version"].strip():
        problems.add(SKILL_FILE, "front matter 'version' must be a string (quote it: version: \"1.0\")")
    budget = meta.get("tool_budget")
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
        problems.add(SKILL_FILE, f"front matter 'tool_budget' must be a positive integer, got {budget!r}")
    if "applies_to" in meta:
        domains = _as_list(meta["applies_to"])
        if domains is None:
            problems.add(SKILL_FILE, "front matter 'applies_to' must be a list of domains")
        else:
            for d in domains:
                if d != ALL_DOMAINS and d not in DOMAINS:
                    problems.add(SKILL_FILE, f"unknown domain {d!r} in applies_to")
    if not body.strip():
        problems.add(SKILL_FILE, "the instructions (body after the front matter) are empty")
    meta["_body"] = body.strip() + "\n"
    return meta


def _check_path(
    entry: dict, rid: str, root: Path, files: dict[str, bytes], problems: _Problems
) -> str | None:
    """The normalized path of a document or verifier protocol, or None after reporting why not."""
    raw = entry.get("path")
    if not isinstance(raw, str) or not raw.strip():
        problems.add(RESOURCES_FILE, "'path' is required for a document or runtime_verifier", rid)
        return None
    if "\\" in raw or raw.startswith("/") or PurePosixPath(raw).is_absolute() or re.match(r"^[A-Za-z]:", raw):
        problems.add(RESOURCES_FILE, f"path {raw!r} must be relative to the package", rid)
        return None
    path = _normalize_path(raw)
    if ".." in PurePosixPath(path).parts:
        problems.add(RESOURCES_FILE, f"path {raw!r} escapes the package", rid)
        return None
    full = root / path
    if full.exists() and not full.resolve().is_relative_to(root.resolve()):
        problems.add(RESOURCES_FILE, f"path {raw!r} links outside the package", rid)
        return None
    if path not in files:
        problems.add(RESOURCES_FILE, f"path {raw!r} does not exist (or is not a file)", rid)
        return None
    if path in (SKILL_FILE, RESOURCES_FILE):
        problems.add(RESOURCES_FILE, f"path {raw!r} is a package control file, not a resource", rid)
        return None
    try:
        files[path].decode("utf-8")
    except UnicodeDecodeError:
        problems.add(RESOURCES_FILE, f"path {raw!r} is not UTF-8 text", rid)
        return None
    return path


def _name_list(entry: dict, key: str, err) -> list[str]:
    """A list-of-names field (a single name is accepted too); [] after reporting a bad value."""
    value = _as_list(entry.get(key, []))
    if value is None or (key in entry and not value and key in REQUIRED_RESOURCE_KEYS):
        err(f"'{key}' must be a non-empty list of names")
        return []
    return value


def _check_runtime_verifier(entry: dict, settings: list[str], err) -> tuple[str | None, list, list]:
    runner = entry.get("runner")
    if runner is None:
        err("a runtime_verifier needs 'runner'")
    elif runner not in KNOWN_RUNNERS:
        err(f"unknown runner {runner!r}; known: {', '.join(KNOWN_RUNNERS)}")
    requires, accepts = _name_list(entry, "requires", err), _name_list(entry, "accepts_args", err)
    for f in requires:
        if f not in SAMPLE_FIELDS:
            err(f"'requires' names unknown sample field {f!r}; known: {', '.join(SAMPLE_FIELDS)}")
    for a in accepts:
        if not ARG_RE.match(a):
            err(f"'accepts_args' entry {a!r} is not a plain argument name")
    for s in _fair(settings):
        for f in requires:
            if f not in accepts:
                err(f"allowed in {s} but requires sample field {f!r}, which {s} never has, "
                    "and does not accept it as an argument")
    return runner, requires, accepts


def _check_sample_field(entry: dict, settings: list[str], err) -> str | None:
    fld = entry.get("field")
    if fld not in SAMPLE_FIELDS:
        err(f"a sample_field needs 'field' in {', '.join(SAMPLE_FIELDS)}, got {fld!r}")
    if "path" in entry:
        err("a sample_field has no path (its content comes from the task)")
    for s in _fair(settings):
        with_sample = [n for n in TOOL_SETTINGS if get_setting(n).sample_resources]
        err(f"a sample_field may only be allowed in {', '.join(with_sample)} (per-sample resources do not "
            f"exist in {s})")
    return fld


def _fair(settings: list[str]) -> list[str]:
    """The known settings among `settings` that have no sample resources."""
    return [s for s in settings if s in SETTING_NAMES and not get_setting(s).sample_resources]


def _parse_resource(
    entry, i: int, root: Path, files: dict[str, bytes], problems: _Problems
) -> ResourceSpec | None:
    """One resources.yaml entry as a ResourceSpec, or None after reporting its problems."""
    if not isinstance(entry, dict):
        problems.add(RESOURCES_FILE, f"entry #{i} must be a mapping")
        return None
    rid = entry.get("id")
    if not isinstance(rid, str) or not ID_RE.match(rid):
        problems.add(RESOURCES_FILE, f"entry #{i}: 'id' must be a dotted lowercase name like "
                     f"'rubric.math', got {rid!r}")
        rid = f"#{i}"
    n_errors = len(problems.errors)

    def err(msg: str) -> None:
        problems.add(RESOURCES_FILE, msg, rid)

    for key in sorted(set(entry) - RESOURCE_KEYS):
        err(f"unknown key {key!r}")
    for key in REQUIRED_RESOURCE_KEYS:
        if key not in entry:
            err(f"missing '{key}'")
    rtype, kind = entry.get("type"), entry.get("implementation_kind")
    if "type" in entry and rtype not in RESOURCE_TYPES:
        err(f"unknown type {rtype!r}; known: {', '.join(RESOURCE_TYPES)}")
    if "implementation_kind" in entry and kind not in IMPLEMENTATION_KINDS:
        err(f"unknown implementation_kind {kind!r}; known: {', '.join(IMPLEMENTATION_KINDS)}")
    if kind in KIND_TYPE and rtype in RESOURCE_TYPES and rtype != KIND_TYPE[kind]:
        err(f"a {kind} must have type '{KIND_TYPE[kind]}', got {rtype!r}")
    if kind == "document" and rtype in KIND_TYPE.values():
        err(f"type {rtype!r} cannot be a document (it belongs to implementation_kind "
            f"{next(k for k, t in KIND_TYPE.items() if t == rtype)!r})")

    domains = _name_list(entry, "applies_to", err)
    for d in domains:
        if d != ALL_DOMAINS and d not in DOMAINS:
            err(f"unknown domain {d!r} in applies_to; known: {ALL_DOMAINS}, {', '.join(DOMAINS)}")
    settings = _name_list(entry, "allowed_setting", err)
    for s in settings:
        if s in SETTING_NAMES and not get_setting(s).tools:
            err(f"setting {s!r} has no tools, so no resource can be allowed in it")
        elif s not in TOOL_SETTINGS:
            err(f"unknown setting {s!r} in allowed_setting; known: {', '.join(TOOL_SETTINGS)}")
    for key in ("cost", "decision_impact"):
        if key in entry and entry[key] not in LEVELS:
            err(f"unknown {key} {entry[key]!r}; known: {', '.join(LEVELS)}")
    desc = entry.get("description")
    if "description" in entry and (not isinstance(desc, str) or not desc.strip() or "\n" in desc.strip()):
        err("'description' must be one non-empty line")

    path = runner = fld = None
    requires: list[str] = []
    accepts: list[str] = []
    if kind in ("document", "runtime_verifier"):
        path = _check_path(entry, rid, root, files, problems)
    if kind == "runtime_verifier":
        runner, requires, accepts = _check_runtime_verifier(entry, settings, err)
    else:
        for key in ("runner", "requires", "accepts_args"):
            if key in entry:
                err(f"'{key}' is only for runtime_verifier resources")
    if kind == "sample_field":
        fld = _check_sample_field(entry, settings, err)
    elif "field" in entry:
        err("'field' is only for sample_field resources")

    if len(problems.errors) > n_errors or rid.startswith("#"):
        return None
    return ResourceSpec(
        id=rid, type=rtype, implementation_kind=kind, path=path, applies_to=tuple(domains),
        allowed_setting=tuple(settings), cost=entry["cost"], decision_impact=entry["decision_impact"],
        description=desc.strip(), runner=runner, field=fld, requires=tuple(requires),
        accepts_args=tuple(accepts),
    )


def _load(path: str | Path) -> tuple[SkillPackage | None, list[str], list[str]]:
    """(package or None, errors, warnings)."""
    root = Path(path)
    problems = _Problems(root.name or str(root))
    if not root.is_dir():
        problems.add(str(root), "not a directory")
        return None, problems.errors, []
    files = _package_files(root)
    meta = _parse_front_matter(root, files, problems)

    entries = None
    if RESOURCES_FILE not in files:
        problems.add(RESOURCES_FILE, "missing")
    else:
        try:
            data = yaml.safe_load(files[RESOURCES_FILE].decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            problems.add(RESOURCES_FILE, f"not valid YAML: {e}")
            data = None
        else:
            if not isinstance(data, dict) or not isinstance(data.get("resources"), list):
                problems.add(RESOURCES_FILE, "top level must be a mapping with a 'resources:' list")
            else:
                for key in sorted(set(data) - {"resources"}):
                    problems.add(RESOURCES_FILE, f"unknown top-level key {key!r}")
                entries = data["resources"]

    specs: list[ResourceSpec] = []
    seen: dict[str, int] = {}
    doc_paths: dict[str, str] = {}
    for i, entry in enumerate(entries or []):
        rid = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(rid, str):
            if rid in seen:
                problems.add(RESOURCES_FILE, f"duplicate id (entries #{seen[rid]} and #{i})", rid)
            seen.setdefault(rid, i)
        spec = _parse_resource(entry, i, root, files, problems)
        if spec is None:
            continue
        if spec.implementation_kind == "document":
            if spec.path in doc_paths:
                problems.add(RESOURCES_FILE, f"path {spec.path!r} is already served by document "
                             f"'{doc_paths[spec.path]}'", spec.id)
            doc_paths.setdefault(spec.path, spec.id)
        specs.append(spec)

    # raw paths, so that a file is not also reported unreferenced when its entry has other errors
    referenced = {_normalize_path(e["path"]) for e in entries or [] if isinstance(e, dict)
                  and isinstance(e.get("path"), str)} | {SKILL_FILE, RESOURCES_FILE}
    warnings = [f"{problems.package}: {rel}: not referenced by any resource" for rel in files
                if rel not in referenced]
    if problems.errors or meta is None:
        return None, problems.errors, warnings
    pkg = SkillPackage(
        name=meta["name"],
        description=" ".join(meta["description"].split()),
        version=meta["version"],
        tool_budget=meta["tool_budget"],
        root=root.resolve(),
        instructions=meta["_body"],
        resources=tuple(specs),
        applies_to=tuple(_as_list(meta.get("applies_to", ALL_DOMAINS)) or (ALL_DOMAINS,)),
        warnings=tuple(warnings),
        files=files,
    )
    return pkg, [], warnings


def validate_skill(path: str | Path) -> list[str]:
    """Every problem of the package at `path` ('package: file: id: message'); empty when valid."""
    return _load(path)[1]


def load_skill(path: str | Path) -> SkillPackage:
    pkg, errors, _ = _load(path)
    if errors:
        raise SkillError(f"invalid skill package {str(path)!r} ({len(errors)} problems):\n  - "
                         + "\n  - ".join(errors), errors)
    assert pkg is not None
    return pkg


class SkillLibrary:
    """The skill packages under `root` (all of them, or only `names`), loaded and validated up front."""

    def __init__(self, root: str | Path = SKILLS_ROOT, names: Sequence[str] | None = None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise SkillError(f"skill library root {str(self.root)!r} is not a directory")
        available = _package_dirs(self.root)
        wanted = list(names) if names is not None else sorted(available)
        missing = [n for n in wanted if n not in available]
        if missing:
            raise SkillError(f"unknown skill(s) {', '.join(missing)} under {self.root}; "
                             f"available: {', '.join(sorted(available)) or '(none)'}")
        self._packages = {n: load_skill(available[n]) for n in wanted}

    def names(self) -> list[str]:
        return list(self._packages)

    def get(self, name: str) -> SkillPackage:
        if name not in self._packages:
            raise SkillError(f"unknown skill {name!r}; available: {', '.join(self._packages) or '(none)'}")
        return self._packages[name]

    def catalog_text(self) -> str:
        """What the judge sees before use_skill: one line per skill."""
        return "\n".join(f"- {p.name} - {p.description}" for p in self._packages.values())


def _package_dirs(root: Path) -> dict[str, Path]:
    return {p.name: p for p in sorted(root.iterdir())
            if p.is_dir() and not p.name.startswith((".", "_"))}


# ------------------------------------------------------------------------------------------------- CLI


def _expand(paths: Sequence[str]) -> list[Path]:
    """Package folders: a path holding SKILL.md or resources.yaml is a package, else a library root."""
    out = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir() and not (p / SKILL_FILE).exists() and not (p / RESOURCES_FILE).exists() \
                and any(d.is_dir() for d in p.iterdir()):
            out.extend(_package_dirs(p).values())
        else:
            out.append(p)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m model.skills", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("validate", help="validate packages (default: every package under skills/)")
    v.add_argument("paths", nargs="*", help="package folders or library roots")
    s = sub.add_parser("show", help="print a package's resource index for a setting")
    s.add_argument("name")
    s.add_argument("--setting", default=SKILL_OPERATIONAL, choices=TOOL_SETTINGS)
    s.add_argument("--type", default=None, choices=RESOURCE_TYPES)
    s.add_argument("--root", default=str(SKILLS_ROOT), help="library root (default: skills/)")
    args = ap.parse_args(argv)

    if args.cmd == "validate":
        packages = _expand(args.paths or [str(SKILLS_ROOT)])
        if not packages:
            print("no skill packages found", file=sys.stderr)
            return 1
        failed = 0
        for path in packages:
            pkg, errors, warnings = _load(path)
            for w in warnings:
                print(f"WARN  {w}")
            if errors:
                failed += 1
                print(f"FAIL  {path}")
                for e in errors:
                    print(f"ERROR {e}")
            else:
                print(f"OK    {pkg.name} v{pkg.version}: {len(pkg.resources)} resources, "
                      f"sha256 {pkg.content_hash()[:12]}")
        return 1 if failed else 0

    try:
        pkg = SkillLibrary(args.root, names=[args.name]).get(args.name)
    except SkillError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{pkg.name} v{pkg.version} (tool budget {pkg.tool_budget}): {pkg.description}\n")
    print(pkg.index_text(args.setting, type=args.type))
    return 0


if __name__ == "__main__":
    sys.exit(main())
