#!/usr/bin/env python3
"""Regenerates data/cloud-iam/ (embedded by src/audit/permissions/cloud_catalog.rs) from
iann0036/iam-dataset (MIT), read from a local git mirror, and prints the version it wrote.

Sources (see data/cloud-iam/SOURCES.md):
  * GCP predefined roles and their permissions: gcp/roles/<role>.json (`includedPermissions`),
    which the dataset refreshes from the IAM API (roles.list / roles.get).
  * GCP API method -> IAM permissions: gcp/map.json (`api.<service>.methods.<id>.permissions`),
    keyed by the REST discovery method id (`compute.instances.insert`).
  * Azure built-in role definitions: azure/built-in-roles-raw.json (the roleDefinitions API's
    output: GUID, roleName, actions, notActions, dataActions, notDataActions).

Outputs (zstd -19, decoded once at first use):
  gcp-roles.tsv.zst    role <TAB> title <TAB> permission,permission,...
  gcp-methods.tsv.zst  method <TAB> permission,permission,...   (only methods with permissions)
  azure-roles.tsv.zst  guid <TAB> name <TAB> actions <TAB> notActions <TAB> dataActions <TAB>
                       notDataActions   (each list comma-separated)
  versions.txt         the line the outputs name as their mapping version

Usage: tools/cloud_iam_data.py [--mirror GITDIR] [--commit REV] [--out DIR]
Needs git and the `zstd` command.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def git(mirror, *args):
    return subprocess.run(["git", "--git-dir", mirror, *args], check=True,
                          capture_output=True).stdout


def blob(mirror, rev, path):
    return json.loads(git(mirror, "show", f"{rev}:{path}"))


def clean(text):
    # Fields are tab/comma/newline separated: none of these may appear inside a value.
    return " ".join(str(text).replace("\t", " ").replace(",", " ").split())


def write_zst(path, lines):
    raw = ("\n".join(lines) + "\n").encode()
    packed = subprocess.run(["zstd", "-19", "-q", "-c"], input=raw, check=True,
                            capture_output=True).stdout
    with open(path, "wb") as f:
        f.write(packed)
    return len(raw), len(packed)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mirror", default="/work/.mirror/iann0036+iam-dataset/repo")
    ap.add_argument("--commit", default="HEAD")
    ap.add_argument("--out", default=os.path.join(ROOT, "data", "cloud-iam"))
    a = ap.parse_args()
    rev = git(a.mirror, "rev-parse", a.commit).decode().strip()
    date = git(a.mirror, "log", "-1", "--format=%cs", rev).decode().strip()
    os.makedirs(a.out, exist_ok=True)

    # GCP roles: every gcp/roles/*.json blob of the commit.
    listing = git(a.mirror, "ls-tree", "-r", "--name-only", rev, "gcp/roles/").decode().split()
    roles = []
    for path in sorted(listing):
        if not path.endswith(".json"):
            continue
        role = blob(a.mirror, rev, path)
        name = role.get("name") or "roles/" + os.path.basename(path)[:-5]
        perms = sorted(set(role.get("includedPermissions", [])))
        roles.append(f"{name}\t{clean(role.get('title', ''))}\t{','.join(perms)}")
    sizes = {"gcp-roles": write_zst(os.path.join(a.out, "gcp-roles.tsv.zst"), roles)}

    # GCP methods: discovery method id -> permissions the dataset lists for it.
    api = blob(a.mirror, rev, "gcp/map.json").get("api", {})
    methods = []
    for service in sorted(api):
        for method, info in sorted(api[service].get("methods", {}).items()):
            perms = [p["name"] for p in info.get("permissions", []) if p.get("name")]
            if perms:
                methods.append(f"{method}\t{','.join(dict.fromkeys(perms))}")
    sizes["gcp-methods"] = write_zst(os.path.join(a.out, "gcp-methods.tsv.zst"), methods)

    # Azure built-in roles, by GUID; several permission blocks are merged.
    azure = []
    for role in sorted(blob(a.mirror, rev, "azure/built-in-roles-raw.json"),
                       key=lambda r: r.get("name", "")):
        lists = {k: [] for k in ("actions", "notActions", "dataActions", "notDataActions")}
        for block in role.get("permissions", []):
            for k in lists:
                lists[k].extend(block.get(k) or [])
        azure.append("\t".join([role["name"].lower(), clean(role.get("roleName", ""))]
                               + [",".join(dict.fromkeys(lists[k])) for k in lists]))
    sizes["azure-roles"] = write_zst(os.path.join(a.out, "azure-roles.tsv.zst"), azure)

    version = (f"iann0036/iam-dataset gcp/roles, gcp/map.json, azure/built-in-roles-raw.json "
               f"{rev} ({date})")
    print(f"GCP {len(roles)} predefined roles, {len(methods)} API methods with permissions; "
          f"Azure {len(azure)} built-in roles", file=sys.stderr)
    with open(os.path.join(a.out, "versions.txt"), "w") as f:
        f.write(version + "\n")
    for k, (raw, packed) in sizes.items():
        print(f"{k}: {raw} bytes, {packed} compressed", file=sys.stderr)
    print(version)


if __name__ == "__main__":
    main()
