#!/usr/bin/env python3
"""Decisions against labels: how each labelled role of sources was decided.

usage: scripts/eval_labels.py LABELS ANALYZE_JSON

LABELS        one JSON object per line, {"ip": ..., "role": ...} (what a corpus generator
              writes with --labels)
ANALYZE_JSON  the output of `scantriage analyze --output json` on the same log

Prints one line per (role, decision, verdict) with its number of sources; sources the
analysis never saw (labelled, but beyond the end of the log) count as "absent".
"""
import collections
import json
import sys


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    labels = {}
    with open(sys.argv[1], encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                d = json.loads(line)
                labels[d["ip"]] = d["role"]
            except (ValueError, KeyError) as e:
                print(f"{sys.argv[1]}:{n}: not a label ({e}); skipped", file=sys.stderr)
    decided = {}
    with open(sys.argv[2], encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                d = json.loads(line)
            except ValueError as e:
                print(f"{sys.argv[2]}:{n}: not JSON ({e}); skipped", file=sys.stderr)
                continue
            if "ip" in d:
                decided[d["ip"]] = (d["decision"], d["verdict"])
    counts = collections.Counter(
        (role,) + decided.get(ip, ("absent", "-")) for ip, role in labels.items()
    )
    print(f"{'ROLE':20} {'DECISION':9} {'VERDICT':9} SOURCES")
    for (role, decision, verdict), n in sorted(counts.items()):
        print(f"{role:20} {decision:9} {verdict:9} {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
