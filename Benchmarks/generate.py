#!/usr/bin/env python3
"""Deterministic, seeded generator of large `get-account-authorization-details` inputs for benchmarks.

  generate.py snapshot --mb 100 --seed 7 --out big.json
      one CLI-format snapshot of about the given size (users, groups, roles with several KB of
      inline policy each, customer-managed policies with versions, a few planted kms:* grants).
      --wildcard-share 0.3 writes that share of actions as service wildcards (s3:Get*, logs:*);
      --aws-managed 20 adds that many broad AWS-managed read-only policies, two attached to every
      user and role.
      --admin-share 0.02 adds to that share of the identity-policy documents one administrator-like
      grant: "Action": "*", "iam:*" or a NotAction leaving IAM out, each on "Resource": "*".
  generate.py snapshot --users 5000 --roles 5000 --groups 300 --policies 1500 --kb 0.33 --seed 7 --out quota.json
      an account of exactly that shape instead of one sized by --mb: the counts of users, roles,
      groups and customer-managed policies (two versions each), --inline 0-2 inline policies per
      user and role (default 1-3), each a document of about --kb KB (compact JSON; the file writes
      them indented, about three times larger).
  generate.py series --days 365 --mb 5 --churn 0.01 --seed 7 --out DIR
      a year of daily snapshots of one account; each day about `churn` of the principals change
      (a policy edited, a principal added or removed) and RoleLastUsed moves on.
  generate.py organisation --accounts 200 --months 3 --mb 1 --churn 0.02 --seed 7 --out DIR
      an organisation as most teams export one: DIR/<month-end date>/<account id>.json (one folder
      per month from 2024-01-31, one file of about `mb` MB per account, each account its own
      principals, about `churn` of them changed from month to month), and DIR/scope.json listing
      every account plus two that were never exported (coverage gaps).

Same arguments, same bytes. Only the standard library is used.
"""
import argparse
import copy
import datetime
import json
import os
import random

ACCOUNT = "210987654321"
SERVICES = ["s3", "ec2", "dynamodb", "sqs", "sns", "logs", "lambda", "ecr", "cloudwatch", "ssm", "secretsmanager", "kms"]
VERBS = ["Get", "List", "Describe", "Put", "Create", "Delete", "Update", "Tag"]


def statement(rng, i):
    svc = rng.choice(SERVICES[:-1])
    actions = sorted({f"{svc}:{rng.choice(VERBS)}{rng.choice(['Object', 'Item', 'Queue', 'Topic', 'Log', 'Image', 'Parameter', 'Secret'])}" for _ in range(rng.randint(2, 8))})
    res = [f"arn:aws:{svc}:us-east-1:{ACCOUNT}:resource-{rng.randint(0, 10**6):07d}/*" for _ in range(rng.randint(1, 4))]
    if WILDCARD_SHARE > 0:
        # Service wildcards (`s3:Get*`, `logs:*`) as real accounts write them; no extra draws at share 0,
        # so inputs generated without the option keep their bytes.
        actions = sorted({(f"{svc}:{rng.choice(VERBS)}*" if rng.random() < 0.5 else f"{svc}:*") if rng.random() < WILDCARD_SHARE else a
                          for a in actions})
    st = {"Sid": f"S{i}{rng.randint(0, 10**5)}", "Effect": "Allow", "Action": actions, "Resource": res}
    if rng.random() < 0.2:
        st["Condition"] = {"StringEquals": {"aws:RequestedRegion": rng.choice(["us-east-1", "eu-west-1", "ap-south-1"])}}
    return st


KMS_SHARE = 0.01  # share of documents that also Allow kms:* on * (set by --kms-share)
WILDCARD_SHARE = 0.0  # share of actions written as service wildcards (set by --wildcard-share)


def document(rng, kb):
    stmts = []
    size = 0
    i = 0
    while size < kb * 1024:
        s = statement(rng, i)
        stmts.append(s)
        size += len(json.dumps(s))
        i += 1
    if rng.random() < KMS_SHARE:
        stmts.append({"Effect": "Allow", "Action": "kms:*", "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": stmts}


def ident(rng, prefix):
    return prefix + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(17))


