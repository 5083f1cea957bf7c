import Foundation
import Testing

@testable import IAMEvidence

/// Trust policies: the strict grammar (every problem with its JSON path), and the two checks of who
/// may assume a role, `role-trust-public` and `role-trust-oidc-unrestricted`.
@Suite struct RoleTrustTests {
  static let github = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"

  static func role(_ name: String, trust: String) throws -> Principal {
    var role = Synth.role(name)
    role.trustPolicy = try Synth.document(trust)
    return role
  }

  /// The result of `check` for one role whose trust policy is `trust`.
  static func judge(_ check: some Check, _ trust: String) throws -> CheckResult {
    let results = check.run(
      CheckContext(snapshot: AuthorizationSnapshot(principals: [Synth.user("u"), try role("r", trust: trust)], managedPolicies: [])))
    #expect(results.count == 1, "roles only, one result each")
    return try #require(results.first)
  }

  static func github(_ condition: String) -> String {
    #"{"Statement":[{"Effect":"Allow","Principal":{"Federated":"\#(github)"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":\#(condition)}]}"#
  }

  // MARK: - Grammar

  @Test(arguments: [
    (
      #"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:root",7]},"Action":"sts:AssumeRole"}]}"#,
      "$.Statement[0].Principal.AWS[1]"
    ),
    (#"{"Statement":{"Effect":"allow","Principal":"*","Action":"sts:AssumeRole"}}"#, "$.Statement.Effect"),
    (#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}]}"#, "$.Statement[0].Resource"),
    (#"{"Statement":[{"Effect":"Allow","Principal":{"Aws":"*"},"Action":"sts:AssumeRole"}]}"#, "$.Statement[0].Principal"),
    (#"{"Statement":[{"Effect":"Allow","Principal":"arn:aws:iam::1:root","Action":"sts:AssumeRole"}]}"#, "$.Statement[0].Principal"),
    (#"{"Statement":[{"Effect":"Allow","Principal":{"Federated":[]},"Action":"sts:AssumeRole"}]}"#, "$.Statement[0].Principal.Federated"),
    (#"{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#, "$.Statement[0]"),
    (#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","NotAction":"x"}]}"#, "$.Statement[0]"),
    (
      #"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":{"a":1}}}}]}"#,
      #"$.Statement[0].Condition.StringLike["token.actions.githubusercontent.com:sub"]"#
    ),
    (
      #"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Action":"sts:TagSession"}]}"#,
      "$.Statement[0].Action"
    ),
    (#"{"Version":"2012-10-18","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}"#, "$.Version"),
    (#"{"Statement":[]}"#, "$.Statement"),
    (#"["not","an","object"]"#, "$"),
  ])
  func anInvalidTrustPolicyNamesThePath(_ trust: String, _ path: String) throws {
    let json = try JSONParser.parse(trust)
    guard case .failure(let errors) = TrustPolicy.parse(json) else {
      Issue.record("accepted: \(trust)")
      return
    }
    #expect(errors.errors.map(\.path).contains(path), "\(errors)")
    // Both checks give error, never a pass, naming the path.
    for check in [RoleTrustPublic() as any Check, RoleTrustOIDCUnrestricted()] {
      let r = try Self.judge(check, trust)
      #expect(r.status == .error, "\(check.description.id): \(r.why)")
      #expect(r.notes.contains { $0.code == "invalid-grammar" && $0.message.contains(path) }, "\(r.notes.map(\.message))")
      #expect(r.why.contains("not a valid trust policy"))
    }
  }

  @Test func aRoleWithoutTrustPolicyIsAnError() throws {
    var role = Synth.role("r")
    role.trustPolicy = nil
    let results = RoleTrustPublic().run(CheckContext(snapshot: AuthorizationSnapshot(principals: [role], managedPolicies: [])))
    #expect(results.map(\.status) == [.error])
    #expect(results.first?.hasNote("no-trust-policy") == true)
  }

  @Test func actionsMatchAsCaseInsensitiveGlobsAndNotActionGrantsTheRest() throws {
    func covers(_ action: String, _ element: String) throws -> Bool {
      let trust = #"{"Statement":[{"Effect":"Allow","Principal":"*",\#(element)}]}"#
      guard case .success(let p) = TrustPolicy.parse(try JSONParser.parse(trust)) else { throw Synth.BadJSON(text: trust) }
      return p.statements[0].covers(action)
    }
    #expect(try covers("sts:AssumeRole", #""Action":"STS:assumerole""#))
    #expect(try covers("sts:AssumeRole", #""Action":"sts:*""#))
    #expect(try covers("sts:AssumeRole", #""Action":"*""#))
    #expect(try covers("sts:AssumeRole", #""Action":["s3:GetObject","sts:Assume?ole"]"#))
    #expect(try !covers("sts:AssumeRole", #""Action":"sts:AssumeRoleWith*""#))
    #expect(try covers("sts:AssumeRoleWithWebIdentity", #""Action":"sts:AssumeRole*""#))
    #expect(try covers("sts:AssumeRole", #""NotAction":"sts:AssumeRoleWithSAML""#))
    #expect(try !covers("sts:AssumeRole", #""NotAction":"sts:*""#))
  }

  // MARK: - role-trust-public

  @Test func aPublicTrustRestrictedByPrincipalOrgIDPasses() throws {
    let r = try Self.judge(
      RoleTrustPublic(),
      #"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}]}"#
    )
    #expect(r.status == .pass, "\(r.why)")
    let note = try #require(r.notes.first { $0.code == "restricted-by-condition" })
    #expect(note.message.contains("aws:PrincipalOrgID") && note.statements == [0])
  }

  @Test(arguments: TrustPolicy.restrictingConditionKeys)
  func everyRestrictingKeyRestrictsWhateverItsCaseWhenTheCallerMustMatchIt(_ key: String) throws {
    func trust(_ op: String, _ value: String) -> String {
      #"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"\#(op)":{"\#(key.uppercased())":["\#(value)"]}}}]}"#
    }
    #expect(try Self.judge(RoleTrustPublic(), trust("StringEquals", "111122223333")).status == .pass)
    // Version 2: a negated operator, ForAllValues: (true when the key is absent) or a value matching
    // every caller does not restrict (version 1 passed all three).
    for (op, value) in [("ForAllValues:StringNotLike", "*"), ("StringNotEquals", "111122223333"), ("StringLike", "*")] {
      let r = try Self.judge(RoleTrustPublic(), trust(op, value))
      #expect(r.status == .fail, "\(op) \(key) \(value): \(r.why)")
      #expect(r.notes.contains { $0.code == "conditional" && $0.message.contains(op) }, "\(r.notes.map(\.message))")
    }
  }

  @Test func anExternalIDAloneDoesNotRestrictAndIsNotedConditional() throws {
    let r = try Self.judge(
      RoleTrustPublic(),
      #"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root","*"]},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"partner-7781"}}}]}"#
    )
    #expect(r.status == .fail)
    #expect(r.reasons == ["aws-principal-star"])
    let note = try #require(r.notes.first { $0.code == "conditional" })
    #expect(note.message.contains("sts:ExternalId"))
    #expect(note.detail == #"{"StringEquals":{"sts:ExternalId":"partner-7781"}}"#)
    #expect(r.statements == [0] && r.offendingStatements.count == 1)
    #expect(r.remediation.contains { $0.contains("aws iam update-assume-role-policy --role-name r") })
    #expect(RoleTrustPublic().description.capability == PrivilegeCapability("public-trust", principalTypes: [.role]))
  }

  @Test func onlyAnAllowForAnyPrincipalThatCoversAssumeRoleCounts() throws {
    let cases: [(String, ResultStatus, [String])] = [
      (
        #"{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::1:root"},"Action":"sts:AssumeRole"}]}"#, .fail,
        ["not-principal"]
      ),
      (#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:*"}]}"#, .fail, ["principal-star"]),
      (#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole"}]}"#, .pass, []),
      (#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRoleWithSAML"}]}"#, .pass, []),
      (#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"*"},"Action":"sts:AssumeRole"}]}"#, .pass, []),
      (
        #"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#,
        .fail, ["principal-star"]
      ),
    ]
    for (trust, status, reasons) in cases {
      let r = try Self.judge(RoleTrustPublic(), trust)
      #expect(r.status == status, "\(trust): \(r.why)")
      #expect(r.reasons == reasons, "\(trust)")
    }
  }

  // MARK: - role-trust-oidc-unrestricted

  @Test func gitHubTrustWithRepoStarFailsAndWithOneOwnerPasses() throws {
    let wildcard = try Self.judge(
      RoleTrustOIDCUnrestricted(), Self.github(#"{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:*"}}"#))
    #expect(wildcard.status == .fail)
    #expect(wildcard.reasons == ["github-subject-unrestricted"])
    #expect(wildcard.why.contains("\"repo:*\" does not start with repo:OWNER/"), "\(wildcard.why)")
    let owned = try Self.judge(
      RoleTrustOIDCUnrestricted(), Self.github(#"{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:my-org/*"}}"#))
    #expect(owned.status == .pass, "\(owned.why)")
    #expect(owned.notes.first { $0.code == "restricted-by-condition" }?.message.contains("repositories of my-org") == true)
    #expect(RoleTrustOIDCUnrestricted().description.capability == PrivilegeCapability("oidc-unrestricted", principalTypes: [.role]))
  }

  @Test(arguments: [
    (#"{"ForAnyValue:StringLike":{"token.actions.githubusercontent.com:sub":["repo:my-org/app:*","repo:my-org/infra:*"]}}"#, true),
    (#"{"ForAllValues:StringEquals":{"token.actions.githubusercontent.com:sub":"repo:my-org/app:ref:refs/heads/main"}}"#, true),
    (#"{"ForAnyValue:StringLike":{"token.actions.githubusercontent.com:sub":["repo:my-org/app:*","repo:*/app:*"]}}"#, false),
    (#"{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:my-?rg/app:*"}}"#, false),
    (#"{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:/app:*"}}"#, false),
    (#"{"StringLike":{"token.actions.githubusercontent.com:sub":[]}}"#, false),
    (#"{"StringLike":{"token.actions.githubusercontent.com:sub":"my-org/app"}}"#, false),
    (#"{"StringLikeIfExists":{"token.actions.githubusercontent.com:sub":"repo:my-org/*"}}"#, false),
    (#"{"StringNotLike":{"token.actions.githubusercontent.com:sub":"repo:evil/*"}}"#, false),
    (#"{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}"#, false),
    (#"{"StringEquals":{"Token.Actions.GitHubUserContent.com:Sub":"repo:my-org/app:environment:prod"}}"#, true),
    (
      #"{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:*"},"StringEquals":{"token.actions.githubusercontent.com:sub":"repo:my-org/app:environment:prod"}}"#,
      true
    ),
  ])
  func theGitHubSubjectRule(_ condition: String, _ restricted: Bool) throws {
    let r = try Self.judge(RoleTrustOIDCUnrestricted(), Self.github(condition))
    #expect(r.status == (restricted ? .pass : .fail), "\(condition): \(r.why)")
  }

  @Test func severalProvidersInOneStatementAreJudgedEach() throws {
    let trust =
      #"{"Statement":[{"Effect":"Allow","Principal":{"Federated":["\#(Self.github)","accounts.google.com","arn:aws:iam::123456789012:saml-provider/idp"]},"Action":"sts:AssumeRoleWith*","Condition":{"StringEquals":{"accounts.google.com:aud":"app.apps.googleusercontent.com"}}}]}"#
    let r = try Self.judge(RoleTrustOIDCUnrestricted(), trust)
    // Google is restricted by a condition, GitHub is not (no condition on its subject), SAML is not judged.
    #expect(r.status == .fail)
    #expect(r.why.contains(Self.github) && !r.why.contains("of accounts.google.com"), "\(r.why)")
    #expect(r.notes.contains { $0.code == "restricted-by-condition" && $0.message.contains("accounts.google.com") })
    #expect(r.hasNote("saml-not-judged"))
    let trusts = try #require(try? TrustPolicy.parse(JSONParser.parse(trust)).get()).webIdentityTrusts()
    #expect(trusts.map(\.kind) == [.githubActions, .webIdentity, .saml])
    #expect(trusts.map(\.isRestricted) == [false, true, nil])
  }

  @Test func cognitoIsRestrictedByItsAudience() throws {
    let cognito =
      #"{"Statement":[{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#
    let open = try Self.judge(RoleTrustOIDCUnrestricted(), cognito)
    #expect(open.status == .fail && open.reasons == ["cognito-audience-unrestricted"], "\(open.reasons)")
    // A condition on amr alone does not name the identity pool (version 3).
    let amrOnly = cognito.replacingOccurrences(
      of: #""Action""#, with: #""Condition":{"ForAnyValue:StringLike":{"cognito-identity.amazonaws.com:amr":"authenticated"}},"Action""#)
    let amr = try Self.judge(RoleTrustOIDCUnrestricted(), amrOnly)
    #expect(amr.status == .fail && amr.reasons == ["cognito-audience-unrestricted"] && amr.why.contains("any identity pool"), "\(amr.why)")
    let restricted = cognito.replacingOccurrences(
      of: #""Action""#, with: #""Condition":{"StringEquals":{"cognito-identity.amazonaws.com:aud":"eu-west-1:pool"}},"Action""#)
    #expect(try Self.judge(RoleTrustOIDCUnrestricted(), restricted).status == .pass)
    // A statement that does not cover AssumeRoleWithWebIdentity is not judged.
    let saml = cognito.replacingOccurrences(of: "AssumeRoleWithWebIdentity", with: "AssumeRoleWithSAML")
    let notJudged = try Self.judge(RoleTrustOIDCUnrestricted(), saml)
    #expect(notJudged.status == .pass && notJudged.notes.isEmpty)
  }
}
