/// One problem of a role's trust policy (`AssumeRolePolicyDocument`), located by its JSON path inside
/// the document: `$.Statement[0].Principal.Federated[1]: must be a string, found a number`.
public struct TrustPolicyError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The JSON path of the offending element inside the document (`$` is the document).
  public var path: String
  public var message: String
  /// The statement it belongs to (0 when `Statement` is a single object), nil for document-level problems.
  public var statementIndex: Int?

  public init(path: String, message: String, statementIndex: Int? = nil) {
    self.path = path
    self.message = message
    self.statementIndex = statementIndex
  }

  public var description: String { "\(path): \(message)" }
}

/// Every problem found in one trust policy (never empty when returned).
public struct TrustPolicyErrors: Error, Sendable, Hashable, CustomStringConvertible {
  public var errors: [TrustPolicyError]
  public init(_ errors: [TrustPolicyError]) { self.errors = errors }
  public var description: String { errors.map(\.description).joined(separator: "; ") }
}

/// The principals a `Principal` or `NotPrincipal` element names.
public struct TrustPrincipals: Sendable, Hashable {
  /// The element is the string `"*"`.
  public var everyone: Bool
  public var aws: [String]
  public var service: [String]
  public var federated: [String]
  public var canonicalUser: [String]

  public init(everyone: Bool = false, aws: [String] = [], service: [String] = [], federated: [String] = [], canonicalUser: [String] = []) {
    self.everyone = everyone
    self.aws = aws
    self.service = service
    self.federated = federated
    self.canonicalUser = canonicalUser
  }
}

/// One key of a trust statement's `Condition`: its operator (as written, `ForAnyValue:StringLike`), its
/// key (as written) and its values (a single value is a one-element list).
public struct TrustCondition: Sendable, Hashable {
  public var conditionOperator: String
  public var key: String
  public var values: [JSONValue]

  public init(conditionOperator: String, key: String, values: [JSONValue]) {
    self.conditionOperator = conditionOperator
    self.key = key
    self.values = values
  }
}

/// One grammatically valid statement of a trust policy.
public struct TrustStatement: Sendable, Hashable {
  /// 0-based position in `Statement` (0 when `Statement` is a single object).
  public var index: Int
  public var sid: String?
  public var effect: PolicyEffect
  /// `Principal`, when the statement has it (else it has ``notPrincipal``).
  public var principal: TrustPrincipals?
  public var notPrincipal: TrustPrincipals?
  public var actions: ActionElement
  /// Every key of every operator of `Condition`, in document order.
  public var conditions: [TrustCondition]
  /// The statement as written (for quoting it in evidence).
  public var json: JSONValue

  /// Whether the statement has at least one condition key.
  public var isConditional: Bool { !conditions.isEmpty }

  /// Whether the statement's `Action` matches `action` (case-insensitive globs: `*` any run, `?` one
  /// character), or its `NotAction` does not.
  public func covers(_ action: String) -> Bool {
    let name = Array(action.lowercased().utf8)
    let matched = actions.patterns.contains { pattern in
      let p = Array(pattern.lowercased().utf8)
      return p.withUnsafeBufferPointer { pb in name.withUnsafeBufferPointer { PolicyEngine.glob(pb, $0) } }
    }
    return actions.isNegated ? !matched : matched
  }
}

/// A role's trust policy (`AssumeRolePolicyDocument`) checked against a strict grammar: who may
/// assume the role, not what it may do.
///
/// Rules: the document is an object with only `Version` (`"2012-10-17"`, `"2008-10-17"` or absent),
/// `Id` (a string) and `Statement` (one object or a non-empty array of objects). Each statement has
/// only `Sid` (string), `Effect` (exactly `"Allow"` or `"Deny"`), exactly one of `Principal` /
/// `NotPrincipal`, exactly one of `Action` / `NotAction` (a string or a non-empty array of strings)
/// and optionally `Condition` (operator → object of key → string, number, boolean or an array of
/// them); `Resource` and `NotResource` are refused (AWS refuses them in trust policies). A principal
/// element is the string `"*"` or an object of `AWS`, `Service`, `Federated`, `CanonicalUser`, each a
/// string or a non-empty array of strings. An object that names a member twice, at any depth, is
/// refused (which value counts is not something evidence can rely on). Every problem is reported with
/// its JSON path.
public struct TrustPolicy: Sendable, Hashable {
  public var statements: [TrustStatement]
  /// Whether `Statement` was a single object.
  public var statementIsSingleObject: Bool

