#!/usr/bin/env python
"""Compares two probe outputs step by step, ignoring error messages.

Usage: diff.py MLFLOW.jsonl ALMANAC.jsonl [--expected FILE] [--msgs]

Prints each step whose result differs, then one summary line. With
--expected, the file lists steps known to differ (one per line, `step  #
why`); the exit status is 1 when a step differs that the file does not
name, so a new incompatibility fails the run."""

import json
import sys


def load(path):
    with open(path) as f:
        return {r["step"]: r for r in map(json.loads, f)}


def comparable(r):
    return {k: v for k, v in r.items() if k not in ("msg", "secs", "step")} if r else None


def main(argv):
    mlflow, almanac = load(argv[1]), load(argv[2])
    expected = set()
    if "--expected" in argv:
        with open(argv[argv.index("--expected") + 1]) as f:
            expected = {line.split("#")[0].strip() for line in f} - {""}
    names = list(mlflow) + [n for n in almanac if n not in mlflow]
    differ = [n for n in names if comparable(mlflow.get(n)) != comparable(almanac.get(n))]
    for n in differ:
        a, b = mlflow.get(n), almanac.get(n)
        mark = "" if n in expected else "  (NEW)"
        print(f"=== {n}{mark}")
        print("  mlflow :", json.dumps(comparable(a), sort_keys=True)[:1500], f"| {a.get('msg', '')[:300]}" if a else "")
        print("  almanac:", json.dumps(comparable(b), sort_keys=True)[:1500], f"| {b.get('msg', '')[:300]}" if b else "")
    if "--msgs" in argv:
        print("\n--- error messages that differ on matching steps ---")
        for n in names:
            a, b = mlflow.get(n), almanac.get(n)
            if a and b and n not in differ and a.get("msg") != b.get("msg"):
                print(f"{n}\n  mlflow : {a.get('msg')}\n  almanac: {b.get('msg')}")
    new = [n for n in differ if n not in expected]
    # A listed step that now matches (or no longer exists) should leave the list.
    stale = sorted((expected & set(names)) - set(differ))
    if stale and "--expected" in argv:
        print("\nlisted as expected but matching now:", " ".join(stale))
    print(f"\n{len(names)} steps, {len(names) - len(differ)} match, {len(differ)} differ ({len(new)} not expected)")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