def build(rng, users, roles, groups, policies, kb, inline=(1, 3)):
    g = [{"Path": "/", "GroupName": f"group-{i:04d}", "GroupId": ident(rng, "AGPA"), "Arn": f"arn:aws:iam::{ACCOUNT}:group/group-{i:04d}",
          "CreateDate": "2020-01-01T00:00:00+00:00", "GroupPolicyList": [{"PolicyName": f"group-{i:04d}-policy", "PolicyDocument": document(rng, kb)}],
          "AttachedManagedPolicies": []} for i in range(groups)]
    p = []
    for i in range(policies):
        versions = [{"Document": document(rng, kb), "VersionId": f"v{v}", "IsDefaultVersion": v == 2, "CreateDate": "2021-01-01T00:00:00+00:00"} for v in (1, 2)]
        p.append({"PolicyName": f"managed-{i:04d}", "PolicyId": ident(rng, "ANPA"), "Arn": f"arn:aws:iam::{ACCOUNT}:policy/managed-{i:04d}", "Path": "/",
                  "DefaultVersionId": "v2", "AttachmentCount": 1, "PermissionsBoundaryUsageCount": 0, "IsAttachable": True,
                  "CreateDate": "2021-01-01T00:00:00+00:00", "UpdateDate": "2021-01-01T00:00:00+00:00", "PolicyVersionList": versions})
    u = []
    for i in range(users):
        u.append({"Path": "/", "UserName": f"user-{i:05d}", "UserId": ident(rng, "AIDA"), "Arn": f"arn:aws:iam::{ACCOUNT}:user/user-{i:05d}",
                  "CreateDate": "2019-05-05T05:05:05+00:00",
                  "UserPolicyList": [{"PolicyName": f"user-{i:05d}-policy-{k}", "PolicyDocument": document(rng, kb)} for k in range(rng.randint(*inline))],
                  "GroupList": [f"group-{rng.randrange(groups):04d}"] if groups else [],
                  "AttachedManagedPolicies": [{"PolicyName": f"managed-{j:04d}", "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/managed-{j:04d}"} for j in sorted({rng.randrange(policies) for _ in range(2)})] if policies else [],
                  "Tags": [{"Key": "team", "Value": rng.choice(["data", "web", "ops", "ml"])}]})
    r = []
    for i in range(roles):
        r.append({"Path": "/", "RoleName": f"role-{i:05d}", "RoleId": ident(rng, "AROA"), "Arn": f"arn:aws:iam::{ACCOUNT}:role/role-{i:05d}",
                  "CreateDate": "2019-05-05T05:05:05+00:00",
                  "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
                  "InstanceProfileList": [],
                  "RolePolicyList": [{"PolicyName": f"role-{i:05d}-policy-{k}", "PolicyDocument": document(rng, kb)} for k in range(rng.randint(*inline))],
                  "AttachedManagedPolicies": [], "Tags": [], "RoleLastUsed": {"LastUsedDate": "2024-01-01T00:00:00+00:00", "Region": "us-east-1"}})
    return {"UserDetailList": u, "GroupDetailList": g, "RoleDetailList": r, "Policies": p}


