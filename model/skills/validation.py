"""Parsing and validation of a skill package's SKILL.md front matter and resources.yaml entries.

Every problem is collected (`Problems`, as 'package: file: id: message') rather than raised at the
first one, so `python -m model.skills validate` reports all of them at once.
"""
from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import yaml

from model.protocol import SETTING_NAMES, TOOL_SETTINGS, get_setting
from model.records import DOMAINS
from model.skills.package import (
    ALL_DOMAINS,
    IMPLEMENTATION_KINDS,
    KNOWN_RUNNERS,
    LEVELS,
    RESOURCE_TYPES,
    RESOURCES_FILE,
    SAMPLE_FIELDS,
    SKILL_FILE,
    ResourceSpec,
    normalize_path,
)

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


def _split_front_matter(text: str) -> tuple[str | None, str]:
    """(YAML text, body) of a SKILL.md; YAML is None when the file does not open with `---`."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None, text
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "".join(lines[1:i]), "".join(lines[i + 1:])
    return None, text




def as_list(value) -> list | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


class Problems:
    """Collects errors as 'package: file: id: message'."""

    def __init__(self, package: str):
        self.package = package
        self.errors: list[str] = []

    def add(self, file: str, message: str, rid: str | None = None) -> None:
        self.errors.append(f"{self.package}: {file}: {rid + ': ' if rid else ''}{message}")


def parse_front_matter(root: Path, files: dict[str, bytes], problems: Problems) -> dict | None:
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
        domains = as_list(meta["applies_to"])
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
    entry: dict, rid: str, root: Path, files: dict[str, bytes], problems: Problems
) -> str | None:
    """The normalized path of a document or verifier protocol, or None after reporting why not."""
    raw = entry.get("path")
    if not isinstance(raw, str) or not raw.strip():
        problems.add(RESOURCES_FILE, "'path' is required for a document or runtime_verifier", rid)
        return None
    if "\\" in raw or raw.startswith("/") or PurePosixPath(raw).is_absolute() or re.match(r"^[A-Za-z]:", raw):
        problems.add(RESOURCES_FILE, f"path {raw!r} must be relative to the package", rid)
        return None
    path = normalize_path(raw)
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
    value = as_list(entry.get(key, []))
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


def parse_resource(
    entry, i: int, root: Path, files: dict[str, bytes], problems: Problems
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
