/// `privilege-escalation-policy` — policies that, on their own, let whoever holds them give themselves
/// more permissions.
///
/// Every inline policy of every user, group and role, and the default version of every
/// customer-managed policy, is judged on its own against the escalation methods
/// (``EscalationMethodCatalog``, `Resources/escalation-methods.json`): it fails when one method is
/// available from this policy alone — every action of the method allowed on all resources by its
/// Allow statements (together), none denied unconditionally on all resources by its own Deny
/// statements; conditions are noted, not narrowing. The result lists the methods (`methods`, sorted)
/// and quotes the statements that allow them. As in the KMS and administrator checks, a
/// customer-managed policy's non-default version that would fail is noted `latent-version`, one that
/// fails while attached to nothing `unattached`. Methods assembled from several policies are what
/// ``PrivilegeEscalationIdentity`` finds.
public struct PrivilegeEscalationPolicy: Check {
  public init() {}

  public let description = CheckDescription(
    id: "privilege-escalation-policy",
    version: 2,
    title: "No policy on its own makes a privilege-escalation method available",
    controls: ["A.8.2", "A.5.18"],
    rationale: """
      Some permissions are privileged whatever else a policy says: with iam:CreatePolicyVersion, \
      iam:AttachUserPolicy or iam:PassRole with ec2:RunInstances, an identity can make itself an \
      administrator or act as a more privileged role. A policy that grants such a method hands \
      privileged access to everyone it is attached to, outside the allocation and review that \
      privileged access rights need (ISO/IEC 27001:2022 A.8.2), and makes the recorded access rights \
      (A.5.18) meaningless.
      """,
    remediation: """
      Remove the listed actions from the policy, or restrict them to the specific resources they are \
      needed on (named roles for iam:PassRole, named functions, users or policies); where an identity \
      must hold them, record the approval in the exceptions register.
      """,
    methodology: [
      "Population: every inline policy of every user, group and role, and every customer-managed policy (its default version), each judged on its own document.",
      "Escalation methods: the catalog shipped with the tool (Resources/escalation-methods.json), \(EscalationMethodCatalog.bundled.sourceDescription); each an id and a set of actions: "
        + EscalationMethodCatalog.bundled.methods.map { "\($0.id) (\($0.actions.joined(separator: ", ")))" }.joined(separator: "; ") + ".",
      "A method is available from a policy when every one of its actions is allowed on all resources by the policy's Allow statements (they add up; the action and resource rules of admin-access-inline) and none is denied unconditionally on all resources by its Deny statements. Conditions do not narrow a grant (noted \"conditional\"); a Deny with a Condition is not credited (noted \"conditional-deny\").",
      "A method one of whose actions is denied unconditionally on all resources is not available, and the Deny is noted \"neutralised-by-deny\": the policy passes when every method its Allow statements would give is broken that way, and otherwise still fails on the methods that remain.",
      "The policy fails when at least one method is available; the result lists them (methods, sorted) and quotes the statements that allow their actions.",
      "A customer-managed policy used as a permissions boundary is noted \"permissions-boundary\" with the identities it bounds; a failing customer-managed policy attached to nothing is noted \"unattached\"; any non-default version that would fail is noted \"latent-version\". A policy without a default version, or whose document is invalid, has status \"error\".",
      "Version 2: a policy whose DefaultVersionId and IsDefaultVersion flags disagree (two or more versions flagged, DefaultVersionId naming a version other than the flagged one, or naming a version of the snapshot while none is flagged) has status \"error\", noted \"default-version-inconsistent\" with the disagreement: the version in force is unknown (version 1 judged the version DefaultVersionId names).",
    ],
    population: "Inline policies and customer-managed policies (default version)",
    triggering: [
      CheckExample(#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:CreatePolicyVersion","Resource":"*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"},{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"}]}"#
      ),
      CheckExample(#"{"Statement":{"Effect":"Allow","Action":"IAM:Put*Policy","Resource":"*"}}"#, placement: .inlineOnRole),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"lambda:UpdateFunctionCode","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#,
        notes: ["conditional"]),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#, notes: ["unattached"], placement: .managedUnattached),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"iam:PassRole","Resource":"*"}]}"#,
        notes: ["neutralised-by-deny"], placement: .inlineOnGroup),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"glue:UpdateDevEndpoint","Resource":"*"},{"Effect":"Deny","Action":"glue:*","Resource":"*","Condition":{"Bool":{"aws:ViaAWSService":"false"}}}]}"#,
        notes: ["conditional-deny"]),
    ],
    nonTriggering: [
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"iam:CreatePolicyVersion","Resource":"arn:aws:iam::123456789012:policy/app-*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":["iam:PassRole","ec2:RunInstances"],"Resource":"*"},{"Effect":"Deny","Action":"iam:PassRole","Resource":"*"}]}"#,
        notes: ["neutralised-by-deny"]),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"iam:UpdateAssumeRolePolicy","Resource":"*"}]}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","ec2:Describe*"],"Resource":"*"}]}"#),
    ],
    examplePlacement: .inlineOnUser,
    target: EscalationMethodCatalog.bundled.target,
    quotes: .allowingAllOfSome(EscalationMethodCatalog.bundled.methods.map(\.target))
  )

  public func run(_ context: CheckContext) -> [CheckResult] {
    let support = EscalationSupport(context)
    var results: [CheckResult] = []
    for principal in context.snapshot.principals {
      for policy in principal.inlinePolicies {
        var result = judge(
          context, support, document: policy.document, principal: PrincipalRef(principal),
          policy: PolicyRef(kind: .inline, name: policy.name, documentSHA256: policy.document.sha256),
          source: GrantSource(kind: "inline", policyName: policy.name))
        if principal.type == .group { result.inheritedBy = context.members(of: principal) }
        if result.status == .fail {
          result.remediation = CheckSupport.remediationForInline(
            principal, policyName: policy.name,
            replacement: "a policy without the listed actions, or with them only on the specific resources needed")
        }
        results.append(result)
      }
    }
    for policy in context.snapshot.managedPolicies where !policy.isAWSManaged {
      let attachedTo = context.attachments(of: policy.arn)
      guard let version = policy.defaultVersion else {
        var result = CheckSupport.noDefaultVersion(check: description, policy: policy, attachedTo: attachedTo)
        CheckSupport.markBoundaryUse(&result, arn: policy.arn, context: context)
        results.append(result)
        continue
      }
      var result = judge(
        context, support, document: version.document, principal: nil,
        policy: PolicyRef(
          kind: .managed, name: policy.name, arn: policy.arn, versionID: version.versionId, documentSHA256: version.document.sha256),
        source: GrantSource(kind: "managed", policyName: policy.name, policyARN: policy.arn))
      result.attachedTo = attachedTo
      CheckSupport.markBoundaryUse(&result, arn: policy.arn, context: context)
      if result.status == .fail && attachedTo.isEmpty {
        result.notes.append(
          ResultNote(code: "unattached", message: "Attached to no user, group or role in this snapshot; one attach call makes it live."))
      }
      for other in policy.versions where other.versionId != version.versionId {
        let latent = available(context, support, context.analysis(of: other.document))
        if !latent.isEmpty {
          result.notes.append(
            ResultNote(
              code: "latent-version",
              message:
                "Non-default version \(other.versionId) makes \(latent.map(\.method.id).sorted().joined(separator: ", ")) available; aws iam set-default-policy-version would make it live. Delete it: aws iam delete-policy-version --policy-arn \(CheckSupport.shell(policy.arn)) --version-id \(CheckSupport.shell(other.versionId))"
            ))
        }
      }
      if result.status == .fail {
        result.remediation = CheckSupport.remediationForManaged(
          policy, attachedTo: attachedTo,
          replacement: "a policy without the listed actions, or with them only on the specific resources needed")
      }
      results.append(result)
    }
    return results
  }

  /// The methods one document makes available on its own.
  private func available(_ context: CheckContext, _ support: EscalationSupport, _ analysis: PolicyAnalysis)
    -> [(method: EscalationMethod, result: CapabilityResult)]
  {
    guard analysis.isValid else { return [] }
    return support.evaluate(context.engine, IdentityPolicies(document: analysis)).filter { $0.result.verdict == .can }
  }

  private func judge(
    _ context: CheckContext, _ support: EscalationSupport, document: PolicyDocumentText, principal: PrincipalRef?, policy: PolicyRef,
    source: GrantSource
  ) -> CheckResult {
    let analysis = context.analysis(of: document)
    guard analysis.isValid else {
      let first = analysis.errors.first.map(\.description) ?? "unknown problem"
      let more = analysis.errors.count > 1 ? " (and \(analysis.errors.count - 1) more)" : ""
      return CheckResult(
        checkID: description.id, checkVersion: description.version, status: .error, principal: principal, policy: policy,
        notes: analysis.errors.map(CheckSupport.grammarNote),
        why: "The policy document is invalid and cannot be judged: \(first)\(more).")
    }
    let evaluated = support.evaluate(context.engine, IdentityPolicies(document: analysis))
    let available = evaluated.filter { $0.result.verdict == .can }
    let notes = EscalationSupport.notes(evaluated)
    guard !available.isEmpty else {
      let broken = evaluated.map(\.method.id).sorted()
      let why =
        broken.isEmpty
        ? "No escalation method has every action allowed on all resources by this policy."
        : "No escalation method is available: the actions of \(broken.count <= 3 ? broken.joined(separator: ", ") : "\(broken.count) methods") are all allowed on all resources, but Deny statements deny some of them unconditionally on all resources (see the notes)."
      return CheckResult(
        checkID: description.id, checkVersion: description.version, status: .pass, principal: principal, policy: policy, notes: notes,
        why: why)
    }
    let indexes = Array(Set(available.flatMap { $0.result.actions.flatMap(\.allowedBy).map(\.statement) })).sorted()
    let methods = available.map(\.method.id).sorted()
    return CheckResult(
      checkID: description.id, checkVersion: description.version, status: .fail, principal: principal, policy: policy,
      statements: indexes, offendingStatements: CheckSupport.statementJSON(document.json, indexes: indexes),
      reasons: EscalationSupport.reasons(available), notes: notes,
      why: EscalationSupport.sentence(available) { row in
        row.allowedBy.count == 1
          ? "Statement[\(row.allowedBy[0].statement)]" : "Statements " + row.allowedBy.map { String($0.statement) }.joined(separator: ", ")
      },
      methods: methods, methodSources: methods.map { MethodSources(method: $0, sources: [source]) })
  }
}
