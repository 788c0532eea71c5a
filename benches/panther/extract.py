#!/usr/bin/env python3
"""Extracts Panther's labelled test events for the rules trailscope mirrors.

Usage: python3 benches/panther/extract.py /path/to/panther-analysis [--out tests/fixtures/panther]

The argument is a clone (or bare mirror) of panther-labs/panther-analysis; the events are
read at the commit named in tests/fixtures/panther/mapping.toml (`git show COMMIT:path`).
For every rule of the mapping with scope "scored", every test item (Name, ExpectedResult,
Log) becomes one entry of tests/fixtures/panther/<rule file stem>.json, its Log framed as
the provider exports it so that trailscope's loader reads it unchanged:

* Panther's own fields (top-level `p_*`: p_log_type, p_event_time, p_enrichment, ...) are
  removed; they are not part of any provider's record.
* AWS.CloudTrail records are wrapped in `{"Records": [...]}`, the shape of a CloudTrail S3
  object.
* A Log given as a JSON string is parsed.
* Everything else (Entra diagnostic records, Azure Activity and AKS diagnostic records,
  GCP LogEntry, EKS audit events, Okta and GitHub events) is kept as it is.

What was adapted is written beside each event (`adapted`). CI has no network and no mirror,
so the output is committed; run this again only to refresh it from a new commit.
"""

import argparse
import json
import subprocess
import sys
import tomllib
import zlib
from pathlib import Path

import yaml

COMMIT = "daa10c888566839e9918dfba1cd652743781e5fe"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MAPPING = ROOT / "tests/fixtures/panther/mapping.toml"


