/// `admin-access-managed` — customer-managed policies that make whoever holds them an administrator.
///
/// Judged on the default version with the rules of ``AdminAccessInline``. Every customer-managed
/// policy is in the population, attached or not: a failing policy lists every user, group and role it
/// is attached to, with the detach commands; one attached to nothing still fails (noted `unattached`),
/// since one `attach-*-policy` call makes it live. A non-default version that would fail is noted
/// `latent-version`: one `set-default-policy-version` call makes it live. AWS-managed policies
/// (`AdministratorAccess`...) are not judged here: they are AWS's, and who holds them is what
/// ``AdminAccessIdentity`` reports.
public struct AdminAccessManaged: Check {
  public init() {}

  public let description = CheckDescription(
    id: "admin-access-managed",
    version: 2,
    title: "No customer-managed policy allows every action on all resources",
    controls: ["A.8.2"],
    rationale: """
      A customer-managed policy that allows every AWS action on every resource makes every identity it \
      is attached to, now or later, a full administrator of the account. Unattached policies and \
      non-default versions are one API call away from being live, so they are reported too.
      """,
    remediation: """
      Detach the policy from every user, group and role, then delete it or publish a narrowed default \
      version; delete non-default versions that allow every action. Where administrators are needed, \
      use one reviewed role or group recorded in the exceptions register.
      """,
    methodology: [
      "Population: every customer-managed policy in the snapshot, attached or not (AWS-managed policies are not judged here; who holds them is reported by admin-access-identity).",
      "The default version (DefaultVersionId, else the version flagged IsDefaultVersion) is judged with the rules of admin-access-inline: it fails when its Allow statements allow every action of the action catalog on all resources, unless its own credited Denies deny every one; a Deny of only some is noted \"partial-deny\" and the policy still fails.",
      "Attachments are read from the users, groups and roles of the same snapshot and listed with every result, and so are the users and roles whose permissions boundary the policy is (noted \"permissions-boundary\": as a boundary it grants nothing by itself).",
      "A failing policy attached to nothing is noted \"unattached\" (a permissions boundary too: one attach call makes it live); any non-default version that would fail is noted \"latent-version\".",
      "A policy without a default version, or whose default document is invalid, has status \"error\".",
      "Version 2: a policy whose DefaultVersionId and IsDefaultVersion flags disagree (two or more versions flagged, DefaultVersionId naming a version other than the flagged one, or naming a version of the snapshot while none is flagged) has status \"error\", noted \"default-version-inconsistent\" with the disagreement: the version in force is unknown (version 1 judged the version DefaultVersionId names).",
    ],
    population: "Customer-managed policies (default version), attached or not",
    triggering: [
      CheckExample(#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","NotAction":"s3:*","Resource":"*"},{"Effect":"Allow","Action":"S3:*","Resource":"*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#, notes: ["unattached"], placement: .managedUnattached),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"*","NotResource":"arn:aws:s3:::example-bucket"}]}"#),
    ],
    nonTriggering: [
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:iam::*:role/app-*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*"],"Resource":"*"}]}"#, placement: .managedUnattached),
    ],
    examplePlacement: .managedAttachedToUser,
    target: .allActions,
    quotes: .allowingAllOfTarget,
    references: [.cis("1.16"), .securityHub("IAM.1")]
  )

  public func run(_ context: CheckContext) -> [CheckResult] {
    let target = context.resolved(.allActions)
    return context.snapshot.managedPolicies.filter { !$0.isAWSManaged }.map { policy in
      let attachedTo = context.attachments(of: policy.arn)
      guard let version = policy.defaultVersion else {
        var result = CheckSupport.noDefaultVersion(check: description, policy: policy, attachedTo: attachedTo)
        CheckSupport.markBoundaryUse(&result, arn: policy.arn, context: context)
        return result
      }
      let access = context.engine.fullAccess(context.analysis(of: version.document), target: target)
      var result = CheckSupport.result(
        check: description, access: access, document: version.document, principal: nil,
        policy: PolicyRef(
          kind: .managed, name: policy.name, arn: policy.arn, versionID: version.versionId, documentSHA256: version.document.sha256))
      result.attachedTo = attachedTo
      CheckSupport.markBoundaryUse(&result, arn: policy.arn, context: context)
      if result.status == .fail && attachedTo.isEmpty {
        result.notes.append(
          ResultNote(code: "unattached", message: "Attached to no user, group or role in this snapshot; one attach call makes it live."))
      }
      for other in policy.versions where other.versionId != version.versionId {
        if context.engine.fullAccess(context.analysis(of: other.document), target: target).verdict == .holds {
          result.notes.append(
            ResultNote(
              code: "latent-version",
              message:
                "Non-default version \(other.versionId) allows every action on all resources; aws iam set-default-policy-version would make it live. Delete it: aws iam delete-policy-version --policy-arn \(CheckSupport.shell(policy.arn)) --version-id \(CheckSupport.shell(other.versionId))"
            ))
        }
      }
      if result.status == .fail {
        result.remediation = CheckSupport.remediationForManaged(
          policy, attachedTo: attachedTo, replacement: "a policy that allows only the actions and resources its holders need")
      }
      return result
    }
  }
}
