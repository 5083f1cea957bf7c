/// `role-trust-public` — roles that any AWS principal in the world may assume.
///
/// Every role's trust policy (`AssumeRolePolicyDocument`) is read with the strict grammar of
/// ``TrustPolicy``. The role fails when an Allow statement whose Action covers `sts:AssumeRole`
/// (case-insensitive globs: `sts:*` and `*` cover it; `NotAction` grants what it does not match)
/// names any principal — `"Principal": "*"`, `{"AWS": "*"}`, an `AWS` list holding `"*"`, or a
/// `NotPrincipal` — unless that statement has a condition on one of the keys that tie it to an
/// organisation, an account or an ARN (``TrustPolicy/restrictingConditionKeys``, case-insensitive)
/// that the caller must match (``TrustPolicy/restrictionProblem(_:)``: a positive operator, no
/// `IfExists` or `ForAllValues:`, values naming one organisation, account or ARN; version 2).
/// Other conditions (`sts:ExternalId` alone, `StringNotEquals` on `aws:PrincipalOrgID`) do not say
/// who may call: they are noted `conditional` and the role still fails. A trust policy that is missing or
/// not valid gives `error`, naming the JSON path of each problem. A failing role holds the
/// `public-trust` capability of the privileged-access register.
public struct RoleTrustPublic: Check {
  public init() {}

