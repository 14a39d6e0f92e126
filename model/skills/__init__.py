"""Skill packages (`skills/<name>/`): loading, validation and progressive disclosure.

package     the format's vocabulary, ResourceSpec, SkillPackage (what the judge may see and when)
validation  SKILL.md front matter and resources.yaml entries, every problem collected
loading     load_skill / validate_skill / SkillLibrary: packages from disk, read once into memory
cli         python -m model.skills validate | show
"""
from model.skills.cli import main
from model.skills.loading import SkillLibrary, load_skill, validate_skill
from model.skills.package import (
    ALL_DOMAINS,
    IMPLEMENTATION_KINDS,
    KNOWN_RUNNERS,
    LEVELS,
    RESOURCE_TYPES,
    RESOURCES_FILE,
    SAMPLE_FIELDS,
    SKILL_FILE,
    SKILLS_ROOT,
    ResourceSpec,
    SkillError,
    SkillPackage,
)

__all__ = [
    "ALL_DOMAINS", "IMPLEMENTATION_KINDS", "KNOWN_RUNNERS", "LEVELS", "RESOURCE_TYPES", "RESOURCES_FILE",
    "SAMPLE_FIELDS", "SKILL_FILE", "SKILLS_ROOT", "ResourceSpec", "SkillError", "SkillLibrary", "SkillPackage",
    "load_skill", "main", "validate_skill",
]
