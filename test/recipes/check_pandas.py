"""Runs the pandas recipe of docs/reading.md as printed, in the folder that holds EXPORT_DIR (an
`exports` folder, as `npm start` makes), then checks every value against the API's own JSON.

Usage: python3 check_pandas.py RECIPE_FILE EXPORT_DIR DATE
Prints one JSON line: what was checked. Exits non-zero on the first value that is not exact.
"""
import glob
import gzip
import json
import math
import os
import sys

import pandas as pd

recipe_file, export_dir, date = sys.argv[1:4]
recipe = open(recipe_file, encoding="utf-8").read()
os.chdir(os.path.dirname(os.path.abspath(export_dir)))
scope = {}
exec(compile(recipe, "the pandas recipe", "exec"), scope)
csv, ndjson = scope["csv"], scope["ndjson"]

# The truth: the NDJSON lines as Python's json reads them (exact integers, strings as strings).
truth = []
for name in sorted(glob.glob(f"{export_dir}/ndjson/dt={date}/*.ndjson*")):
    with (gzip.open if name.endswith(".gz") else open)(name, "rt", encoding="utf-8") as lines:
        truth += [json.loads(line) for line in lines]

KNOWN = ["iccid", "sim_status", "group", "inventory", "company", "provisioned_date", "terminated_date",
         "mapped_imsi", "imsis", "created_date", "modified_date"]
INTS = ["provisioned_date", "terminated_date", "mapped_imsi", "created_date", "modified_date"]


def missing(value):
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def fail(what):
    print(json.dumps({"failed": what}))
    sys.exit(1)


def ref(value):
    return (value.get("id"), value.get("name")) if isinstance(value, dict) else (value, None)


if len(csv) != len(truth) or len(ndjson) != len(truth):
    fail(f"rows: csv {len(csv)}, ndjson {len(ndjson)}, API {len(truth)}")
for column in ["group_id", "inventory_id", "company_id", *INTS]:
    if str(csv[column].dtype) != "Int64":
        fail(f"csv {column} is {csv[column].dtype}, not Int64")
for column in INTS:
    if column in ndjson and str(ndjson[column].dtype) != "Int64":
        fail(f"ndjson {column} is {ndjson[column].dtype}, not Int64")

formulas = 0
for i, item in enumerate(truth):
    row, line = csv.iloc[i], ndjson.iloc[i]
    # CSV: every value as the API sent it; names text, even when they start with "=".
    if row["iccid"] != item["iccid"] or not isinstance(row["iccid"], str):
        fail(f"csv iccid {row['iccid']!r} != {item['iccid']!r}")
    for field in ["group", "inventory", "company"]:
        id_, name = ref(item.get(field))
        got_id = row[f"{field}_id"]
        if (None if missing(got_id) else int(got_id)) != id_:
            fail(f"csv {field}_id {got_id!r} != {id_!r}")
        if row[f"{field}_name"] != (name or ""):  # a CSV cannot tell an empty name from none
            fail(f"csv {field}_name {row[f'{field}_name']!r} != {name!r}")
        formulas += isinstance(name, str) and name.startswith("=")
    for column in INTS:
        got = row[column]
        if (None if missing(got) else int(got)) != item.get(column):
            fail(f"csv {column} {got!r} != {item.get(column)!r}")
    extra = {k: v for k, v in item.items() if k not in KNOWN}
    if (json.loads(row["extra"]) if row["extra"] else {}) != extra:
        fail(f"csv extra {row['extra']!r} != {extra!r}")
    # NDJSON: each field the same value, of the same type (big integers and EIDs included).
    for key, value in item.items():
        got = line[key]
        if key in INTS:
            got = None if missing(got) else int(got)
        if got != value or (value is not None and type(got) is not type(value)):
            fail(f"ndjson {key} {got!r} != {value!r}")

big = sum(1 for item in truth if item.get("usage_bytes") == 18446744073709551615)
eids = sum(1 for item in truth if isinstance(item.get("eid"), str))
print(json.dumps({"rows": len(truth), "formula_like_names": formulas, "usage_bytes_2_64_minus_1": big, "eids": eids,
                  "csv_dtypes": {c: str(t) for c, t in csv.dtypes.items()}}))
