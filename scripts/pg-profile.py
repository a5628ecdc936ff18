#!/usr/bin/env python3
# Sums the time Postgres spent per statement for one database, from a server log written with
# log_min_duration_statement = 0 (BENCHMARKS.md, "Profiling the write path"): which statements
# of a service dominate, with their call counts.
# Usage: scripts/pg-profile.py LOGFILE DATABASE [START_BYTE] [TOP]
import collections
import re
import sys


def main() -> None:
    log, database = sys.argv[1], sys.argv[2]
    start = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 25
    with open(log, "rb") as f:
        f.seek(start)
        data = f.read().decode("utf8", "replace")
    total: collections.Counter = collections.Counter()
    calls: collections.Counter = collections.Counter()
    # One entry per line that starts with a timestamp; statements continue on the next lines.
    for entry in re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", data):
        head = entry.split("\n", 1)[0]
        if f"@{database} " not in head:
            continue
        m = re.search(r"duration: ([\d.]+) ms\s+(parse|bind|execute|statement)?[^:]*:\s*(.*)", entry, re.S)
        if not m:
            continue
        phase = m.group(2) or "statement"
        text = " ".join(m.group(3).split())[:100]
        key = text if phase in ("execute", "statement") else f"({phase}) {text}"
        total[key] += float(m.group(1))
        calls[key] += 1
    print(f"{sum(total.values()) / 1000:.1f} s in {sum(calls.values())} statements of {database}")
    for key, ms in total.most_common(top):
        print(f"{ms / 1000:8.1f} s {calls[key]:7d}  {key}")


if __name__ == "__main__":
    main()
