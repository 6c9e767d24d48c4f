"""The Autobahn WebSocket conformance cases, run by kosoku (compression
cases 12.* and 13.* left out, as tokio-tungstenite does: no compression is
offered).

    python scripts/autobahn.py URL EXPECTED [--write] [--out DIR]
    python scripts/autobahn.py URL --survive [--out DIR]

With EXPECTED, every case's verdict pair (`behavior behaviorClose`) is
compared with the file, and any difference fails; `--write` records the
current verdicts instead (after a deliberate change, reviewed in the diff).
NON-STRICT is read as OK: both are conformant, and which one a fail-fast
case gets depends on whether the server's answer to the frames before the
bad one went out before it saw the bad one.

This comparison is for the echo server on the chat's own WebSocket stack
(`examples/ws_echo.rs`). The chat's endpoint itself is not an echo server:
it greets with `presence.state` the moment the upgrade completes and
answers text frames with events, so each echo case fails there, and
whether a case sees the greeting before its own frames is a race, so those
verdicts are not stable. Against the chat endpoint, `--survive` runs every
case and fails only if one could not be run to a verdict (ERROR: the
connection was refused or the server broke); scripts/autobahn.sh then
checks that the server is still healthy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from kosoku import FailureError, run_fuzzingclient

EXCLUDED = ["12.*", "13.*"]


def case_key(case_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in case_id.split("."))


async def run(url: str) -> list:
    try:
        return await run_fuzzingclient(url, None, EXCLUDED, concurrency=4)
    except FailureError as failure:
        # Verdicts are judged below, not by kosoku's pass/fail.
        return failure.results


def verdict(result) -> str:
    behavior = result.behavior.value
    if behavior == "NON-STRICT":
        behavior = "OK"
    return f"{behavior} {result.behavior_close.value}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("expected", type=Path, nargs="?")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--survive", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if (args.expected is None) != args.survive:
        parser.error("give EXPECTED, or --survive")

    results = asyncio.run(run(args.url))
    verdicts = {r.case_id: verdict(r) for r in results}
    lines = [f"{case} {verdicts[case]}" for case in sorted(verdicts, key=case_key)]
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "verdicts.txt").write_text("\n".join(lines) + "\n")
        (args.out / "results.json").write_text(
            json.dumps(
                {
                    r.case_id: {
                        "description": r.description,
                        "behavior": r.behavior.value,
                        "behaviorClose": r.behavior_close.value,
                    }
                    for r in results
                },
                indent=1,
            )
        )
    counts: dict[str, int] = {}
    for v in verdicts.values():
        counts[v] = counts.get(v, 0) + 1
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
    print(f"autobahn: {len(verdicts)} cases: {summary}")

    if args.survive:
        errors = [case for case, v in verdicts.items() if v.startswith("ERROR")]
        if errors or len(verdicts) < 250:
            print(f"autobahn: cases without a verdict: {errors or len(verdicts)}")
            return 1
        print("autobahn: every case ran to a verdict")
        return 0

    if args.write:
        args.expected.write_text(
            "# Autobahn verdicts (case behavior behaviorClose) of the echo server on\n"
            "# the chat's WebSocket stack; written by scripts/autobahn.py --write.\n"
            + "\n".join(lines)
            + "\n"
        )
        print(f"autobahn: wrote {args.expected}")
        return 0

    expected = {}
    for line in args.expected.read_text().splitlines():
        if line and not line.startswith("#"):
            case, v = line.split(" ", 1)
            expected[case] = v
    changed = [
        f"  {case}: expected {expected.get(case, '(no such case)')}, got {verdicts.get(case, '(not run)')}"
        for case in sorted(set(expected) | set(verdicts), key=case_key)
        if expected.get(case) != verdicts.get(case)
    ]
    if changed:
        print(f"autobahn: {len(changed)} verdicts differ from {args.expected}:")
        print("\n".join(changed))
        return 1
    print(f"autobahn: every verdict matches {args.expected}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
