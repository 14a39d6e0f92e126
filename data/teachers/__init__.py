"""Teachers produce skill-execution trajectories through the runtime: `scripted` (a programmatic
executor of the skill) and `llm` (any backend of the runtime, K samples, rejection by the filters)."""
from __future__ import annotations

from data.config import TeacherConfig
from model.backends import Backend


def make_teacher_backend(cfg: TeacherConfig, seed: int = 0) -> Backend:
    if cfg.kind == "scripted":
        from data.teachers.scripted import ScriptedTeacher

        return ScriptedTeacher(seed=seed, load_skill_prob=cfg.load_skill_prob).backend()
    if cfg.kind == "llm":
        from data.teachers.llm import llm_backend

        return llm_backend(cfg)
    raise ValueError(f"teacher.kind must be 'scripted' or 'llm', got {cfg.kind!r}")


__all__ = ["make_teacher_backend"]
