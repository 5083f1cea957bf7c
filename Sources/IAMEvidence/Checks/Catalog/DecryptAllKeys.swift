/// `kms-decrypt-all-keys` — policies that allow `kms:Decrypt` or `kms:ReEncryptFrom` on all keys.
///
/// The AWS Security Hub KMS.1 (customer-managed) and KMS.2 (inline) rule: even without full access,
/// decrypting with every key reads every KMS-protected secret. Judged per inline policy and per
/// customer-managed policy (default version).
public struct DecryptAllKeys: Check {
  public init() {}

  public let description = CheckDescription(
    id: "kms-decrypt-all-keys",
    version: 3,
    title: "No policy allows decryption with all KMS keys",
    controls: ["A.8.3", "A.8.2", "A.8.24"],
    rationale: """
      kms:Decrypt or kms:ReEncryptFrom on every key lets a principal read any data encrypted under any \
      key of the account, which defeats encryption as an access restriction (AWS Security Hub KMS.1/KMS.2).
      """,
    remediation:
      "Restrict kms:Decrypt and kms:ReEncryptFrom to the key ARNs the workload needs, or use kms:ViaService and encryption-context conditions with key-specific resources.",
    methodology: [
      "Population: every inline policy of every user, group and role, and the default version of every customer-managed policy.",
      "Target actions: kms:Decrypt and kms:ReEncryptFrom.",
      "The policy fails when its Allow statements allow either of them on all keys, with the action and resource rules of kms-full-access-inline. Credited Denies (no Condition, on every key) pass it only when they deny every granted target action (noted \"neutralised-by-deny\"); a Deny of only one of them is noted \"partial-deny\" and the policy still fails.",
      "Conditions do not narrow the grant (noted \"conditional\").",
      "A customer-managed policy's result lists the principals it is attached to and those whose permissions boundary it is (noted \"permissions-boundary\"). A policy without a default version, or a document that is not a valid policy, has status \"error\".",
      "Version 2: a policy variable (${aws:username}) is one value of the request, never a wildcard, so a Deny whose Resource holds one (arn:aws:kms:*:*:key/${aws:username}) is not on every key and is not credited, and an Allow whose NotResource holds one leaves all keys in (version 1 read a variable as * in both, so such a Deny cancelled the grant and such a NotResource excluded every key); in an Allow's Resource a variable still reaches as far as * would. A Deny reaches the actions that take only Resource \"*\" (CreateKey, ListKeys, GenerateRandom, DisconnectCustomKeyStore and the other custom key store actions) only when its Resource matches \"*\" or its NotResource does not: a Deny of kms:* on arn:aws:kms:*:*:key/* or arn:aws:kms:* leaves them allowed (noted \"partial-deny\"; version 1 credited it for them too).",
      "Version 3: a policy whose DefaultVersionId and IsDefaultVersion flags disagree (two or more versions flagged, DefaultVersionId naming a version other than the flagged one, or naming a version of the snapshot while none is flagged) has status \"error\", noted \"default-version-inconsistent\" with the disagreement: the version in force is unknown (version 2 judged the version DefaultVersionId names).",
    ],
    population: "Inline policies and customer-managed policies (default version)",
    triggering: [
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"kms:ReEncrypt*","Resource":"arn:aws:kms:*:123456789012:key/*"}]}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":["kms:Decrypt","kms:ReEncryptFrom"],"Resource":"*"},{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}"#,
        notes: ["partial-deny"]),
    ],
    nonTriggering: [
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}]}"#
      ),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:GenerateDataKey*"],"Resource":"*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"},{"Effect":"Deny","Action":["kms:Decrypt","kms:ReEncryptFrom"],"Resource":"*"}]}"#,
        notes: ["neutralised-by-deny"]),
    ],
    examplePlacement: .inlineOnUser,
    target: .actions(["kms:Decrypt", "kms:ReEncryptFrom"]),
    quotes: .matchingTarget,
    references: [.securityHub("KMS.1"), .securityHub("KMS.2")]
  )

  public func run(_ context: CheckContext) -> [CheckResult] {
    DocumentCheck.run(context, check: description, evaluate: context.decrypt(of:), what: "kms:Decrypt on specific key ARNs")
  }
}

/// Runs a per-document check over every inline policy and every customer-managed default version.
enum DocumentCheck {
  static func run(
    _ context: CheckContext, check: CheckDescription, evaluate: (PolicyDocumentText) -> PolicyEvaluation, what: String
  ) -> [CheckResult] {
    var results: [CheckResult] = []
    for principal in context.snapshot.principals {
      for policy in principal.inlinePolicies {
        var result = CheckSupport.result(
          check: check, evaluation: evaluate(policy.document), threshold: .any, document: policy.document,
          principal: PrincipalRef(principal), policy: PolicyRef(kind: .inline, name: policy.name, documentSHA256: policy.document.sha256))
        if principal.type == .group { result.inheritedBy = context.members(of: principal) }
        if result.status == .fail { result.remediation = CheckSupport.remediationForInline(principal, policyName: policy.name, what: what) }
        results.append(result)
      }
    }
    for policy in context.snapshot.managedPolicies where !policy.isAWSManaged {
      guard let version = policy.defaultVersion else {
        // Still part of the population: it cannot be judged, so it cannot pass.
        var result = CheckSupport.noDefaultVersion(check: check, policy: policy, attachedTo: context.attachments(of: policy.arn))
        CheckSupport.markBoundaryUse(&result, arn: policy.arn, context: context)
        results.append(result)
        continue
      }
      var result = CheckSupport.result(
        check: check, evaluation: evaluate(version.document), threshold: .any, document: version.document, principal: nil,
        policy: PolicyRef(
          kind: .managed, name: policy.name, arn: policy.arn, versionID: version.versionId, documentSHA256: version.document.sha256))
      result.attachedTo = context.attachments(of: policy.arn)
      CheckSupport.markBoundaryUse(&result, arn: policy.arn, context: context)
      if result.status == .fail {
        result.remediation = CheckSupport.remediationForManaged(policy, attachedTo: result.attachedTo, what: what)
      }
      results.append(result)
    }
    return results
  }
}