  public init(statements: [TrustStatement], statementIsSingleObject: Bool) {
    self.statements = statements
    self.statementIsSingleObject = statementIsSingleObject
  }

  static let documentKeys: Set<String> = ["Version", "Id", "Statement"]
  static let statementKeys: Set<String> = ["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Condition"]
  static let principalKeys = ["AWS", "Service", "Federated", "CanonicalUser"]

  /// Parses `json`: the trust policy, or every problem found (each with its JSON path).
  public static func parse(_ json: JSONValue) -> Result<TrustPolicy, TrustPolicyErrors> {
    var errors: [TrustPolicyError] = []
    repeatedMembers(json, path: "$", statement: nil, into: &errors)
    if !errors.isEmpty { return .failure(TrustPolicyErrors(errors)) }
    guard let members = json.objectValue else {
      return .failure(
        TrustPolicyErrors([TrustPolicyError(path: "$", message: "a trust policy must be an object, found \(json.kindDescription)")]))
    }
    for (key, _) in members where !documentKeys.contains(key) {
      errors.append(TrustPolicyError(path: "$", message: "unknown top-level element \(JSONWriter.quoted(key))"))
    }
    if let v = json["Version"] {
      if let s = v.stringValue {
        if !PolicyDocument.knownVersions.contains(s) {
          errors.append(
            TrustPolicyError(path: "$.Version", message: "must be \"2012-10-17\" or \"2008-10-17\", found \(JSONWriter.quoted(s))"))
        }
      } else {
        errors.append(TrustPolicyError(path: "$.Version", message: "must be a string, found \(v.kindDescription)"))
      }
    }
    if let v = json["Id"], v.stringValue == nil {
      errors.append(TrustPolicyError(path: "$.Id", message: "must be a string, found \(v.kindDescription)"))
    }
    var raw: [(JSONValue, String)] = []
    var single = false
    switch json["Statement"] {
    case nil:
      errors.append(TrustPolicyError(path: "$.Statement", message: "is missing"))
    case .object?:
      raw = [(json["Statement"]!, "$.Statement")]
      single = true
    case .array(let items)?:
      if items.isEmpty { errors.append(TrustPolicyError(path: "$.Statement", message: "must not be an empty array")) }
      raw = items.enumerated().map { ($1, "$.Statement[\($0)]") }
    case let other?:
      errors.append(
        TrustPolicyError(path: "$.Statement", message: "must be an object or an array of objects, found \(other.kindDescription)"))
    }
    var statements: [TrustStatement] = []
    for (i, (value, path)) in raw.enumerated() {
      if let s = statement(value, index: i, path: path, errors: &errors) { statements.append(s) }
    }
    if !errors.isEmpty { return .failure(TrustPolicyErrors(errors)) }
    return .success(TrustPolicy(statements: statements, statementIsSingleObject: single))
  }

  /// Reports every object, at any depth, that names a member twice.
  static func repeatedMembers(_ value: JSONValue, path: String, statement: Int?, into errors: inout [TrustPolicyError]) {
    switch value {
    case .object(let members):
      var seen = Set<String>()
      // The members of a single-object `Statement` belong to statement 0.
      let inside = statement ?? (path == "$.Statement" ? 0 : nil)
      for (key, v) in members {
        let child = path + pathComponent(key)
        if !seen.insert(key).inserted {
          errors.append(
            TrustPolicyError(
              path: child, message: "member named twice: which value counts is not something evidence can rely on", statementIndex: inside))
        }
        repeatedMembers(v, path: child, statement: inside, into: &errors)
      }
    case .array(let items):
      for (i, v) in items.enumerated() {
        // Statement indexes are known from the path's first array below `Statement`.
        let index = statement ?? (path == "$.Statement" ? i : nil)
        repeatedMembers(v, path: "\(path)[\(i)]", statement: index, into: &errors)
      }
    default:
      return
    }
  }

  /// `.Name` for plain names, `["token.actions.githubusercontent.com:sub"]` for the others.
  static func pathComponent(_ key: String) -> String {
    let plain =
      !key.isEmpty
      && key.utf8.allSatisfy {
        ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == UInt8(ascii: "_")
      }
    return plain ? "." + key : "[\(JSONWriter.quoted(key))]"
  }

