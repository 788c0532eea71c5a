"""Runs trailscope's emitted SQL on DuckDB or Apache Spark for tests/lake_engines.rs.

    run_sql.py run    read a job (JSON) on stdin, print results

A job is {"engine": "duckdb"|"spark", "setup": [SQL, ...], "queries": [[NAME, SQL], ...]}.
The setup statements (the emitted DDL) run first; each query's result is printed as
{"results": {NAME: {"rows": [[cell, ...], ...]} | {"error": TEXT}}}, cells as strings or null.
Spark runs once for all queries, in local-cluster mode (a master, two executor processes).
"""

import json
import sys


def cell(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def run_duckdb(job):
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for statement in job["setup"]:
        con.execute(statement)
    results = {}
    for name, sql in job["queries"]:
        try:
            rows = con.execute(sql).fetchall()
            results[name] = {"rows": [[cell(v) for v in row] for row in rows]}
        except Exception as e:  # reported per query, the test names it
            results[name] = {"error": str(e)}
    return results


def run_spark(job):
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local-cluster[2,1,1024]")
        .appName("trailscope-lake-engines")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        for statement in job["setup"]:
            spark.sql(statement).collect()
        results = {}
        for name, sql in job["queries"]:
            try:
                rows = spark.sql(sql).collect()
                results[name] = {"rows": [[cell(v) for v in row] for row in rows]}
            except Exception as e:
                results[name] = {"error": str(e).splitlines()[0] if str(e) else repr(e)}
        executors = spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size()
        results["__executors"] = {"rows": [[str(executors)]]}
        return results
    finally:
        spark.stop()


def main():
    job = json.load(sys.stdin)
    run = run_duckdb if job["engine"] == "duckdb" else run_spark
    print(json.dumps({"results": run(job)}))


if __name__ == "__main__":
    main()
