/// `kms-key-destruction-all-keys` — policies that allow destroying, disabling or re-permissioning any key.
///
/// Triggered by an Allow on all keys of any key-destroying or key-weakening write (ScheduleKeyDeletion,
/// DisableKey, DeleteImportedKeyMaterial, DisconnectCustomKeyStore, DisableKeyRotation) or any action of
/// the catalog's "Permissions management" access level (PutKeyPolicy, CreateGrant, RetireGrant,
/// RevokeGrant, ...), which can hand the key to anyone.
public struct KeyDestructionAllKeys: Check {
  public init() {}

  public let description = CheckDescription(
    id: "kms-key-destruction-all-keys",
    version: 3,
    title: "No policy allows destroying or re-permissioning all KMS keys",
    controls: ["A.8.2", "A.8.24"],
    rationale: """
      Scheduling deletion, disabling keys, deleting imported key material or rewriting key policies and \
      grants on every key can make all encrypted data unrecoverable or hand keys to anyone. These are \
      privileged rights that must be held by few, named identities on named keys.
      """,
    remediation:
      "Remove key-destroying and permissions-management KMS actions from identity policies, or restrict them to specific key ARNs held by a break-glass role with MFA conditions.",
    methodology: [
      "Population: every inline policy of every user, group and role, and the default version of every customer-managed policy.",
      "Target actions: the catalog's key-destroying or weakening writes (ScheduleKeyDeletion, DisableKey, DeleteImportedKeyMaterial, DisconnectCustomKeyStore, DisableKeyRotation) and every action of the \"Permissions management\" access level (such as PutKeyPolicy, CreateGrant, RetireGrant, RevokeGrant).",
      "The policy fails when its Allow statements allow any target action on all keys, with the action and resource rules of kms-full-access-inline. Credited Denies (no Condition, on every key) pass it only when they deny every granted target action (noted \"neutralised-by-deny\"); a Deny of only some of them is noted \"partial-deny\" and the policy still fails.",
      "Conditions do not narrow the grant (noted \"conditional\").",
      "A customer-managed policy's result lists the principals it is attached to and those whose permissions boundary it is (noted \"permissions-boundary\"). A policy without a default version, or a document that is not a valid policy, has status \"error\".",
      "Version 2: a policy variable (${aws:username}) is one value of the request, never a wildcard, so a Deny whose Resource holds one (arn:aws:kms:*:*:key/${aws:username}) is not on every key and is not credited, and an Allow whose NotResource holds one leaves all keys in (version 1 read a variable as * in both, so such a Deny cancelled the grant and such a NotResource excluded every key); in an Allow's Resource a variable still reaches as far as * would. A Deny reaches the actions that take only Resource \"*\" (CreateKey, ListKeys, GenerateRandom, DisconnectCustomKeyStore and the other custom key store actions) only when its Resource matches \"*\" or its NotResource does not: a Deny of kms:* on arn:aws:kms:*:*:key/* or arn:aws:kms:* leaves them allowed (noted \"partial-deny\"; version 1 credited it for them too).",
      "Version 3: a policy whose DefaultVersionId and IsDefaultVersion flags disagree (two or more versions flagged, DefaultVersionId naming a version other than the flagged one, or naming a version of the snapshot while none is flagged) has status \"error\", noted \"default-version-inconsistent\" with the disagreement: the version in force is unknown (version 2 judged the version DefaultVersionId names).",
    ],
    population: "Inline policies and customer-managed policies (default version)",
    triggering: [
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"kms:ScheduleKeyDeletion","Resource":"*"}]}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":["kms:PutKeyPolicy","kms:Describe*"],"Resource":"arn:aws:kms:*:*:key/*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"kms:CreateGrant","Resource":"*","Condition":{"Bool":{"kms:GrantIsForAWSResource":"true"}}}]}"#,
        notes: ["conditional"]),
      // DisconnectCustomKeyStore takes only Resource "*": a Deny on every key ARN does not reach it.
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"},{"Effect":"Deny","Action":"kms:*","Resource":"arn:aws:kms:*:*:key/*"}]}"#,
        notes: ["partial-deny"]),
    ],
    nonTriggering: [
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":["kms:Decrypt","kms:Encrypt","kms:Describe*"],"Resource":"*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"},{"Effect":"Deny","Action":"kms:*","Resource":"*"}]}"#,
        notes: ["neutralised-by-deny"]),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"kms:DisableKey","Resource":"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}]}"#
      ),
    ],
    examplePlacement: .inlineOnUser,
    target: .union([
      .accessLevels([.permissionsManagement], service: "kms"),
      .actions(KMSActionCatalog.destroyingWriteNames.sorted().map { "kms:" + $0 }),
    ]),
    quotes: .matchingTarget
  )

  public func run(_ context: CheckContext) -> [CheckResult] {
    DocumentCheck.run(
      context, check: description, evaluate: context.destructive(of:),
      what: "no key-destroying or permissions-management actions on all keys")
  }
}