  public let description = CheckDescription(
    id: "role-trust-public",
    version: 2,
    title: "No role can be assumed by any AWS principal",
    controls: ["A.5.15", "A.8.2"],
    rationale: """
      A role's trust policy decides who may become the role. One that lets any AWS principal call \
      sts:AssumeRole, without a condition naming the organisation, an account or a principal ARN, \
      lets anyone with an AWS account (or anyone who learns an external id) act with the role's \
      permissions: access control rules must say who gets access (ISO/IEC 27001:2022 A.5.15), and a \
      role with privileges is privileged access open to the world (A.8.2).
      """,
    remediation: """
      Replace the wildcard principal with the accounts, roles or services that must assume the role, or \
      add a condition on aws:PrincipalOrgID (or aws:PrincipalAccount, aws:PrincipalArn) that ties it \
      to your organisation; an external id alone does not.
      """,
    methodology: [
      "Population: every role in the snapshot; its trust policy (AssumeRolePolicyDocument) is read with a strict grammar (Version, Id, Statement; each statement Sid, Effect, exactly one of Principal/NotPrincipal, exactly one of Action/NotAction, Condition; principals \"*\" or AWS, Service, Federated, CanonicalUser; no repeated member names). A missing or invalid trust policy has status \"error\", with the JSON path of each problem.",
      "Actions match as globs, case-insensitively (sts:* and * cover sts:AssumeRole); NotAction covers every action it does not match.",
      "A statement is public when it is an Allow whose Action covers sts:AssumeRole and whose principal is \"*\", {\"AWS\": \"*\"}, an AWS list holding \"*\", or which uses NotPrincipal.",
      "A public statement is restricted when it has a condition on aws:PrincipalOrgID, aws:PrincipalOrgPaths, aws:PrincipalAccount, aws:PrincipalArn, aws:SourceAccount, aws:SourceArn, aws:SourceOrgID or aws:SourceOrgPaths (key names case-insensitive) that the caller must match: operator StringEquals, StringEqualsIgnoreCase, StringLike, ArnEquals or ArnLike, optionally with ForAnyValue:, and every value a string or number without a policy variable that names one organisation, account or ARN (under StringLike, ArnEquals and ArnLike, no * or ? in the organisation id, the account id, the first element of an organisation path or the account field of an ARN; an ARN without account field holds none at all). Such statements are noted \"restricted-by-condition\".",
      "Version 2: a condition on those keys with a negated operator (StringNotEquals, ArnNotLike...), IfExists, ForAllValues: (each true when the key is absent, as it is for a caller outside any organisation), Null or another operator, or with a value such as \"*\" or arn:aws:iam::*:role/x, does not restrict; it is noted \"conditional\" with the reason (version 1 counted any operator and value as restricting).",
      "The role fails when some public statement is not restricted; other conditions (sts:ExternalId alone, aws:MultiFactorAuthPresent...) are noted \"conditional\" and do not make it pass. Deny statements are not credited.",
    ],
    population: "Roles (trust policy)",
    triggering: [
      CheckExample(#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#),
      CheckExample(#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"STS:*"}}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root","*"]},"Action":["sts:AssumeRole","sts:TagSession"]}]}"#
      ),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"NotAction":"sts:AssumeRoleWithSAML"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"partner-7781"}}}]}"#,
        notes: ["conditional"]),
      // Every caller outside the organisation (and every caller in none) may assume it.
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}]}"#,
        notes: ["conditional"]),
      // ForAllValues: is true when the key is absent: a caller in no organisation has no aws:PrincipalOrgID.
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"ForAllValues:StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}]}"#
      ),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/deploy"}}}]}"#
      ),
    ],
    nonTriggering: [
      CheckExample(#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}]}"#,
        notes: ["restricted-by-condition"]),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"ForAnyValue:StringLike":{"AWS:PRINCIPALARN":"arn:aws:iam::111122223333:role/*"},"StringEquals":{"sts:ExternalId":"x"}}}]}"#,
        notes: ["restricted-by-condition"]),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":"o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"}}}]}"#,
        notes: ["restricted-by-condition"]),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:TagSession"}]}"#),
    ],
    examplePlacement: .trustPolicyOfRole,
    capability: PrivilegeCapability("public-trust", principalTypes: [.role])
  )

  public func run(_ context: CheckContext) -> [CheckResult] {
    context.snapshot.principals.filter { $0.type == .role }.map { role in
      switch TrustSupport.policy(context, role, check: description) {
      case .failure(let e): return e.result
      case .success(let policy): return judge(role, policy)
      }
    }
  }

  private func judge(_ role: Principal, _ policy: TrustPolicy) -> CheckResult {
    let statements = policy.publicStatements()
    var notes: [ResultNote] = []
    for s in statements where s.isRestricted {
      notes.append(
        ResultNote(
          code: "restricted-by-condition",
          message:
            "\(TrustSupport.label(s.statement)) lets any principal (\(s.principal)) call sts:AssumeRole, restricted by a condition on \(s.restrictedBy.joined(separator: ", ")).",
          statements: [s.statement]))
    }
    let open = statements.filter { !$0.isRestricted }
    for s in open where !s.otherConditions.isEmpty {
      notes.append(
        ResultNote(
          code: "conditional",
          message:
            "\(TrustSupport.label(s.statement)) has conditions (\(s.otherConditions.joined(separator: ", "))) that do not say who may call: they name no organisation, account or principal ARN.",
          statements: [s.statement], detail: policy.statements[s.statement].json["Condition"].map(JSONWriter.canonical)))
    }
    guard !open.isEmpty else {
      let why =
        statements.isEmpty
        ? "No Allow statement lets any principal call sts:AssumeRole."
        : "Every statement that lets any principal call sts:AssumeRole is restricted by a condition on the organisation, an account or an ARN."
      return CheckResult(
        checkID: description.id, checkVersion: description.version, status: .pass, principal: PrincipalRef(role), notes: notes, why: why)
    }
    let indexes = open.map(\.statement)
    var reasons: [String] = []
    for s in open {
      let code =
        s.principal == "NotPrincipal" ? "not-principal" : s.principal.hasPrefix("Principal.AWS") ? "aws-principal-star" : "principal-star"
      if !reasons.contains(code) { reasons.append(code) }
    }
    let parts = open.map { "\(TrustSupport.label($0.statement)) (\($0.principal))" }.joined(separator: ", ")
    var why =
      "\(parts) \(open.count == 1 ? "lets" : "let") any AWS principal assume the role with sts:AssumeRole, with no condition on the organisation, an account or a principal ARN."
    if open.contains(where: { !$0.otherConditions.isEmpty }) { why += " Its other conditions do not say who may call." }
    return CheckResult(
      checkID: description.id, checkVersion: description.version, status: .fail, principal: PrincipalRef(role), statements: indexes,
      offendingStatements: indexes.map { policy.statements[$0].json }, reasons: reasons, notes: notes, why: why,
      remediation: TrustSupport.remediation(
        role, replacement: "one naming the accounts, roles or services that must assume it, or with a condition on aws:PrincipalOrgID"))
  }
}