  static func statement(_ raw: JSONValue, index: Int, path: String, errors: inout [TrustPolicyError]) -> TrustStatement? {
    let before = errors.count
    func fail(_ at: String, _ message: String) { errors.append(TrustPolicyError(path: at, message: message, statementIndex: index)) }
    guard let members = raw.objectValue else {
      fail(path, "a statement must be an object, found \(raw.kindDescription)")
      return nil
    }
    for (key, _) in members where !statementKeys.contains(key) {
      if key == "Resource" || key == "NotResource" {
        fail(path + "." + key, "is not allowed in a trust policy")
      } else {
        fail(path, "unknown element \(JSONWriter.quoted(key))")
      }
    }
    var sid: String?
    if let v = raw["Sid"] {
      if let s = v.stringValue { sid = s } else { fail(path + ".Sid", "must be a string, found \(v.kindDescription)") }
    }
    var effect: PolicyEffect?
    switch raw["Effect"] {
    case nil: fail(path + ".Effect", "is missing")
    case .string(let s)?:
      effect = PolicyEffect(rawValue: s)
      if effect == nil { fail(path + ".Effect", "must be \"Allow\" or \"Deny\", found \(JSONWriter.quoted(s))") }
    case let other?: fail(path + ".Effect", "must be \"Allow\" or \"Deny\", found \(other.kindDescription)")
    }

    func strings(_ value: JSONValue, _ at: String) -> [String]? {
      switch value {
      case .string(let s): return [s]
      case .array(let items):
        if items.isEmpty {
          fail(at, "must not be an empty array")
          return nil
        }
        var out: [String] = []
        for (i, item) in items.enumerated() {
          if let s = item.stringValue { out.append(s) } else { fail("\(at)[\(i)]", "must be a string, found \(item.kindDescription)") }
        }
        return out.count == items.count ? out : nil
      default:
        fail(at, "must be a string or an array of strings, found \(value.kindDescription)")
        return nil
      }
    }

    func principals(_ value: JSONValue, _ at: String) -> TrustPrincipals? {
      if case .string(let s) = value {
        if s == "*" { return TrustPrincipals(everyone: true) }
        fail(at, "must be \"*\" or an object of AWS, Service, Federated, CanonicalUser, found \(JSONWriter.quoted(s))")
        return nil
      }
      guard let list = value.objectValue else {
        fail(at, "must be \"*\" or an object of AWS, Service, Federated, CanonicalUser, found \(value.kindDescription)")
        return nil
      }
      if list.isEmpty {
        fail(at, "names no principal")
        return nil
      }
      var p = TrustPrincipals()
      var ok = true
      for (key, v) in list {
        guard principalKeys.contains(key) else {
          fail(at, "unknown principal type \(JSONWriter.quoted(key)) (AWS, Service, Federated or CanonicalUser)")
          ok = false
          continue
        }
        guard let names = strings(v, at + "." + key) else {
          ok = false
          continue
        }
        switch key {
        case "AWS": p.aws = names
        case "Service": p.service = names
        case "Federated": p.federated = names
        default: p.canonicalUser = names
        }
      }
      return ok ? p : nil
    }

    var principal: TrustPrincipals?
    var notPrincipal: TrustPrincipals?
    switch (raw["Principal"], raw["NotPrincipal"]) {
    case (.some, .some): fail(path, "has both Principal and NotPrincipal")
    case (nil, nil): fail(path, "has neither Principal nor NotPrincipal")
    case (let p?, nil): principal = principals(p, path + ".Principal")
    case (nil, let p?): notPrincipal = principals(p, path + ".NotPrincipal")
    }

    var actions: ActionElement?
    switch (raw["Action"], raw["NotAction"]) {
    case (.some, .some): fail(path, "has both Action and NotAction")
    case (nil, nil): fail(path, "has neither Action nor NotAction")
    case (let a?, nil): actions = strings(a, path + ".Action").map(ActionElement.action)
    case (nil, let a?): actions = strings(a, path + ".NotAction").map(ActionElement.notAction)
    }

    var conditions: [TrustCondition] = []
    if let condition = raw["Condition"] {
      let at = path + ".Condition"
      if let operators = condition.objectValue {
        for (op, block) in operators {
          let opPath = at + pathComponent(op)
          guard let keys = block.objectValue else {
            fail(opPath, "must be an object of condition keys, found \(block.kindDescription)")
            continue
          }
          for (key, value) in keys {
            let keyPath = opPath + pathComponent(key)
            let values: [JSONValue]
            if case .array(let items) = value { values = items } else { values = [value] }
            var scalars = true
            for (i, v) in values.enumerated() {
              switch v {
              case .string, .number, .bool: continue
              default:
                scalars = false
                fail(
                  value.arrayValue == nil ? keyPath : "\(keyPath)[\(i)]", "must be a string, number or boolean, found \(v.kindDescription)")
              }
            }
            if scalars { conditions.append(TrustCondition(conditionOperator: op, key: key, values: values)) }
          }
        }
      } else {
        fail(at, "must be an object, found \(condition.kindDescription)")
      }
    }

    guard errors.count == before, let effect, let actions, principal != nil || notPrincipal != nil else { return nil }
    return TrustStatement(
      index: index, sid: sid, effect: effect, principal: principal, notPrincipal: notPrincipal, actions: actions, conditions: conditions,
      json: raw)
  }
}

