"""LLM teacher: any runtime backend (local HF model, vLLM, an OpenAI-compatible server) runs the skill.

It samples `teacher.samples` trajectories per (task, order, setting) with `agent.temperature`;
rejection sampling happens in data.render's filters (correct verdict, right in both orders).
"""
from __future__ import annotations

from data.config import TeacherConfig
from model.backends import Backend, make_backend


def llm_backend(cfg: TeacherConfig) -> Backend:
    if cfg.samples > 1 and cfg.agent.temperature <= 0:
        raise ValueError("teacher.samples > 1 needs teacher.agent.temperature > 0 (greedy samples are identical)")
    return make_backend(cfg.model, cfg.backend)
