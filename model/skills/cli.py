"""Skill packages: loading, validation and progressive disclosure.

    python -m model.skills validate [PATH ...]
    python -m model.skills show NAME [--setting S] [--type T] [--root DIR]
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from model.protocol import SKILL_OPERATIONAL, TOOL_SETTINGS
from model.skills.loading import SkillLibrary, load_package, package_dirs
from model.skills.package import RESOURCE_TYPES, RESOURCES_FILE, SKILL_FILE, SKILLS_ROOT, SkillError


def _expand(paths: Sequence[str]) -> list[Path]:
    """Package folders: a path holding SKILL.md or resources.yaml is a package, else a library root."""
    out = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir() and not (p / SKILL_FILE).exists() and not (p / RESOURCES_FILE).exists() \
                and any(d.is_dir() for d in p.iterdir()):
            out.extend(package_dirs(p).values())
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
            pkg, errors, warnings = load_package(path)
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
