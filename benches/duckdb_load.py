"""Loads a benchmark shape's files with DuckDB and prints the seconds it took.

Usage: python3 benches/duckdb_load.py DIR ndjson|s3|entra|k8s|gcp. Exits 1 when duckdb is
not installed (the benchmark then reports n/a). Each query materializes the same kind of
table trailscope builds: one row per event with the fields it normalizes.
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
BIG = "maximum_object_size=268435456"
QUERIES = {
    "ndjson": f"""SELECT eventTime, eventSource, eventName, awsRegion, sourceIPAddress, userAgent,
        eventID, errorCode, readOnly, recipientAccountId, userIdentity.arn AS actor,
        userIdentity.type AS actor_type, userIdentity.accessKeyId AS session
        FROM read_json('{directory}/*.ndjson', format='newline_delimited', {BIG})""",
    "s3": f"""SELECT eventTime, eventSource, eventName, awsRegion, sourceIPAddress, userAgent,
        eventID, errorCode, readOnly, recipientAccountId, userIdentity.arn AS actor,
        userIdentity.type AS actor_type, userIdentity.accessKeyId AS session
        FROM (SELECT unnest(Records, max_depth := 2) FROM read_json('{directory}/*.json', {BIG}))""",
    "entra": f"""SELECT r.time, r.category, r.properties.userPrincipalName AS actor,
        r.properties.userId AS actor_id, r.properties.appDisplayName AS action,
        r.properties.ipAddress AS src_ip, r.properties.userAgent AS user_agent,
        r.properties.status.errorCode AS error, r.properties.location.countryOrRegion AS country,
        r.properties.location.city AS city, r.properties.id AS event_id,
        r.properties.correlationId AS correlation_id, r.tenantId AS account
        FROM (SELECT unnest(records) AS r FROM read_json('{directory}/**/*.json', {BIG}))""",
    "k8s": f"""SELECT requestReceivedTimestamp, auditID, verb, "user".username AS actor,
        sourceIPs[1] AS src_ip, userAgent, objectRef.resource AS resource,
        objectRef.namespace AS namespace, objectRef.name AS name,
        responseStatus.code AS code, annotations AS annotations
        FROM read_json('{directory}/*.log', format='newline_delimited', {BIG})""",
    "gcp": f"""SELECT "timestamp", insertId, logName, protoPayload.methodName AS action,
        protoPayload.serviceName AS service, protoPayload.resourceName AS resource,
        protoPayload.authenticationInfo.principalEmail AS actor,
        protoPayload.requestMetadata.callerIp AS src_ip,
        protoPayload.requestMetadata.callerSuppliedUserAgent AS user_agent,
        protoPayload.status.code AS code, resource.labels.project_id AS account
        FROM read_json('{directory}/**/*.json', format='newline_delimited', {BIG})""",
}
start = time.perf_counter()
con.execute(f"CREATE TABLE t AS {QUERIES[shape]}")
rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
print(f"{time.perf_counter() - start:.3f}")
print(rows, file=sys.stderr)
