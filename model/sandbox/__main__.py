"""CLI: `python -m model.sandbox --code-file F [--inputs-file J.json] [--timeout S] [--memory-mb M]`.

Prints one JSON object (SandboxResult.to_dict()) and exits 0 whenever the sandbox worked, even if
the code failed; exits 2 (message on stderr) when the sandbox itself or the arguments are broken,
and 3 (the JSON object still printed) when it refused to run the code: only the weak `rlimits`
isolation would run it and --allow-weak-isolation was not given.
"""
from __future__ import annotations

import argparse
import json
import sys

from model.sandbox import LEVELS, REFUSED, SandboxError, run_python


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.sandbox", description="Runs Python code in the "
                                     "sandbox and prints the result as one JSON object (exit 0 even when the "
                                     "code failed; 2 when the sandbox itself could not run).")
    parser.add_argument("--code-file", required=True, help="Python source to run")
    parser.add_argument("--inputs-file", help="JSON object whose keys become the code's global variables")
    parser.add_argument("--timeout", type=float, default=5.0, help="wall-clock limit in seconds")
    parser.add_argument("--memory-mb", type=int, default=512, help="address-space limit")
    parser.add_argument("--max-output-bytes", type=int, default=65536, help="cap on stdout+stderr")
    parser.add_argument("--isolation", choices=LEVELS, help="force a (weaker) isolation level")
    parser.add_argument("--allow-weak-isolation", action="store_true", help="run even where only the "
                        "rlimits level (no namespaces: it cannot contain hostile code) works or was forced")
    args = parser.parse_args(argv)
    try:
        with open(args.code_file, encoding="utf-8") as f:
            code = f.read()
        inputs = None
        if args.inputs_file:
            with open(args.inputs_file, encoding="utf-8") as f:
                inputs = json.load(f)
        result = run_python(code, inputs, timeout_s=args.timeout, memory_mb=args.memory_mb,
                            max_output_bytes=args.max_output_bytes, isolation=args.isolation,
                            allow_weak_isolation=args.allow_weak_isolation)
    except (OSError, ValueError, TypeError, SandboxError) as e:
        print(f"sandbox: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result.to_dict(), ensure_ascii=False))
    if result.isolation == REFUSED:
        print(f"sandbox: {result.error}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
