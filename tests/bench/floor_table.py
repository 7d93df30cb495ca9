#!/usr/bin/env python3
"""Renders side_by_side.sh's herald-bench.jsonl (phase 1) as the "fraction
of the raw floor" table: for every scenario floor_<x>, herald's fan-out
<x> next to the same herald-bench run against `herald-bench floor` (one
send() of a prebuilt frame per recipient, nothing else), and herald's
deliveries per server CPU-second divided by the floor's."""
import json
import sys


def num(v, fmt="{:,.0f}"):
    return fmt.format(v) if isinstance(v, (int, float)) else "-"


def loss(res):
    if not res:
        return "-"
    return f"{res.get('received', '-')}/{res.get('expected', '-')}, {res.get('errors', '-')} errors"


def main(path):
    rows = {}
    for line in open(path):
        if line.strip():
            r = json.loads(line)
            rows[r["scenario"]] = r
    print("| scenario | herald deliveries/s | herald per server CPU-s | floor deliveries/s "
          "| floor per server CPU-s | herald / floor | received/expected (herald; floor) "
          "| floor EAGAIN |")
    print("|---|---|---|---|---|---|---|---|")
    for name, fl in rows.items():
        if not name.startswith("floor_"):
            continue
        base = name[len("floor_"):]
        h = (rows.get(base) or {}).get("result") or {}
        f = fl.get("result") or {}
        own = fl.get("floor") or {}
        hc, fc = h.get("msgs_per_server_cpu_s"), f.get("msgs_per_server_cpu_s")
        frac = f"{hc / fc:.2f}" if hc and fc else "-"
        print(f"| {base} | {num(h.get('msgs_per_s'))} | {num(hc)} | {num(f.get('msgs_per_s'))} "
              f"| {num(fc)} | **{frac}** | {loss(h)}; {loss(f)} | {own.get('eagain', '-')} |")


if __name__ == "__main__":
    main(sys.argv[1])