def add_aws_managed(snap, count, seed):
    """Adds `count` AWS-managed policies (broad, wildcard-heavy documents like ReadOnlyAccess) and
    attaches two of them to every user and role, as real accounts do. Uses its own generator, so the
    rest of the snapshot is the same as without it."""
    rng = random.Random(seed + 99)
    services = SERVICES + ["iam", "sts", "cloudformation", "route53", "elasticloadbalancing", "autoscaling", "rds", "glue",
                           "athena", "kinesis", "firehose", "events", "states", "codebuild", "codepipeline", "apigateway"]
    policies = []
    for i in range(count):
        actions = sorted({f"{svc}:{verb}*" for svc in services for verb in ("Get", "List", "Describe") if rng.random() < 0.7})
        document = {"Version": "2012-10-17", "Statement": [{"Sid": "ReadOnly", "Effect": "Allow", "Action": actions, "Resource": "*"}]}
        arn = f"arn:aws:iam::aws:policy/AWSManagedReadOnly{i:03d}"
        policies.append({"PolicyName": f"AWSManagedReadOnly{i:03d}", "PolicyId": ident(rng, "ANPA"), "Arn": arn, "Path": "/",
                         "DefaultVersionId": "v1", "AttachmentCount": 0, "PermissionsBoundaryUsageCount": 0, "IsAttachable": True,
                         "CreateDate": "2015-02-06T18:39:46+00:00", "UpdateDate": "2015-02-06T18:39:46+00:00",
                         "PolicyVersionList": [{"Document": document, "VersionId": "v1", "IsDefaultVersion": True,
                                                "CreateDate": "2015-02-06T18:39:46+00:00"}]})
    for principal in snap["UserDetailList"] + snap["RoleDetailList"]:
        for j in sorted(rng.sample(range(count), min(2, count))):
            principal["AttachedManagedPolicies"].append({"PolicyName": policies[j]["PolicyName"], "PolicyArn": policies[j]["Arn"]})
            policies[j]["AttachmentCount"] += 1
    snap["Policies"] += policies


