/// `role-trust-oidc-unrestricted` — roles that any identity of a web-identity provider may assume
/// (any GitHub repository in the world, any Google account...).
///
/// Every role's trust policy is read with the strict grammar of ``TrustPolicy``. Each `Federated`
/// provider of each Allow statement whose Action covers `sts:AssumeRoleWithWebIdentity` (the same glob
/// rules as ``RoleTrustPublic``) is judged on its own (``TrustPolicy/webIdentityTrusts()``): GitHub
/// Actions' provider (`…:oidc-provider/token.actions.githubusercontent.com`) is restricted only by a
/// `StringEquals`, `StringEqualsIgnoreCase` or `StringLike` condition (optionally `ForAnyValue:` /
/// `ForAllValues:`) on `token.actions.githubusercontent.com:sub` whose every value starts with
/// `repo:OWNER/`, OWNER without `*` or `?`; Amazon Cognito identity pools
/// (`cognito-identity.amazonaws.com`) only by a condition on `cognito-identity.amazonaws.com:aud`
/// naming identity pools (version 3); any other web-identity provider (another `oidc-provider/` ARN,
/// or a provider named by host such as `accounts.google.com`) by any condition of the statement. `"Principal": "*"` and a `NotPrincipal` name every provider and are judged as
/// any other web-identity provider (version 2; version 1 judged only the providers `Federated`
/// names, so such a statement passed). SAML providers are not judged (noted). The role fails when some provider is not
/// restricted; a failing role holds the `oidc-unrestricted` capability of the privileged-access
/// register.
public struct RoleTrustOIDCUnrestricted: Check {
  public init() {}