def git_show(repo: Path, path: str) -> str:
    """One file of the mirror at the pinned commit (works on bare and checked-out repos)."""
    git_dir = repo if (repo / "HEAD").exists() and not (repo / ".git").exists() else repo / ".git"
    out = subprocess.run(
        ["git", f"--git-dir={git_dir}", "show", f"{COMMIT}:{path}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


# Panther reads fields case-insensitively, and some of its test events spell top-level
# fields in lower case; the providers' exports spell them as below.
CASING = {
    "Okta.SystemLog": [
        "authenticationContext", "debugContext", "displayMessage", "eventType",
        "legacyEventType", "securityContext",
    ],
    "GCP.AuditLog": ["insertId", "logName", "protoPayload", "receiveTimestamp"],
    "Azure.Audit": [
        "callerIpAddress", "correlationId", "durationMs", "operationName",
        "operationVersion", "resourceId", "resultSignature", "resultType", "tenantId",
    ],
}

# Where each export states its time. Panther takes the time from `p_event_time`, so some
# test events carry none; a real export always does.
FALLBACK_TIME = "2024-01-01T12:00:00Z"

# Diagnostic-settings categories of Entra ID records.
ENTRA_CATEGORIES = {
    "AuditLogs", "SignInLogs", "NonInteractiveUserSignInLogs", "ServicePrincipalSignInLogs",
    "ManagedIdentitySignInLogs", "ADFSSignInLogs",
}


def iso_time(log: dict) -> str:
    """The event's time as RFC 3339, from Panther's p_event_time when there is one."""
    t = log.get("p_event_time")
    if not isinstance(t, str) or not t[:4].isdigit():
        return FALLBACK_TIME
    t = t.replace(" ", "T")
    return t if t.endswith("Z") or "+" in t[10:] else t + "Z"


def add_missing(record: dict, fields: dict, adapted: list[str], where: str = "") -> None:
    """Fills the fields every real export carries and a trimmed test event left out."""
    missing = {k: v for k, v in fields.items() if not record.get(k)}
    record.update(missing)
    if missing:
        adapted.append(
            "added " + ", ".join(f"{where}{k} = {v}" for k, v in missing.items())
        )


def add_k8s_fields(event: dict, when: str, name: str, adapted: list[str], where: str) -> None:
    """An audit.k8s.io/v1 Event's envelope fields; `verb` is `get` when the test left it out
    (its requestURI is a read)."""
    add_missing(
        event,
        {
            "apiVersion": "audit.k8s.io/v1",
            "kind": "Event",
            "level": "RequestResponse",
            "auditID": f"panther-{zlib.crc32(name.encode()):08x}",
            "stage": "ResponseComplete",
            "verb": "get",
            "requestReceivedTimestamp": when,
            "stageTimestamp": when,
        },
        adapted,
        where,
    )


def frame(log_type: str, log: dict, panther: str, name: str) -> tuple[object, list[str]]:
    """The Log as the provider exports it, and what had to change."""
    adapted = []
    own = [k for k in log if k.startswith("p_")]
    if own:
        adapted.append("removed Panther fields " + ", ".join(sorted(own)))
    record = {k: v for k, v in log.items() if not k.startswith("p_")}
    recased = []
    for key in CASING.get(log_type, []):
        low = key.lower()
        if low in record and key not in record:
            record[key] = record.pop(low)
            recased.append(f"{low} -> {key}")
    if recased:
        adapted.append("re-cased " + ", ".join(recased))
    when = iso_time(log)
    kubernetes = panther.startswith("Kubernetes.") or panther.startswith("GCP.K8s.")
    if log_type == "AWS.CloudTrail":
        stated = record.get("eventTime")
        if isinstance(stated, str) and stated and not stated[:4].isdigit():
            record.pop("eventTime")
            adapted.append(f"replaced eventTime {stated!r}")
        add_missing(record, {"eventVersion": "1.08", "eventTime": when}, adapted)
        adapted.append('wrapped in {"Records": [...]}')
        return {"Records": [record]}, adapted
    if log_type == "Amazon.EKS.Audit":
        add_k8s_fields(record, when, name, adapted, "")
    elif log_type == "Azure.MonitorActivity" and kubernetes:
        props = record.get("properties") or {}
        inner = props.get("log")
        if isinstance(inner, str):
            event = json.loads(inner)
            before = len(adapted)
            add_k8s_fields(event, when, name, adapted, "properties.log ")
            if len(adapted) > before:
                props["log"] = json.dumps(event)
        if not record.get("time"):
            record["time"] = when
            adapted.append(f"added time = {when}")
    elif log_type == "GCP.AuditLog":
        if not record.get("timestamp"):
            record["timestamp"] = when
            adapted.append(f"added timestamp = {when}")
        if not record.get("logName"):
            labels = (record.get("resource") or {}).get("labels") or {}
            project = labels.get("project_id") or "panther-test"
            record["logName"] = f"projects/{project}/logs/cloudaudit.googleapis.com%2Factivity"
            adapted.append(f"added logName = {record['logName']}")
        if not record.get("insertId"):
            record["insertId"] = f"panther-{zlib.crc32(name.encode()):08x}"
            adapted.append(f"added insertId = {record['insertId']}")
    elif log_type == "Azure.Audit":
        props = record.get("properties") or {}
        category = record.get("category")
        if category not in ENTRA_CATEGORIES and "activityDisplayName" in props:
            record["category"] = "AuditLogs"
            adapted.append(f"category {category!r} -> 'AuditLogs' (the diagnostic category)")
    elif log_type == "Okta.SystemLog":
        if not record.get("published"):
            record["published"] = when
            adapted.append(f"added published = {when}")
    elif log_type == "GitHub.Audit":
        if not record.get("@timestamp") and not record.get("created_at"):
            record["created_at"] = when
            adapted.append(f"added created_at = {when}")
    return record, adapted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mirror", type=Path, help="panther-analysis clone or bare mirror")
    parser.add_argument("--out", type=Path, default=MAPPING.parent)
    args = parser.parse_args()
    mapping = tomllib.loads(MAPPING.read_text())
    written = 0
    for rule in mapping["rule"]:
        if rule["scope"] != "scored":
            continue
        spec = yaml.safe_load(git_show(args.mirror, rule["path"]))
        if spec.get("RuleID") != rule["panther"]:
            sys.exit(f"{rule['path']}: RuleID {spec.get('RuleID')} != {rule['panther']}")
        rule_types = spec.get("LogTypes") or []
        keep = rule.get("log_types")
        tests = []
        for test in spec.get("Tests") or []:
            log = test["Log"]
            if isinstance(log, str):
                log = json.loads(log)
            log_type = log.get("p_log_type") or (rule_types[0] if len(rule_types) == 1 else None)
            if log_type is None:
                sys.exit(f"{rule['path']}: test {test['Name']!r} has no log type")
            if keep and log_type not in keep:
                continue
            export, adapted = frame(log_type, log, rule["panther"], test["Name"])
            tests.append(
                {
                    "name": test["Name"],
                    "expected": bool(test["ExpectedResult"]),
                    "log_type": log_type,
                    "mocked": [m["objectName"] for m in test.get("Mocks") or []],
                    "adapted": adapted,
                    "export": export,
                }
            )
        out = {
            "panther": rule["panther"],
            "path": rule["path"],
            "commit": COMMIT,
            "tests": tests,
        }
        target = args.out / (Path(rule["path"]).stem + ".json")
        target.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
        written += len(tests)
    print(f"wrote {written} test events", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
