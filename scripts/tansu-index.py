#!/usr/bin/env python3
# Adds the index Tansu 0.6.0's SQLite schema lacks: its `header` table has none, and the broker
# looks up every fetched record's headers (`header_fetch.sql`, joined on topition and offset)
# with a full scan of that table. Every fetch then cost time in proportion to all the headers
# ever produced, so the broker slowed as a run went on (a `perf` profile of the bench broker:
# most of its CPU in SQLite's btree scans; BENCHMARKS.md). The index makes each lookup a seek.
# Usage: scripts/tansu-index.py PATH/TO/tansu.db   (idempotent; waits up to 30 s for the
# broker to have created its schema)
import sqlite3
import sys
import time


def main() -> None:
    path = sys.argv[1]
    deadline = time.monotonic() + 30
    while True:
        try:
            db = sqlite3.connect(path, timeout=30)
            try:
                if db.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'header'"
                ).fetchone():
                    db.execute(
                        "CREATE INDEX IF NOT EXISTS header_record ON header (topition, offset_id)"
                    )
                    db.commit()
                    return
            finally:
                db.close()
            problem = "the broker has not created its tables"
        except sqlite3.Error as e:
            problem = str(e)
        if time.monotonic() > deadline:
            sys.exit(f"tansu-index: cannot index {path}: {problem}")
        time.sleep(0.2)


if __name__ == "__main__":
    main()
