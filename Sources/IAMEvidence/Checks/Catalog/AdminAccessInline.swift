/// `admin-access-inline` — inline policies that make their principal an administrator.
///
/// Every inline policy of every user, group and role is judged on its own with the general policy
/// engine: it fails when its Allow statements, together, allow every action of the action catalog on
/// all resources (`"Action": "*"`, `"*:*"`, a `NotAction` that leaves every action in, or statements
/// that only cover everything together), unless Deny statements of the same policy deny every action
/// unconditionally on all resources. `NotAction: ["iam:*"]` leaves IAM out: not full administrator
/// access, so it passes here. A group's result lists the member users who inherit the policy.
public struct AdminAccessInline: Check {
  public init() {}

  public let description = CheckDescription(
    id: "admin-access-inline",
    version: 1,
    title: "No inline policy allows every action on all resources",
    controls: ["A.8.2"],
    rationale: """
      An inline policy that allows every AWS action on every resource makes its principal a full \
      administrator of the account: it can read and change everything, grant itself anything else and \
      remove the evidence. Privileged access rights must be restricted and allocated through a reviewed \
      process (ISO/IEC 27001:2022 A.8.2); an inline policy is embedded in one identity, outside central \
      review, so administrator rights granted this way escape it.
      """,
    remediation: """
      Remove the inline policy; grant administrator rights, where they are needed at all, through a \
      reviewed role or group (for example with the AWS-managed AdministratorAccess policy) recorded in \
      the exceptions register, and give every other principal only the actions and resources it needs.
      """,
    methodology: [
      "Population: every inline policy of every user, group and role in the snapshot, each judged on its own document.",
      "Target: every action of the action catalog shipped with the tool (AWS Service Authorization Reference; its source and date are named below); \"every action\" means every action of that catalog.",
      "Actions match case-insensitively as globs on service:action (* any run, ? one character); NotAction with Allow grants every catalog action it does not match; Allow statements of one policy add up.",
      "All resources, in an Allow: Resource \"*\"; or Resource patterns that together cover every ARN format of every resource type the catalog lists for the action (a pattern covers a format when it matches it whatever its variable parts hold, partition, region and account ignored; policy variables never count as wildcards); or NotResource none of whose patterns covers a format of the action. An action that takes only \"*\" needs a pattern matching \"*\".",
      "The policy fails when every catalog action is allowed on all resources. Conditions do not narrow the grant (noted \"conditional\").",
      "Deny statements of the same policy are credited only without Condition and with Resource on all resources (a NotResource Deny never counts); they pass the policy only when they deny every action (noted \"neutralised-by-deny\"). A credited Deny of some actions is noted \"partial-deny\" with the number of granted actions that remain, and the policy still fails; a Deny under a Condition (\"conditional-deny\") or on some resources only (\"deny-limited-resources\") is noted and not credited.",
      "NotAction [\"iam:*\"] leaves IAM out: not every action, so it passes. A document that is not a valid policy has status \"error\".",
    ],
    population: "Inline policies of users, groups and roles",
    triggering: [
      CheckExample(#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#),
      CheckExample(#"{"Statement":{"Effect":"Allow","Action":"*:*","Resource":"*"}}"#, placement: .inlineOnRole),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":["a*","b*","c*","d*","e*","f*","g*","h*","i*","j*","k*","l*","m*"],"Resource":"*"},{"Effect":"Allow","NotAction":["a*","b*","c*","d*","e*","f*","g*","h*","i*","j*","k*","l*","m*"],"Resource":"*"}]}"#,
        placement: .inlineOnGroup),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#,
        notes: ["conditional"]),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"organizations:*","Resource":"*"}]}"#,
        notes: ["partial-deny"]),
    ],
    nonTriggering: [
      CheckExample(#"{"Statement":[{"Effect":"Allow","NotAction":["iam:*"],"Resource":"*"}]}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::example-bucket/*"}]}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":["s3:*","ec2:*","iam:*"],"Resource":"*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*"}]}"#,
        notes: ["neutralised-by-deny"]),
    ],
    examplePlacement: .inlineOnUser,
    target: .allActions,
    quotes: .allowingAllOfTarget
  )

  public func run(_ context: CheckContext) -> [CheckResult] {
    let target = context.resolved(.allActions)
    var results: [CheckResult] = []
    for principal in context.snapshot.principals {
      for policy in principal.inlinePolicies {
        let access = context.engine.fullAccess(context.analysis(of: policy.document), target: target)
        var result = CheckSupport.result(
          check: description, access: access, document: policy.document, principal: PrincipalRef(principal),
          policy: PolicyRef(kind: .inline, name: policy.name, documentSHA256: policy.document.sha256))
        if principal.type == .group { result.inheritedBy = context.members(of: principal) }
        if result.status == .fail {
          result.remediation = CheckSupport.remediationForInline(
            principal, policyName: policy.name, replacement: "a policy that allows only the actions and resources the principal needs")
        }
        results.append(result)
      }
    }
    return results
  }
}
