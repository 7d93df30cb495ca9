#!/usr/bin/env python3
"""Renders side_by_side.sh's idle-cost.jsonl (phase 3) as a markdown table:
per server and number of held idle sessions, the server's CPU while they
are held (and per 10,000), and handshakes per server CPU-second while they
are held, also as a ratio to the same server with none held (n = 1)."""
import json
import sys


def main(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    base = {}
    for r in rows:
        res = r.get("result") or {}
        if r["sessions"] <= 1 and "connect" in res:
            base[r["server"]] = res["connect"].get("conns_per_server_cpu_s")
    print("| server | idle sessions held | still open | server CPU while held (% of a core) "
          "| per 10k sessions | handshakes per server CPU-s while held | vs none held |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        res = r.get("result") or {}
        con = res.get("connect") or {}
        rate = con.get("conns_per_server_cpu_s")
        b = base.get(r["server"])
        ratio = f"{rate / b:.2f}x" if rate and b else "-"
        held = r["sessions"] if r["sessions"] > 1 else "none"
        print(f"| {r['server']} | {held} | {res.get('still_open_after_connect', '-')} "
              f"| {res.get('server_cpu_pct', '-') if r['sessions'] > 1 else '-'} "
              f"| {res.get('server_cpu_pct_per_10k', '-') if r['sessions'] > 1 else '-'} "
              f"| {rate if rate is not None else '-'} | {ratio} |")


if __name__ == "__main__":
    main(sys.argv[1])
