"""Loads the benchmark's CloudTrail files with DuckDB and prints the seconds it took.

Usage: python3 benches/duckdb_load.py DIR ndjson|s3. Exits 1 when duckdb is not installed
(the benchmark then reports n/a). The query materializes the same kind of table trailscope
builds: one row per event with the fields it normalizes.
"""
import sys
import time

try:
    import duckdb
except ImportError:
    sys.exit(1)

directory, shape = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET threads TO 2")
fields = """
    eventTime, eventSource, eventName, awsRegion, sourceIPAddress, userAgent, eventID,
    errorCode, readOnly, recipientAccountId, userIdentity.arn AS actor,
    userIdentity.type AS actor_type, userIdentity.accessKeyId AS session
"""
start = time.perf_counter()
if shape == "ndjson":
    con.execute(f"CREATE TABLE t AS SELECT {fields} FROM read_json('{directory}/*.ndjson', format='newline_delimited', maximum_object_size=67108864)")
else:
    con.execute(f"CREATE TABLE t AS SELECT {fields} FROM (SELECT unnest(Records, max_depth := 2) FROM read_json('{directory}/*.json', maximum_object_size=67108864))")
rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
print(f"{time.perf_counter() - start:.3f}")
print(rows, file=sys.stderr)