ADMIN_GRANTS = [
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
    {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
]


def add_admin_grants(snap, share, seed):
    """Appends one administrator-like statement (every action, every IAM action, or everything but
    IAM) to `share` of the inline policies and managed policy versions. Uses its own generator, so
    the rest of the snapshot is the same as without it."""
    rng = random.Random(seed + 77)
    documents = [p["PolicyDocument"] for kind, key in (("UserDetailList", "UserPolicyList"), ("GroupDetailList", "GroupPolicyList"),
                                                       ("RoleDetailList", "RolePolicyList")) for x in snap[kind] for p in x[key]]
    documents += [v["Document"] for p in snap["Policies"] if ":aws:policy/" not in p["Arn"] for v in p["PolicyVersionList"]]
    for d in documents:
        if rng.random() < share:
            d["Statement"].append(copy.deepcopy(rng.choice(ADMIN_GRANTS)))


def sized(mb, seed, kb=3):
    # About 2 inline policies of `kb` KB per principal: scale the principal count to the target size.
    principals = max(10, int(mb * 1024 * 1.0 / (kb * 2 * 3.3)))
    rng = random.Random(seed)
    return build(rng, users=principals // 2, roles=principals // 2, groups=max(2, principals // 100), policies=max(2, principals // 50), kb=kb)


def month_ends(months):
    """The last day of each of `months` months from January 2024."""
    out = []
    for m in range(months):
        year, month = 2024 + m // 12, 1 + m % 12
        nxt = (year + (month == 12), 1 if month == 12 else month + 1)
        out.append((datetime.date(nxt[0], nxt[1], 1) - datetime.timedelta(days=1)).isoformat())
    return out


def organisation(accounts, months, mb, churn, seed, out):
    global ACCOUNT
    rng = random.Random(seed + 5)
    ids = []
    while len(ids) < accounts + 2:
        candidate = f"{rng.randrange(10**11, 10**12):012d}"
        if candidate not in ids:
            ids.append(candidate)
    ends = month_ends(months)
    for end in ends:
        os.makedirs(os.path.join(out, end), exist_ok=True)
    for n, account in enumerate(ids[:accounts]):
        ACCOUNT = account  # every ARN of this account's snapshots
        snap = sized(mb, seed * 1000 + n)
        change = random.Random(seed * 1000 + n + 1)
        for m, end in enumerate(ends):
            if m:
                people = snap["UserDetailList"] + snap["RoleDetailList"]
                for _ in range(max(1, int(len(people) * churn))):
                    victim = change.choice(people)
                    key = "UserPolicyList" if "UserName" in victim else "RolePolicyList"
                    victim[key][0]["PolicyDocument"] = document(change, 3)
            dump(snap, os.path.join(out, end, f"{account}.json"))
    scope = {"accounts": [{"id": a, "name": f"account-{i:03d}", "owner": f"team-{i % 17:02d}"} for i, a in enumerate(ids)]}
    dump(scope, os.path.join(out, "scope.json"))


def dump(obj, path):
    with open(path, "w") as f:
        json.dump(obj, f, indent=4)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("snapshot")
    s.add_argument("--mb", type=float, default=100)
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--kms-share", type=float, default=0.01, help="share of documents granting kms:* on *")
    s.add_argument("--wildcard-share", type=float, default=0.0, help="share of actions written as service wildcards (s3:Get*, logs:*)")
    s.add_argument("--aws-managed", type=int, default=0, help="AWS-managed read-only policies, two attached to every user and role")
    s.add_argument("--admin-share", type=float, default=0.0,
                   help='share of identity-policy documents given an administrator-like grant ("*", "iam:*", NotAction iam:*)')
    s.add_argument("--users", type=int, help="exact shape instead of --mb: users (with --roles, --groups, --policies, --kb)")
    s.add_argument("--roles", type=int)
    s.add_argument("--groups", type=int)
    s.add_argument("--policies", type=int)
    s.add_argument("--kb", type=float, default=3, help="with --users: about this many KB of compact JSON per inline document")
    s.add_argument("--inline", default="1-3", help="with --users: inline policies per user and role, drawn from this range")
    s.add_argument("--out", required=True)
    y = sub.add_parser("series")
    y.add_argument("--days", type=int, default=365)
    y.add_argument("--mb", type=float, default=5)
    y.add_argument("--churn", type=float, default=0.01)
    y.add_argument("--seed", type=int, default=7)
    y.add_argument("--out", required=True)
    o = sub.add_parser("organisation")
    o.add_argument("--accounts", type=int, default=200)
    o.add_argument("--months", type=int, default=3)
    o.add_argument("--mb", type=float, default=1)
    o.add_argument("--churn", type=float, default=0.02)
    o.add_argument("--seed", type=int, default=7)
    o.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.cmd == "organisation":
        organisation(a.accounts, a.months, a.mb, a.churn, a.seed, a.out)
        return
    if a.cmd == "snapshot":
        global KMS_SHARE, WILDCARD_SHARE
        KMS_SHARE = a.kms_share
        WILDCARD_SHARE = a.wildcard_share
        if a.users is not None:
            if None in (a.roles, a.groups, a.policies):
                ap.error("--users needs --roles, --groups and --policies")
            snap = build(random.Random(a.seed), users=a.users, roles=a.roles, groups=a.groups, policies=a.policies, kb=a.kb,
                         inline=tuple(int(n) for n in a.inline.split("-")))
        else:
            snap = sized(a.mb, a.seed)
        if a.aws_managed:
            add_aws_managed(snap, a.aws_managed, a.seed)
        if a.admin_share:
            add_admin_grants(snap, a.admin_share, a.seed)
        dump(snap, a.out)
        return
    os.makedirs(a.out, exist_ok=True)
    snap = sized(a.mb, a.seed)
    rng = random.Random(a.seed + 1)
    for day in range(a.days):
        if day:
            people = snap["UserDetailList"] + snap["RoleDetailList"]
            for _ in range(max(1, int(len(people) * a.churn))):
                victim = rng.choice(people)
                key = "UserPolicyList" if "UserName" in victim else "RolePolicyList"
                victim[key][0]["PolicyDocument"] = document(rng, 3)
            for role in snap["RoleDetailList"][: max(1, len(snap["RoleDetailList"]) // 20)]:
                role["RoleLastUsed"]["LastUsedDate"] = f"2024-{1 + day // 31 % 12:02d}-{1 + day % 28:02d}T00:00:00+00:00"
        dump(snap, os.path.join(a.out, f"day-{day:03d}.json"))


if __name__ == "__main__":
    main()
