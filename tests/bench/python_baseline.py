"""The stack the reference system ran on: Python's csv and json modules doing
the same parse-and-summarise as files::analyze (column types, non-empty and
distinct counts, numeric min/max/mean, row count) on the same files.
Prints one JSON line with MB/s (median of runs)."""
import csv
import io
import json
import re
import statistics
import sys
import time

INT = re.compile(r"^[+-]?\d+$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def kind(value):
    v = value.strip()
    if not v:
        return "empty"
    if INT.match(v):
        return "integer"
    try:
        float(v)
        return "number"
    except ValueError:
        pass
    if v.lower() in ("true", "false", "yes", "no"):
        return "boolean"
    if DATE.match(v):
        return "date"
    return "text"


class Column:
    def __init__(self):
        self.kinds = set()
        self.non_empty = 0
        self.distinct = set()
        self.total = 0.0
        self.n = 0
        self.lo = None
        self.hi = None

    def add(self, value):
        k = kind(value)
        if k == "empty":
            return
        self.non_empty += 1
        self.kinds.add(k)
        if len(self.distinct) < 1000:
            self.distinct.add(value)
        if k in ("integer", "number"):
            x = float(value)
            self.total += x
            self.n += 1
            self.lo = x if self.lo is None else min(self.lo, x)
            self.hi = x if self.hi is None else max(self.hi, x)


def summarise_csv(data):
    reader = csv.reader(io.StringIO(data.decode("utf-8")))
    header = next(reader)
    columns = [Column() for _ in header]
    rows = 0
    for record in reader:
        rows += 1
        for column, value in zip(columns, record):
            column.add(value)
    return rows, columns


def summarise_json(data):
    rows_data = json.loads(data)
    names = {}
    for row in rows_data:
        for k in row:
            names.setdefault(k, Column())
    for row in rows_data:
        for k, column in names.items():
            v = row.get(k)
            column.add("" if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else str(v).lower() if isinstance(v, bool) else str(v)))
    return len(rows_data), list(names.values())


def measure(path, fn, runs):
    with open(path, "rb") as f:
        data = f.read()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        rows, _ = fn(data)
        times.append(time.perf_counter() - start)
    return {"file": path.rsplit("/", 1)[-1], "rows": rows,
            "mb_s": round(len(data) / 1e6 / statistics.median(times), 1)}


if __name__ == "__main__":
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    print(json.dumps([measure(sys.argv[1], summarise_csv, runs),
                      measure(sys.argv[2], summarise_json, runs)]))
