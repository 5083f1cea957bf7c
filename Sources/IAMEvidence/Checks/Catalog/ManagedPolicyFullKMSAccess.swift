/// `kms-full-access-managed` — customer-managed policies that grant full KMS access on all keys.
///
/// Judged on the default version, with the same rules as ``InlinePolicyFullKMSAccess``. A failing
/// policy lists every user, group and role it is attached to, with the detach commands. A policy that
/// is attached to nothing still fails (noted `unattached`): one `attach-*-policy` call makes it live.
/// A non-default version that grants full access is noted `latent-version`: one
/// `set-default-policy-version` call makes it live.
public struct ManagedPolicyFullKMSAccess: Check {
  public init() {}

  public let description = CheckDescription(
    id: "kms-full-access-managed",
    version: 3,
    title: "No customer-managed policy allows full AWS KMS access on all keys",
    controls: ["A.8.2", "A.8.3", "A.8.24"],
    rationale: """
      A customer-managed policy that allows every KMS action on every key gives that power to every \
      identity it is attached to, now and in future. Unattached and non-default versions are one API \
      call away from being live, so they are reported too.
      """,
    remediation: """
      Detach the policy from every user, group and role, then replace it (or publish a narrowed default \
      version) naming the specific key ARNs and only the actions needed; delete non-default versions \
      that grant full access.
      """,
    methodology: [
      "Population: every customer-managed policy in the snapshot (AWS-managed policies are judged per identity by kms-full-access-identity).",
      "The default version (DefaultVersionId, else the version flagged IsDefaultVersion) is judged with the rules of kms-full-access-inline: it fails when its Allow statements together allow every KMS action on all keys, unless its own credited Denies deny every one of them; a Deny of only some is noted \"partial-deny\" and the policy still fails.",
      "Attachments are read from the users, groups and roles of the same snapshot and listed with every result, and so are the users and roles whose permissions boundary the policy is (noted \"permissions-boundary\": as a boundary it grants nothing by itself).",
      "A failing policy attached to nothing is noted \"unattached\" (a permissions boundary too: one attach call makes it live); any non-default version that would grant full access is noted \"latent-version\".",
      "A policy without a default version, or whose default document is invalid, has status \"error\".",
      "Version 2: a policy variable (${aws:username}) is one value of the request, never a wildcard, so a Deny whose Resource holds one (arn:aws:kms:*:*:key/${aws:username}) is not on every key and is not credited, and an Allow whose NotResource holds one leaves all keys in (version 1 read a variable as * in both, so such a Deny cancelled the grant and such a NotResource excluded every key); in an Allow's Resource a variable still reaches as far as * would. A Deny reaches the actions that take only Resource \"*\" (CreateKey, ListKeys, GenerateRandom, DisconnectCustomKeyStore and the other custom key store actions) only when its Resource matches \"*\" or its NotResource does not: a Deny of kms:* on arn:aws:kms:*:*:key/* or arn:aws:kms:* leaves them allowed (noted \"partial-deny\"; version 1 credited it for them too).",
      "Version 3: a policy whose DefaultVersionId and IsDefaultVersion flags disagree (two or more versions flagged, DefaultVersionId naming a version other than the flagged one, or naming a version of the snapshot while none is flagged) has status \"error\", noted \"default-version-inconsistent\" with the disagreement: the version in force is unknown (version 2 judged the version DefaultVersionId names).",
    ],
    population: "Customer-managed policies (default version)",
    triggering: [
      CheckExample(#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#),
      CheckExample(#"{"Statement":{"Effect":"Allow","Action":"kms:**","Resource":"arn:aws:kms:us-east-1:123456789012:key/*"}}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"kms:*crypt*","Resource":"*"},{"Effect":"Allow","NotAction":"kms:*crypt*","Resource":"*"}]}"#
      ),
      // A policy used as a permissions boundary and attached to nothing: it names whom it bounds, and
      // still fails (one attach call makes it live).
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#, notes: ["permissions-boundary", "unattached"],
        placement: .managedAttachedToUserWithinBoundary(#"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#)),
    ],
    nonTriggering: [
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:GenerateDataKey"],"Resource":"*"}]}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:s3:::bucket/*"}]}"#),
    ],
    examplePlacement: .managedAttachedToUser,
    target: .service("kms"),
    quotes: .matchingTarget
  )

  public func run(_ context: CheckContext) -> [CheckResult] {
    context.snapshot.managedPolicies.filter { !$0.isAWSManaged }.map { policy in
      let attachedTo = context.attachments(of: policy.arn)
      guard let version = policy.defaultVersion else {
        var result = CheckSupport.noDefaultVersion(check: description, policy: policy, attachedTo: attachedTo)
        CheckSupport.markBoundaryUse(&result, arn: policy.arn, context: context)
        return result
      }
      let evaluation = context.fullAccess(of: version.document)
      var result = CheckSupport.result(
        check: description, evaluation: evaluation, threshold: .all, document: version.document, principal: nil,
        policy: PolicyRef(
          kind: .managed, name: policy.name, arn: policy.arn, versionID: version.versionId, documentSHA256: version.document.sha256))
      result.attachedTo = attachedTo
      CheckSupport.markBoundaryUse(&result, arn: policy.arn, context: context)
      if result.status == .fail && attachedTo.isEmpty {
        result.notes.append(
          ResultNote(code: "unattached", message: "Attached to no user, group or role in this snapshot; one attach call makes it live."))
      }
      for other in policy.versions where other.versionId != version.versionId {
        if context.fullAccess(of: other.document).verdict == .grantsAll {
          result.notes.append(
            ResultNote(
              code: "latent-version",
              message:
                "Non-default version \(other.versionId) grants full KMS access on all keys; aws iam set-default-policy-version would make it live. Delete it: aws iam delete-policy-version --policy-arn \(CheckSupport.shell(policy.arn)) --version-id \(CheckSupport.shell(other.versionId))"
            ))
        }
      }
      if result.status == .fail {
        result.remediation = CheckSupport.remediationForManaged(
          policy, attachedTo: attachedTo, what: "for example kms:Decrypt and kms:GenerateDataKey on the keys the workload uses")
      }
      return result
    }
  }
}