// MARK: - Who may assume the role

/// An Allow statement that lets any principal call `sts:AssumeRole` (see ``TrustPolicy/publicStatements()``).
public struct PublicTrust: Sendable, Hashable {
  /// The statement's index.
  public var statement: Int
  /// How it names every principal: `Principal "*"`, `Principal.AWS "*"` or `NotPrincipal`.
  public var principal: String
  /// Its condition keys that restrict it (``TrustPolicy/restrictingConditionKeys``), as written;
  /// empty when nothing restricts it.
  public var restrictedBy: [String]
  /// Its other condition keys, as written (noted `conditional`: they do not restrict who may call).
  public var otherConditions: [String]

  public init(statement: Int, principal: String, restrictedBy: [String], otherConditions: [String]) {
    self.statement = statement
    self.principal = principal
    self.restrictedBy = restrictedBy
    self.otherConditions = otherConditions
  }

  public var isRestricted: Bool { !restrictedBy.isEmpty }
}

/// The kind of a `Federated` principal, for web-identity trust.
public enum FederatedProviderKind: String, Sendable, Hashable {
  /// GitHub Actions' OIDC provider (`…:oidc-provider/token.actions.githubusercontent.com`).
  case githubActions = "github-actions"
  /// Amazon Cognito identity pools (`cognito-identity.amazonaws.com`, or another host starting with
  /// `cognito-identity.`).
  case cognitoIdentity = "cognito-identity"
  /// Any other web-identity provider: another `oidc-provider/` ARN, or a provider named by host
  /// (`accounts.google.com`, `graph.facebook.com`...).
  case webIdentity = "web-identity"
  /// A SAML provider (`…:saml-provider/…`): not judged by the web-identity rule.
  case saml
}

/// One `Federated` provider of an Allow statement that covers `sts:AssumeRoleWithWebIdentity` (see
/// ``TrustPolicy/webIdentityTrusts()``).
public struct WebIdentityTrust: Sendable, Hashable {
  public var statement: Int
  /// The provider as written.
  public var provider: String
  public var kind: FederatedProviderKind
  /// Whether the statement restricts who may use the provider; nil for SAML (not judged).
  public var isRestricted: Bool?
  /// Why it is restricted or not, in words.
  public var reason: String

  public init(statement: Int, provider: String, kind: FederatedProviderKind, isRestricted: Bool?, reason: String) {
    self.statement = statement
    self.provider = provider
    self.kind = kind
    self.isRestricted = isRestricted
    self.reason = reason
  }
}

extension TrustPolicy {
  /// Condition keys that tie a public trust statement to an organisation, an account or a caller's or
  /// source's ARN (compared case-insensitively) when a condition on them restricts
  /// (``restriction(of:)``).
  public static let restrictingConditionKeys = [
    "aws:PrincipalOrgID", "aws:PrincipalOrgPaths", "aws:PrincipalAccount", "aws:PrincipalArn", "aws:SourceAccount", "aws:SourceArn",
    "aws:SourceOrgID", "aws:SourceOrgPaths",
  ]

  /// The GitHub Actions subject claim key.
  public static let githubSubjectKey = "token.actions.githubusercontent.com:sub"

