/// `user-direct-policies` — users that hold permissions of their own instead of through groups or
/// roles (CIS AWS Foundations Benchmark 1.15, AWS Security Hub IAM.2).
///
/// Every user is judged: it fails when it has an inline policy or a managed policy attached directly
/// (customer- or AWS-managed), whatever the policy allows, and the result lists each of them.
/// Permissions granted per user are hard to review and tend to stay when the person changes role;
/// granted through groups or roles, they are reviewed once per group or role and follow membership.
public struct UserDirectPolicies: Check {
  public init() {}

  public let description = CheckDescription(
    id: "user-direct-policies",
    version: 1,
    title: "No user has inline or directly attached policies",
    controls: ["A.5.15", "A.5.18", "A.8.2"],
    rationale: """
      Access rights should be granted through groups or roles that stand for job functions, so that \
      they are reviewed per function and follow a person's membership when it changes (ISO/IEC \
      27001:2022 A.5.15 Access control, A.5.18 Access rights). Policies attached to one user are \
      reviewed, if at all, one user at a time, and linger after the need has gone.
      """,
    remediation: """
      Put the user in a group (or let it assume a role) that grants what its job needs, then delete its \
      inline policies and detach its managed policies.
      """,
    methodology: [
      "Population: every user in the snapshot.",
      "The user fails when it has at least one inline policy or at least one managed policy attached to it directly (customer- or AWS-managed), whatever the policies allow; each of them is listed (\"Access comes from\").",
      "Policies the user receives through its groups, and roles it may assume, are how permissions should be granted: they do not count.",
      "Exceptions: a result is excepted by an exception in force for this check (or every check) that matches the user and names no policy, or when each listed policy is named by such an exception for that user (or any principal); the result then lists the exceptions covering it.",
    ],
    population: "Users",
    triggering: [
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::example-bucket/*"}]}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}"#, placement: .managedAttachedToUser),
      CheckExample(#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#),
    ],
    nonTriggering: [
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::example-bucket/*"}]}"#, placement: .inlineOnGroup
      ),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}"#, placement: .managedAttachedToGroup),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#, placement: .inlineOnRole),
    ],
    examplePlacement: .inlineOnUser,
    references: [.cis("1.15"), .securityHub("IAM.2")]
  )

  public func run(_ context: CheckContext) -> [CheckResult] {
    context.snapshot.principals.filter { $0.type == .user }.map(user)
  }

  private func user(_ principal: Principal) -> CheckResult {
    let inline = principal.inlinePolicies.map { GrantSource(kind: "inline", policyName: $0.name) }
    let attached = principal.attachedPolicies.map { GrantSource(kind: "managed", policyName: $0.name, policyARN: $0.arn) }
    let sources = inline + attached
    guard !sources.isEmpty else {
      return CheckResult(
        checkID: description.id, checkVersion: description.version, status: .pass, principal: PrincipalRef(principal),
        why: "The user has no inline policy and no directly attached managed policy: its permissions come only through its groups.")
    }
    var parts: [String] = []
    if !inline.isEmpty {
      parts.append("\(inline.count) inline polic\(inline.count == 1 ? "y" : "ies") (\(inline.map(\.policyName).joined(separator: ", ")))")
    }
    if !attached.isEmpty {
      parts.append(
        "\(attached.count) directly attached managed polic\(attached.count == 1 ? "y" : "ies") (\(attached.map { $0.policyARN ?? $0.policyName }.joined(separator: ", ")))"
      )
    }
    let name = CheckSupport.shell(principal.name)
    var remediation = [
      "Give the user its permissions through a group that stands for its job: aws iam add-user-to-group --group-name <group> --user-name \(name)"
    ]
    for s in inline {
      remediation.append(
        "Then delete inline policy \(s.policyName): aws iam delete-user-policy --user-name \(name) --policy-name \(CheckSupport.shell(s.policyName))"
      )
    }
    for s in attached {
      remediation.append(
        "Then detach \(s.policyName): aws iam detach-user-policy --user-name \(name) --policy-arn \(CheckSupport.shell(s.policyARN ?? ""))")
    }
    return CheckResult(
      checkID: description.id, checkVersion: description.version, status: .fail, principal: PrincipalRef(principal),
      reasons: (inline.isEmpty ? [] : ["inline-policy"]) + (attached.isEmpty ? [] : ["attached-policy"]),
      why: "The user has \(parts.joined(separator: " and ")): permissions should come through groups or roles.", sources: sources,
      remediation: remediation)
  }
}