  public let description = CheckDescription(
    id: "role-trust-oidc-unrestricted",
    version: 3,
    title: "No role trusts a web-identity provider without restricting who may use it",
    controls: ["A.5.15", "A.8.2"],
    rationale: """
      A role that trusts an OpenID Connect provider such as GitHub Actions lets whoever holds a token \
      of that provider assume it. Without a condition on the token's subject, every GitHub repository \
      in the world (or every account of the provider) gets the role's permissions. Access control rules \
      must say who gets access (ISO/IEC 27001:2022 A.5.15); a privileged role open to a whole provider \
      is uncontrolled privileged access (A.8.2).
      """,
    remediation: """
      Add a StringEquals or StringLike condition on token.actions.githubusercontent.com:sub naming your \
      own repositories (repo:OWNER/REPO:…), and for other providers conditions on the audience and \
      subject that name your application and users.
      """,
    methodology: [
      "Population: every role in the snapshot; its trust policy is read with the grammar of role-trust-public (a missing or invalid one has status \"error\", with the JSON path of each problem).",
      "Statements judged: Allow statements whose Action covers sts:AssumeRoleWithWebIdentity (globs, case-insensitive; NotAction covers what it does not match); each provider of their Principal's Federated (a string or a list) is judged on its own.",
      "GitHub Actions' provider (an ARN ending in oidc-provider/token.actions.githubusercontent.com) is restricted when the statement has at least one StringEquals, StringEqualsIgnoreCase or StringLike condition, with or without a ForAnyValue: or ForAllValues: prefix, on token.actions.githubusercontent.com:sub (key case-insensitive) whose values are all strings starting with repo:OWNER/, where OWNER is not empty and contains no * or ?.",
      "Amazon Cognito identity pools (cognito-identity.amazonaws.com, or another host starting with cognito-identity.) are restricted when the statement has a condition on cognito-identity.amazonaws.com:aud (key case-insensitive) with the operator StringEquals, StringEqualsIgnoreCase or StringLike, with or without a ForAnyValue: prefix (not negated, ...IfExists or ForAllValues:), whose values are all strings without a policy variable and, under StringLike, without * or ?: the audience is the identity pool id, and a condition on cognito-identity.amazonaws.com:amr alone lets identities of any identity pool in.",
      "Any other web-identity provider (another oidc-provider/ ARN, or a provider named by host such as accounts.google.com) is restricted when the statement has any condition.",
      "A statement whose principal is \"*\" or which uses NotPrincipal names every web-identity provider (any Google, Facebook, Amazon or Cognito identity, and the account's OIDC providers): it is judged as any other web-identity provider, restricted when it has any condition (version 2; version 1 passed it).",
      "SAML providers (saml-provider/ ARNs) are not judged here (noted \"saml-not-judged\"). Restricted providers are noted \"restricted-by-condition\". The role fails when some provider is not restricted. Deny statements are not credited.",
      "Version 3: Cognito needs the aud condition above (version 2 counted any condition, so a trust with only an amr condition passed), and a StringEqualsIgnoreCase condition on the GitHub subject restricts like StringEquals (version 2 did not count it, so such a role failed).",
    ],
    population: "Roles (trust policy)",
    triggering: [
      CheckExample(
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}]}"#
      ),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:*"}}}]}"#
      ),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:*","Condition":{"ForAnyValue:StringLike":{"token.actions.githubusercontent.com:sub":["repo:my-org/*","repo:*/deploy:*"]}}}]}"#
      ),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity"}]}"#),
      // Cognito with an amr condition and no aud: identities of any identity pool (version 3).
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"ForAnyValue:StringLike":{"cognito-identity.amazonaws.com:amr":"authenticated"}}}]}"#
      ),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"cognito-identity.amazonaws.com:aud":"us-east-1:*"}}}]}"#
      ),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","NotPrincipal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWith*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":{"Federated":["arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com","cognito-identity.amazonaws.com"]},"Action":"sts:AssumeRoleWith*","Condition":{"StringEquals":{"cognito-identity.amazonaws.com:aud":"eu-west-1:11111111-2222-3333-4444-555555555555"}}}]}"#,
        notes: ["restricted-by-condition"]),
    ],
    nonTriggering: [
      // AWS's documented trust policy for an identity pool role.
      CheckExample(
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"cognito-identity.amazonaws.com:aud":"us-east-1:12345678-dead-beef-cafe-123456790ab"},"ForAnyValue:StringLike":{"cognito-identity.amazonaws.com:amr":"authenticated"}}}]}"#,
        notes: ["restricted-by-condition"]),
      // The subject compared case-insensitively to one repository (version 3).
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEqualsIgnoreCase":{"token.actions.githubusercontent.com:sub":"repo:my-org/app:ref:refs/heads/main"}}}]}"#,
        notes: ["restricted-by-condition"]),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:my-org/*"},"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}]}"#,
        notes: ["restricted-by-condition"]),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"ForAnyValue:StringLike":{"TOKEN.ACTIONS.GITHUBUSERCONTENT.COM:SUB":["repo:my-org/app:ref:refs/heads/main","repo:my-org/infra:*"]}}}]}"#
      ),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":{"Federated":["arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com","arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"]},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub":"repo:my-org/app:environment:prod"}}}]}"#
      ),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:saml-provider/corporate-idp"},"Action":["sts:AssumeRoleWithSAML","sts:AssumeRoleWithWebIdentity"]}]}"#,
        notes: ["saml-not-judged"]),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:TagSession"}]}"#
      ),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"accounts.google.com:aud":"1234567890.apps.googleusercontent.com"}}}]}"#,
        notes: ["restricted-by-condition"]),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#),
    ],
    examplePlacement: .trustPolicyOfRole,
    capability: PrivilegeCapability("oidc-unrestricted", principalTypes: [.role])
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
    let trusts = policy.webIdentityTrusts()
    var notes: [ResultNote] = []
    for t in trusts {
      switch t.isRestricted {
      case nil:
        notes.append(
          ResultNote(
            code: "saml-not-judged", message: "\(TrustSupport.label(t.statement)): \(t.provider) is \(t.reason).", statements: [t.statement]
          ))
      case true?:
        notes.append(
          ResultNote(
            code: "restricted-by-condition",
            message: "\(TrustSupport.label(t.statement)): \(t.provider) is restricted: \(t.reason).", statements: [t.statement],
            detail: policy.statements[t.statement].json["Condition"].map(JSONWriter.canonical)))
      case false?:
        continue
      }
    }
    let open = trusts.filter { $0.isRestricted == false }
    guard !open.isEmpty else {
      let judged = trusts.filter { $0.isRestricted != nil }
      let why =
        judged.isEmpty
        ? "No Allow statement lets a web-identity provider call sts:AssumeRoleWithWebIdentity."
        : "Every web-identity provider the trust policy names is restricted by the statement's conditions."
      return CheckResult(
        checkID: description.id, checkVersion: description.version, status: .pass, principal: PrincipalRef(role), notes: notes, why: why)
    }
    let indexes = Array(Set(open.map(\.statement))).sorted()
    var reasons: [String] = []
    for t in open {
      let code =
        switch t.kind {
        case .githubActions: "github-subject-unrestricted"
        case .cognitoIdentity: "cognito-audience-unrestricted"
        case .webIdentity, .saml: "web-identity-unconditional"
        }
      if !reasons.contains(code) { reasons.append(code) }
    }
    let why =
      open.map {
        "\(TrustSupport.label($0.statement)) lets any identity of \($0.provider) assume the role with sts:AssumeRoleWithWebIdentity: \($0.reason)."
      }
      .joined(separator: " ")
    return CheckResult(
      checkID: description.id, checkVersion: description.version, status: .fail, principal: PrincipalRef(role), statements: indexes,
      offendingStatements: indexes.map { policy.statements[$0].json }, reasons: reasons, notes: notes, why: why,
      remediation: TrustSupport.remediation(
        role,
        replacement:
          "one whose statements restrict each provider: for GitHub Actions a StringEquals or StringLike condition on token.actions.githubusercontent.com:sub naming repo:OWNER/REPO values of your own"
      ))
  }
}
