#!/usr/bin/env python3
"""Renders side_by_side.sh's workers.jsonl (phase 4) as the per-core
efficiency table: for each scenario, the median work per server CPU-second
(echo replies or fan-out deliveries) with --workers 1 and with --workers 2,
their ratio, and the medians of the server's CPU use and throughput."""
import json
import statistics
import sys
from collections import defaultdict


def med(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def num(v, fmt="{:,.0f}"):
    return fmt.format(v) if isinstance(v, (int, float)) else "-"


def main(path):
    runs = defaultdict(list)
    for line in open(path):
        if line.strip():
            r = json.loads(line)
            if r.get("result"):
                runs[(r["scenario"], r["workers"])].append(r["result"])
    print("| scenario | workers | runs | per server CPU-s | msgs/s | server CPU | "
          "ratio to --workers 1 |")
    print("|---|---|---|---|---|---|---|")
    for scenario in dict.fromkeys(s for s, _ in runs):
        base = med(r.get("msgs_per_server_cpu_s") for r in runs.get((scenario, 1), []))
        for w in sorted(w for s, w in runs if s == scenario):
            rs = runs[(scenario, w)]
            eff = med(r.get("msgs_per_server_cpu_s") for r in rs)
            cpu = med(r.get("server_cpu_pct") for r in rs)
            ratio = f"**{eff / base:.2f}**" if eff and base else "-"
            print(f"| {scenario} | {w} | {len(rs)} | {num(eff)} | "
                  f"{num(med(r.get('msgs_per_s') for r in rs))} | "
                  f"{num(cpu, '{:.0f}%')} | {ratio} |")


if __name__ == "__main__":
    main(sys.argv[1])