  /// The Allow statements whose Action covers `sts:AssumeRole` for any principal: `Principal` `"*"`,
  /// an `AWS` principal `"*"` (alone or in a list), or a `NotPrincipal` — each with the restricting
  /// condition keys it has (``restrictingConditionKeys``) and its other condition keys.
  public func publicStatements() -> [PublicTrust] {
    let restricting = Set(Self.restrictingConditionKeys.map { $0.lowercased() })
    var out: [PublicTrust] = []
    for s in statements where s.effect == .allow && s.covers("sts:AssumeRole") {
      let how: String
      if s.notPrincipal != nil {
        how = "NotPrincipal"
      } else if let p = s.principal, p.everyone {
        how = "Principal \"*\""
      } else if let p = s.principal, p.aws.contains("*") {
        how = "Principal.AWS \"*\""
      } else {
        continue
      }
      var restrictedBy: [String] = []
      var other: [String] = []
      for c in s.conditions {
        if !restricting.contains(c.key.lowercased()) {
          other.append(c.key)
        } else if let problem = Self.restrictionProblem(c) {
          other.append("\(c.conditionOperator) \(c.key) (\(problem))")
        } else {
          restrictedBy.append(c.key)
        }
      }
      out.append(PublicTrust(statement: s.index, principal: how, restrictedBy: restrictedBy, otherConditions: other))
    }
    return out
  }

