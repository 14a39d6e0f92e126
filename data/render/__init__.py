"""data.render: filters teacher trajectories and renders them into training data (`python -m data.render`).

cli      the stage: config, filters, formats, outputs, report, card, protocol; `main` is the CLI
inputs   reads and validates a data.generate folder
formats  the three training formats (sft_skill, sft_direct, rl) and their tokenization
outputs  writes a format as a datasets folder and JSONL
report   token statistics and composition (render_report.json)
card     the dataset card (README.md)
hub      the optional push to the Hugging Face Hub
"""
