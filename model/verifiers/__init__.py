"""Runtime verifiers: the hard evidence a judge gets from `run_resource`.

Runners (names used by the skill packages): math_answer, math_extract, code_tests,
instruction_checks, reference_match, checklist_score. Lower-level evidence functions live in
`math`, `code`, `ifeval`, `reference` and `checklist` for the data builders.
"""
from model.verifiers import runners as _runners  # noqa: F401  (registers the runners)
from model.verifiers.base import (
    VERIFIERS,
    VerifierError,
    VerifierInput,
    VerifierResult,
    run_verifier,
)

__all__ = ["VERIFIERS", "VerifierError", "VerifierInput", "VerifierResult", "run_verifier"]
