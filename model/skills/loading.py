"""Loading skill packages from disk: one package (`load_skill`, `validate_skill`) or a library of them.

A package's files are read into memory once here, so what is served and what `content_hash()` covers
are the same bytes even if the files change afterwards.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from model.skills.package import (
    ALL_DOMAINS,
    RESOURCES_FILE,
    SKILL_FILE,
    SKILLS_ROOT,
    ResourceSpec,
    SkillError,
    SkillPackage,
    normalize_path,
)
from model.skills.validation import Problems, as_list, parse_front_matter, parse_resource


def _package_files(root: Path) -> dict[str, bytes]:
    """All files under the package, hidden files and caches excluded, keyed by posix relative path."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts) or not p.is_file():
            continue
        out[rel.as_posix()] = p.read_bytes()
    return out



def load_package(path: str | Path) -> tuple[SkillPackage | None, list[str], list[str]]:
    """(package or None, errors, warnings): every problem of the package, never raising."""
    root = Path(path)
    problems = Problems(root.name or str(root))
    if not root.is_dir():
        problems.add(str(root), "not a directory")
        return None, problems.errors, []
    files = _package_files(root)
    meta = parse_front_matter(root, files, problems)

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
        spec = parse_resource(entry, i, root, files, problems)
        if spec is None:
            continue
        if spec.implementation_kind == "document":
            if spec.path in doc_paths:
                problems.add(RESOURCES_FILE, f"path {spec.path!r} is already served by document "
                             f"'{doc_paths[spec.path]}'", spec.id)
            doc_paths.setdefault(spec.path, spec.id)
        specs.append(spec)

    # raw paths, so that a file is not also reported unreferenced when its entry has other errors
    referenced = {normalize_path(e["path"]) for e in entries or [] if isinstance(e, dict)
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
        applies_to=tuple(as_list(meta.get("applies_to", ALL_DOMAINS)) or (ALL_DOMAINS,)),
        warnings=tuple(warnings),
        files=files,
    )
    return pkg, [], warnings


def validate_skill(path: str | Path) -> list[str]:
    """Every problem of the package at `path` ('package: file: id: message'); empty when valid."""
    return load_package(path)[1]


def load_skill(path: str | Path) -> SkillPackage:
    pkg, errors, _ = load_package(path)
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
        available = package_dirs(self.root)
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


def package_dirs(root: Path) -> dict[str, Path]:
    return {p.name: p for p in sorted(root.iterdir())
            if p.is_dir() and not p.name.startswith((".", "_"))}