  /// Why a condition on a restricting key (``restrictingConditionKeys``) does not restrict who may
  /// call, or nil when it does. It restricts when the caller must match one of its values: the
  /// operator is `StringEquals`, `StringEqualsIgnoreCase`, `StringLike`, `ArnEquals` or `ArnLike`,
  /// optionally `ForAnyValue:` (false when the key is absent); and every value names one
  /// organisation, account or ARN: a string or number without a policy variable, and, where the
  /// operator takes wildcards (`StringLike`, `ArnEquals`, `ArnLike`), with no `*` or `?` in the
  /// organisation id, the account id, the first element of an organisation path, or the account field
  /// of an ARN (an ARN without account field, such as an S3 bucket's, must hold no wildcard at all).
  ///
  /// Not restricting: negated operators (`StringNotEquals`, `ArnNotLike`: true for every other caller
  /// and when the key is absent), `...IfExists` and `ForAllValues:` (true when the key is absent: a
  /// caller outside any organisation has no `aws:PrincipalOrgID`, a direct call no `aws:SourceAccount`),
  /// `Null` and every other operator; `"*"` or `arn:aws:iam::*:role/x` under a wildcard operator.
  /// See https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
  /// and https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
  public static func restrictionProblem(_ c: TrustCondition) -> String? {
    var base = c.conditionOperator
    if base.hasPrefix("ForAnyValue:") { base.removeFirst("ForAnyValue:".count) }
    let wildcards: Bool
    switch base {
    case "StringEquals", "StringEqualsIgnoreCase": wildcards = false
    case "StringLike", "ArnEquals", "ArnLike": wildcards = true
    default:
      return "\(c.conditionOperator) does not require the caller to match one of its values"
    }
    if c.values.isEmpty { return "no value" }
    let key = c.key.lowercased()
    for v in c.values {
      let text: String
      switch v {
      case .string(let s): text = s
      case .number: continue
      default: return "a value that names no organisation, account or ARN"
      }
      if text.contains("${") { return "the value \(JSONWriter.quoted(text)) holds a policy variable" }
      guard wildcards else { continue }
      func wild(_ part: Substring) -> Bool { part.isEmpty || part.contains("*") || part.contains("?") }
      let named: Bool
      switch key {
      case "aws:principalarn", "aws:sourcearn":
        let fields = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        if fields.count == 6, fields[4].isEmpty {
          named = !wild(Substring(text))
        } else {
          named = fields.count == 6 && !wild(fields[4])
        }
      case "aws:principalorgpaths", "aws:sourceorgpaths":
        named = !wild(text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)[0])
      default:
        named = !wild(Substring(text))
      }
      if !named { return "the value \(JSONWriter.quoted(text)) matches callers of any organisation or account" }
    }
    return nil
  }

  /// Every `Federated` provider of every Allow statement whose Action covers
  /// `sts:AssumeRoleWithWebIdentity`, each judged on its own:
  /// * GitHub Actions: restricted when the statement has at least one `StringEquals`,
  ///   `StringEqualsIgnoreCase` or `StringLike` condition (optionally `ForAnyValue:` / `ForAllValues:`)
  ///   on `token.actions.githubusercontent.com:sub` (key case-insensitive) whose values are all strings
  ///   starting with `repo:OWNER/`, OWNER non-empty and free of `*` and `?`;
  /// * Amazon Cognito identity pools: restricted when the statement has a condition on the identity
  ///   pool's audience (`cognito-identity.amazonaws.com:aud`) that names identity pools
  ///   (``cognitoAudienceProblem(_:)``); a condition on `amr` alone does not say which pool's
  ///   identities may assume the role;
  /// * any other web-identity provider: restricted when the statement has any condition;
  /// * SAML providers: not judged (``WebIdentityTrust/isRestricted`` nil);
  /// * `Principal` `"*"` or a `NotPrincipal`: every provider, judged as any other web-identity provider.
  public func webIdentityTrusts() -> [WebIdentityTrust] {
    var out: [WebIdentityTrust] = []
    for s in statements where s.effect == .allow && s.covers("sts:AssumeRoleWithWebIdentity") {
      // `Principal: "*"` and `NotPrincipal` name every federated principal too: any identity of any
      // provider AWS accepts without registration (accounts.google.com, graph.facebook.com,
      // www.amazon.com, cognito-identity.amazonaws.com) or the account's OIDC providers.
      if s.notPrincipal != nil || s.principal?.everyone == true {
        let how = s.notPrincipal != nil ? "NotPrincipal" : "Principal \"*\""
        let keys = s.conditions.map { "\($0.conditionOperator) \($0.key)" }
        out.append(
          WebIdentityTrust(
            statement: s.index, provider: "any web-identity provider (\(how))", kind: .webIdentity, isRestricted: s.isConditional,
            reason: s.isConditional
              ? "the statement has conditions (\(keys.joined(separator: ", ")))"
              : "the statement has no condition: any identity of any web-identity provider AWS accepts may assume the role"))
      }
      for provider in s.principal?.federated ?? [] {
        let kind = Self.kind(of: provider)
        switch kind {
        case .saml:
          out.append(
            WebIdentityTrust(
              statement: s.index, provider: provider, kind: kind, isRestricted: nil,
              reason: "a SAML provider; not judged by the web-identity rule"))
        case .cognitoIdentity:
          let (restricted, reason) = Self.cognitoRestriction(s)
          out.append(WebIdentityTrust(statement: s.index, provider: provider, kind: kind, isRestricted: restricted, reason: reason))
        case .webIdentity:
          let keys = s.conditions.map { "\($0.conditionOperator) \($0.key)" }
          out.append(
            WebIdentityTrust(
              statement: s.index, provider: provider, kind: kind, isRestricted: s.isConditional,
              reason: s.isConditional
                ? "the statement has conditions (\(keys.joined(separator: ", ")))"
                : "the statement has no condition: any identity of this provider may assume the role"))
        case .githubActions:
          let (restricted, reason) = Self.githubRestriction(s)
          out.append(WebIdentityTrust(statement: s.index, provider: provider, kind: kind, isRestricted: restricted, reason: reason))
        }
      }
    }
    return out
  }

  /// The kind of a `Federated` provider (ARN or host name), compared case-insensitively.
  public static func kind(of provider: String) -> FederatedProviderKind {
    let p = provider.lowercased()
    if p.contains(":saml-provider/") { return .saml }
    if p.hasSuffix(":oidc-provider/token.actions.githubusercontent.com") || p == "token.actions.githubusercontent.com" {
      return .githubActions
    }
    if p.hasPrefix("cognito-identity.") { return .cognitoIdentity }
    return .webIdentity
  }

  /// The Amazon Cognito rule for one statement: restricted by its first condition on an identity
  /// pool audience key (`cognito-identity.amazonaws.com:aud`, or another `cognito-identity.…:aud`;
  /// case-insensitive) without a ``cognitoAudienceProblem(_:)``. AWS documents the `aud` condition
  /// as what ties a role to the identity pools meant to use it:
  /// https://docs.aws.amazon.com/cognito/latest/developerguide/role-trust-and-permissions.html,
  /// https://docs.aws.amazon.com/cognito/latest/developerguide/iam-roles.html and (RoleArn)
  /// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html.
  static func cognitoRestriction(_ s: TrustStatement) -> (Bool, String) {
    var problems: [String] = []
    for c in s.conditions {
      let key = c.key.lowercased()
      guard key.hasPrefix("cognito-identity."), key.hasSuffix(":aud") else { continue }
      if let problem = cognitoAudienceProblem(c) {
        problems.append("\(c.conditionOperator) \(c.key): \(problem)")
        continue
      }
      let pools = c.values.compactMap(\.stringValue).map(JSONWriter.quoted).joined(separator: ", ")
      return (true, "\(c.conditionOperator) \(c.key) allows only identity pool \(pools)")
    }
    if problems.isEmpty {
      return (
        false,
        "no condition on cognito-identity.amazonaws.com:aud names the identity pool: identities of any identity pool may assume the role"
      )
    }
    return (false, problems.joined(separator: "; ") + ": identities of other identity pools may match")
  }

  /// Why a condition on a Cognito audience key does not name identity pools, or nil when it does:
  /// the operator rules of ``restrictionProblem(_:)`` (`StringEquals`, `StringEqualsIgnoreCase` or
  /// `StringLike`, optionally `ForAnyValue:`; not negated, `...IfExists` or `ForAllValues:`, which are
  /// true when the key is absent or for every other pool), and every value a string without a policy
  /// variable and, under `StringLike`, without `*` or `?` (an identity pool id is `REGION:GUID`: a
  /// wildcard admits pools of other accounts).
  public static func cognitoAudienceProblem(_ c: TrustCondition) -> String? {
    var base = c.conditionOperator
    if base.hasPrefix("ForAnyValue:") { base.removeFirst("ForAnyValue:".count) }
    guard ["StringEquals", "StringEqualsIgnoreCase", "StringLike"].contains(base) else {
      return "\(c.conditionOperator) does not require the token's audience to match one of its values"
    }
    if c.values.isEmpty { return "no value" }
    for v in c.values {
      guard let text = v.stringValue else { return "the value \(JSONWriter.canonical(v)) is not an identity pool id" }
      if text.contains("${") { return "the value \(JSONWriter.quoted(text)) holds a policy variable" }
      if base == "StringLike" && (text.contains("*") || text.contains("?")) {
        return "the value \(JSONWriter.quoted(text)) holds a wildcard"
      }
    }
    return nil
  }

  /// The GitHub Actions rule for one statement.
  static func githubRestriction(_ s: TrustStatement) -> (Bool, String) {
    var problems: [String] = []
    for c in s.conditions where c.key.lowercased() == githubSubjectKey {
      var base = c.conditionOperator
      for prefix in ["ForAnyValue:", "ForAllValues:"] where base.hasPrefix(prefix) { base.removeFirst(prefix.count) }
      // StringEqualsIgnoreCase compares with the values' own text, like StringEquals (there is no
      // StringLikeIgnoreCase operator).
      guard base == "StringEquals" || base == "StringEqualsIgnoreCase" || base == "StringLike" else {
        problems.append("\(c.conditionOperator) is not StringEquals, StringEqualsIgnoreCase or StringLike")
        continue
      }
      if c.values.isEmpty {
        problems.append("\(c.conditionOperator) \(c.key) lists no value")
        continue
      }
      var owners: [String] = []
      var bad: String?
      for v in c.values {
        if let owner = v.stringValue.flatMap(repositoryOwner) {
          owners.append(owner)
        } else {
          bad = v.stringValue.map(JSONWriter.quoted) ?? JSONWriter.canonical(v)
          break
        }
      }
      if let bad {
        problems.append("\(c.conditionOperator) \(c.key) value \(bad) does not start with repo:OWNER/ naming one owner without * or ?")
        continue
      }
      let list = Array(Set(owners)).sorted().joined(separator: ", ")
      return (true, "\(c.conditionOperator) \(c.key) allows only repositories of \(list)")
    }
    if problems.isEmpty {
      return (
        false, "no StringEquals or StringLike condition on \(githubSubjectKey): any GitHub repository in the world may assume the role"
      )
    }
    return (false, problems.joined(separator: "; ") + ": any GitHub repository in the world may match")
  }

  /// The OWNER of a `repo:OWNER/...` subject value when it names one owner (non-empty, without `*`
  /// or `?`), else nil.
  static func repositoryOwner(_ value: String) -> String? {
    guard value.hasPrefix("repo:") else { return nil }
    let rest = value.dropFirst("repo:".count)
    guard let slash = rest.firstIndex(of: "/") else { return nil }
    let owner = rest[..<slash]
    guard !owner.isEmpty, !owner.contains("*"), !owner.contains("?") else { return nil }
    return String(owner)
  }
}
