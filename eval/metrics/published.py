"""Published reference numbers (METRICS.md, "Numbers to compare against"). PUBLISHED, not reproduced here.

Percent, as the papers print them; None = not reported. Protocols differ between sources (judge
prompts, number of RB2 subsets, single vs both orders), so compare with care.
"""
from __future__ import annotations

from typing import Any

UNIT = "percent"

PUBLISHED: list[dict[str, Any]] = [
    {"model": "Qwen3.5-27B", "protocol": "Skill-RM paper: direct judge",
     "rewardbench2": 81.1, "rmbench": 89.8, "judgebench": 80.8,
     "source": "Skill-RM (arXiv 2606.03980), secondary transcription"},
    {"model": "Qwen3.5-27B", "protocol": "Skill-RM paper: skill, standard input",
     "rewardbench2": 85.0, "rmbench": 91.5, "judgebench": 82.1,
     "source": "Skill-RM (arXiv 2606.03980), secondary transcription"},
    {"model": "Qwen3.5-27B", "protocol": "Skill-RM paper: skill with sample resources",
     "rewardbench2": 86.0, "rmbench": 91.5, "judgebench": 89.7,
     "source": "Skill-RM (arXiv 2606.03980), secondary transcription"},
    {"model": "Skywork-Reward-V2-Llama-3.1-8B", "protocol": "scalar reward model",
     "rewardbench2": 84.1, "rmbench": 92.8, "judgebench": 80.0, "source": "published"},
    {"model": "Qwen3-235B", "protocol": "OpenRS rubric system",
     "rewardbench2": 90.7, "rmbench": 93.0, "judgebench": 91.6, "source": "published"},
    {"model": "TIR-Judge 8B", "protocol": "tool-integrated, RL-trained; RB2 over 5 subsets",
     "rewardbench2": 73.4, "rmbench": 76.7, "judgebench": 70.4, "source": "published"},
    {"model": "J1-Llama-70B", "protocol": "RL-trained judge",
     "rewardbench2": None, "rmbench": 82.7, "judgebench": 60.0, "source": "published"},
    {"model": "RM-R1 32B", "protocol": "reasoning reward model",
     "rewardbench2": None, "rmbench": 83.9, "judgebench": None, "source": "published"},
]


def published_rows() -> list[dict[str, Any]]:
    """Copies of the published rows, each labelled `published: True` with its unit."""
    return [{**row, "published": True, "unit": UNIT} for row in PUBLISHED]
