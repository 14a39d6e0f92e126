"""The evaluation harness: any judge (a base model prompted directly, the same model executing the skill,
a fine-tuned checkpoint) on the reward benchmarks, with their official metrics, side by side.

    python -m eval.run --config configs/eval/suite.yaml model=SPEC output_dir=DIR    # run / resume
    python -m eval.report DIR                                                        # rewrite the report
    python -m eval.compare DIR1 DIR2 ... --output DIR                                # runs side by side

Modules: config (schema), benchmarks (registry: loader, unit, orders, metric), selection (limit / seeded
subsample), predictions (the resumable predictions file), runner (the run), bon + bon_sets + generate
(best-of-N knockout and its candidate sets), verifiable (held-out verifier-proved pairs), summary
(metrics + judge-behaviour columns), report + plots (metrics.json, report.md, PNGs), compare,
scripted_judges (judges with known scores, for tests). Metric definitions live in eval/metrics/.
"""
