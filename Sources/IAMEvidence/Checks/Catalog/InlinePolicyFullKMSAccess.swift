/// `kms-full-access-inline` — the product's founding check.
///
/// Every inline policy of every user, group and role is judged on its own: it fails when its Allow
/// statements, together, grant every KMS action of the catalog on all keys, unless Deny statements of
/// the same policy deny every granted action unconditionally on every key (a Deny of only some is
/// noted `partial-deny`, and the policy still fails). A group's result lists the member users who
/// inherit the policy.
public struct InlinePolicyFullKMSAccess: Check {
  public init() {}

  public let description = CheckDescription(
    id: "kms-full-access-inline",
    version: 2,
    title: "No inline policy allows full AWS KMS access on all keys",
    controls: ["A.8.2", "A.8.3", "A.8.24"],
    rationale: """
      An inline policy that allows every KMS action on every key lets its principal decrypt any data \
      protected by KMS, disable or schedule deletion of any key, and rewrite key policies and grants. \
      Privileged access to cryptographic keys must be restricted and assigned deliberately (ISO/IEC \
      27001:2022 A.8.2); inline policies escape central review because they are embedded in one identity.
      """,
    remediation: """
      Replace the statement with one that names the specific key ARNs the workload uses and only the \
      actions it needs (for example kms:Decrypt and kms:GenerateDataKey), or remove the inline policy \
      and grant access through a reviewed customer-managed policy or the key policy.
      """,
    methodology: [
      "Population: every inline policy of every user, group and role in the snapshot, each judged on its own document.",
      "Actions match case-insensitively as globs (* any run, ? one character) against the 55-action KMS catalog shipped with the tool; \"every KMS action\" means every action of that catalog. NotAction with Allow grants every action it does not list; Allow statements of one policy add up.",
      "All keys: Resource \"*\" (alone or in a list), a KMS ARN pattern that reaches every key of at least one region and account (arn:aws:kms:*:*:key/*, arn:aws:kms:us-east-1:123456789012:key/*, arn:aws:kms:*, an Allow's patterns with ${...} variables), or NotResource that does not exclude every key. One concrete key ARN, key/mrk-* or an alias ARN is not all keys (an Allow on specific keys only is noted \"specific-keys\").",
      "The policy fails when its Allow statements together allow every KMS action on all keys; when they allow only some, it passes (the result says how many). Conditions do not narrow a grant: a conditional grant fails, noted \"conditional\".",
      "Deny statements of the same policy are credited only without Condition and on every key of every region and account (Resource \"*\", arn:aws:kms:*:*:key/*, arn:aws:kms:*, or a NotResource that excludes no key; for the actions that take only Resource \"*\", a Resource matching \"*\" or a NotResource that does not). When credited Denies deny every granted action, the policy passes, noted \"neutralised-by-deny\". A credited Deny of only some of them is noted \"partial-deny\" with the number of granted actions that remain, and the policy still fails; a Deny under a Condition (\"conditional-deny\") or on some keys only (\"deny-limited-resources\") is noted and not credited.",
      "Version 2: a policy variable (${aws:username}) is one value of the request, never a wildcard, so a Deny whose Resource holds one (arn:aws:kms:*:*:key/${aws:username}) is not on every key and is not credited, and an Allow whose NotResource holds one leaves all keys in (version 1 read a variable as * in both, so such a Deny cancelled the grant and such a NotResource excluded every key); in an Allow's Resource a variable still reaches as far as * would. A Deny reaches the actions that take only Resource \"*\" (CreateKey, ListKeys, GenerateRandom, DisconnectCustomKeyStore and the other custom key store actions) only when its Resource matches \"*\" or its NotResource does not: a Deny of kms:* on arn:aws:kms:*:*:key/* or arn:aws:kms:* leaves them allowed (noted \"partial-deny\"; version 1 credited it for them too).",
      "A statement with an Effect other than exactly Allow or Deny, both or neither of Action/NotAction or Resource/NotResource, or that is not an object, and a member name written twice (\"duplicate-key\"), make the policy's status \"error\".",
    ],
    population: "Inline policies of users, groups and roles",
    isPrimary: true,
    controlObjective: "no identity may hold full AWS KMS access on all keys",
    triggering: [
      CheckExample(#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":["KMS:*","s3:GetObject"],"Resource":["*"]}]}"#),
      CheckExample(#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:*:key/*"}]}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","NotAction":["iam:*"],"Resource":"*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}]}"#,
        notes: ["conditional"]),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"},{"Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*"}]}"#,
        notes: ["partial-deny"]),
      // A policy variable is one value, not a wildcard: the Deny reaches one key, the NotResource leaves one out.
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"},{"Effect":"Deny","Action":"kms:*","Resource":"arn:aws:kms:*:*:key/${aws:username}"}]}"#,
        notes: ["deny-limited-resources"]),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"kms:*","NotResource":"arn:aws:kms:*:*:key/${aws:username}"}]}"#),
    ],
    nonTriggering: [
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}]}"#
      ),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","NotAction":"kms:*","Resource":"*"}]}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:us-east-1:123456789012:alias/*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"},{"Effect":"Deny","Action":"kms:*","Resource":"*"}]}"#,
        notes: ["neutralised-by-deny"]),
    ],
    examplePlacement: .inlineOnUser,
    target: .service("kms"),
    quotes: .matchingTarget
  )

  public func run(_ context: CheckContext) -> [CheckResult] {
    var results: [CheckResult] = []
    for principal in context.snapshot.principals {
      for policy in principal.inlinePolicies {
        let evaluation = context.fullAccess(of: policy.document)
        var result = CheckSupport.result(
          check: description, evaluation: evaluation, threshold: .all, document: policy.document,
          principal: PrincipalRef(principal),
          policy: PolicyRef(kind: .inline, name: policy.name, documentSHA256: policy.document.sha256))
        if principal.type == .group { result.inheritedBy = context.members(of: principal) }
        if result.status == .fail {
          result.remediation = CheckSupport.remediationForInline(
            principal, policyName: policy.name, what: "for example kms:Decrypt and kms:GenerateDataKey on the keys the workload uses")
        }
        results.append(result)
      }
    }
    return results
  }
}
