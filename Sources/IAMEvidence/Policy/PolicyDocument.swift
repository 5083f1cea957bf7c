/// One grammar problem of an IAM policy document, located by statement index when it belongs to one.
///
/// ``description`` reads like `Statement[2]: Effect must be "Allow" or "Deny", found "allow"`.
public struct PolicyGrammarError: Error, Sendable, Hashable, CustomStringConvertible {
  /// What kind of problem this is: checks report each kind under its own note code.
  public enum Kind: String, Sendable, Hashable {
    /// The document breaks the policy grammar (note `invalid-grammar`).
    case grammar
    /// Some object of the document names a member twice (note `duplicate-key`): which value counts
    /// is not something evidence can rely on, so the document is not judged at all.
    case duplicateKey = "duplicate-key"
  }

  /// 0-based index of the statement in `Statement` (0 when `Statement` is a single object); nil for
  /// document-level problems.
  public var statementIndex: Int?
  /// The problem, without the location prefix.
  public var message: String
  /// The document's label in multi-document evaluations (``PolicySource/label``), else nil.
  public var source: String?
  public var kind: Kind
  /// For ``Kind/duplicateKey``: the JSON path of the repeated member inside the document
  /// (`$.Statement[0].Action`), which ``message`` names too.
  public var path: String?

  public init(statementIndex: Int?, message: String, source: String? = nil, kind: Kind = .grammar, path: String? = nil) {
    self.statementIndex = statementIndex
    self.message = message
    self.source = source
    self.kind = kind
    self.path = path
  }

  /// This error with its document's label (``source``), kind and path kept.
  public func labelled(_ source: String) -> PolicyGrammarError {
    var e = self
    e.source = source
    return e
  }

  public var description: String {
    // A repeated member's path already locates it.
    let located = kind == .duplicateKey ? message : statementIndex.map { "Statement[\($0)]: \(message)" } ?? message
    return source.map { "\($0): \(located)" } ?? located
  }
}

/// All grammar problems of one policy document (never empty when thrown).
public struct PolicyGrammarErrors: Error, Sendable, Hashable, CustomStringConvertible {
  public var errors: [PolicyGrammarError]
  public init(_ errors: [PolicyGrammarError]) { self.errors = errors }
  public var description: String { errors.map(\.description).joined(separator: "; ") }
}

/// `Effect` of a statement (the grammar accepts exactly `"Allow"` and `"Deny"`).
public enum PolicyEffect: String, Sendable, Hashable {
  case allow = "Allow"
  case deny = "Deny"
}

/// The action element of a statement: `Action` (the listed patterns) or `NotAction` (everything else).
public enum ActionElement: Sendable, Hashable {
  case action([String])
  case notAction([String])

  /// The patterns as written, whichever element they came from.
  public var patterns: [String] {
    switch self {
    case .action(let p), .notAction(let p): return p
    }
  }

  /// Whether this is `NotAction`.
  public var isNegated: Bool {
    if case .notAction = self { return true }
    return false
  }
}

/// The resource element of a statement: `Resource` or `NotResource`.
public enum ResourceElement: Sendable, Hashable {
  case resource([String])
  case notResource([String])

  /// The patterns as written, whichever element they came from.
  public var patterns: [String] {
    switch self {
    case .resource(let p), .notResource(let p): return p
    }
  }

  /// Whether this is `NotResource`.
  public var isNegated: Bool {
    if case .notResource = self { return true }
    return false
  }
}

/// One grammatically valid statement of a policy document.
public struct PolicyStatement: Sendable, Hashable {
  /// 0-based position in `Statement` (0 when `Statement` is a single object).
  public var index: Int
  public var sid: String?
  public var effect: PolicyEffect
  public var actions: ActionElement
  public var resources: ResourceElement
  /// The `Condition` object, if any (kept verbatim; conditions never narrow a grant in this evaluator).
  public var condition: JSONValue?
  /// `Principal` / `NotPrincipal`, kept verbatim (meaningless in identity policies, but kept for evidence).
  public var principal: JSONValue?
  public var notPrincipal: JSONValue?
  /// The statement exactly as it appeared in the document (for showing offending statements).
  public var json: JSONValue

  public init(
    index: Int, sid: String? = nil, effect: PolicyEffect, actions: ActionElement, resources: ResourceElement,
    condition: JSONValue? = nil, principal: JSONValue? = nil, notPrincipal: JSONValue? = nil, json: JSONValue
  ) {
    self.index = index
    self.sid = sid
    self.effect = effect
    self.actions = actions
    self.resources = resources
    self.condition = condition
    self.principal = principal
    self.notPrincipal = notPrincipal
    self.json = json
  }

  /// Whether the statement has a non-empty `Condition`.
  public var isConditional: Bool {
    guard let condition else { return false }
    if case .object(let members) = condition { return !members.isEmpty }
    return true
  }
}

/// An IAM policy document checked against a strict grammar.
///
/// Rules: the document is an object with only `Version`, `Id` and `Statement`; `Version` is `"2012-10-17"`,
/// `"2008-10-17"` or absent (all evaluate the same; anything else is an error naming it); `Statement` is one
/// object or a non-empty array of objects. Each statement has only the elements `Sid`, `Effect`, `Action`,
/// `NotAction`, `Resource`, `NotResource`, `Condition`, `Principal`, `NotPrincipal`; `Effect` is exactly
/// `"Allow"` or `"Deny"` (case-sensitive); exactly one of `Action`/`NotAction` and exactly one of
/// `Resource`/`NotResource`, each a string or a non-empty array of strings; `Sid` a string; `Condition` an
/// object of operator → object of key → string/number/boolean or array of them. Every problem is
/// reported (parsing does not stop at the first).
///
/// A document in which any object, at any depth, names a member twice is refused before the grammar
/// is looked at, with one ``PolicyGrammarError/Kind/duplicateKey`` error per repeated name (up to
/// ``maxDuplicateKeyErrors``) and nothing else: every other judgement would be made on one of the
/// values.
public struct PolicyDocument: Sendable, Hashable {
  /// The `Version` string, nil when absent.
  public var version: String?
  /// The `Id` string, nil when absent.
  public var id: String?
  /// The statements in document order; `statements[i].index == i`.
  public var statements: [PolicyStatement]
  /// Whether `Statement` was a single object rather than an array.
  public var statementIsSingleObject: Bool
  /// The document as given.
  public var json: JSONValue

  /// The accepted `Version` values.
  public static let knownVersions: Set<String> = ["2012-10-17", "2008-10-17"]

  static let documentKeys: Set<String> = ["Version", "Id", "Statement"]
  static let statementKeys: Set<String> = [
    "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition", "Principal", "NotPrincipal",
  ]

  /// Builds a document from already-checked statements (e.g. to evaluate one statement on its own).
  public init(
    version: String? = "2012-10-17", id: String? = nil, statements: [PolicyStatement],
    statementIsSingleObject: Bool = false, json: JSONValue
  ) {
    self.version = version
    self.id = id
    self.statements = statements
    self.statementIsSingleObject = statementIsSingleObject
    self.json = json
  }

  /// Parses `json` or throws every grammar problem found.
  public init(json: JSONValue) throws(PolicyGrammarErrors) {
    switch PolicyDocument.parse(json) {
    case .success(let doc): self = doc
    case .failure(let e): throw e
    }
  }

  /// The most repeated member names one document reports.
  public static let maxDuplicateKeyErrors = 10

  /// Parses `json`: the document, or every grammar problem found.
  public static func parse(_ json: JSONValue) -> Result<PolicyDocument, PolicyGrammarErrors> {
    let duplicates = json.duplicateKeys(limit: maxDuplicateKeyErrors)
    if !duplicates.isEmpty { return .failure(PolicyGrammarErrors(duplicates.map(duplicateKeyError))) }
    var errors: [PolicyGrammarError] = []
    func fail(_ index: Int?, _ message: String) { errors.append(PolicyGrammarError(statementIndex: index, message: message)) }

    guard let members = json.objectValue else {
      return .failure(
        PolicyGrammarErrors([
          PolicyGrammarError(statementIndex: nil, message: "policy document must be an object, found \(json.kindDescription)")
        ]))
    }
    for key in members.map(\.key) where !documentKeys.contains(key) {
      fail(nil, "unknown top-level element \(JSONWriter.quoted(key))")
    }

    var version: String?
    if let v = json["Version"] {
      if let s = v.stringValue {
        if knownVersions.contains(s) {
          version = s
        } else {
          fail(nil, "Version must be \"2012-10-17\" or \"2008-10-17\", found \(JSONWriter.quoted(s))")
        }
      } else {
        fail(nil, "Version must be a string, found \(v.kindDescription)")
      }
    }
    var id: String?
    if let v = json["Id"] {
      if let s = v.stringValue { id = s } else { fail(nil, "Id must be a string, found \(v.kindDescription)") }
    }

    var rawStatements: [JSONValue] = []
    var single = false
    switch json["Statement"] {
    case nil:
      fail(nil, "Statement is missing")
    case .object?:
      rawStatements = [json["Statement"]!]
      single = true
    case .array(let items)?:
      if items.isEmpty { fail(nil, "Statement must not be an empty array") }
      rawStatements = items
    case let other?:
      fail(nil, "Statement must be an object or an array of objects, found \(other.kindDescription)")
    }

    var statements: [PolicyStatement] = []
    for (index, raw) in rawStatements.enumerated() {
      if let s = parseStatement(raw, index: index, errors: &errors) { statements.append(s) }
    }
    if !errors.isEmpty { return .failure(PolicyGrammarErrors(errors)) }
    return .success(
      PolicyDocument(
        version: version, id: id, statements: statements, statementIsSingleObject: single, json: json))
  }

  /// The error for a repeated member name, located by its statement when it is inside one.
  static func duplicateKeyError(_ d: JSONDuplicateKey) -> PolicyGrammarError {
    var statement: Int?
    if d.path.hasPrefix("$.Statement[") {
      statement = Int(d.path.dropFirst("$.Statement[".count).prefix { $0 != "]" })
    } else if d.path.hasPrefix("$.Statement.") {
      statement = 0
    }
    return PolicyGrammarError(
      statementIndex: statement,
      message:
        "duplicate key \(JSONWriter.quoted(d.key)) at \(d.path): the document names this member twice, and which value counts is not something evidence can rely on, so it is not judged (its text is kept as written)",
      kind: .duplicateKey, path: d.path)
  }

  /// Checks one statement; appends its problems to `errors` and returns nil when there are any.
  static func parseStatement(_ raw: JSONValue, index: Int, errors: inout [PolicyGrammarError]) -> PolicyStatement? {
    let before = errors.count
    func fail(_ message: String) { errors.append(PolicyGrammarError(statementIndex: index, message: message)) }

    guard let members = raw.objectValue else {
      fail("statement must be an object, found \(raw.kindDescription)")
      return nil
    }
    for key in members.map(\.key) where !statementKeys.contains(key) {
      fail("unknown element \(JSONWriter.quoted(key))")
    }

    var sid: String?
    if let v = raw["Sid"] {
      if let s = v.stringValue { sid = s } else { fail("Sid must be a string, found \(v.kindDescription)") }
    }

    var effect: PolicyEffect?
    switch raw["Effect"] {
    case nil:
      fail("Effect is missing")
    case .string(let s)?:
      if let e = PolicyEffect(rawValue: s) {
        effect = e
      } else {
        fail("Effect must be \"Allow\" or \"Deny\", found \(JSONWriter.quoted(s))")
      }
    case let other?:
      fail("Effect must be \"Allow\" or \"Deny\", found \(other.kindDescription)")
    }

    func stringList(_ name: String) -> [String]? {
      guard let v = raw[name] else { return nil }
      switch v {
      case .string(let s):
        return [s]
      case .array(let items):
        if items.isEmpty {
          fail("\(name) must not be an empty array")
          return nil
        }
        var out: [String] = []
        for (i, item) in items.enumerated() {
          if let s = item.stringValue { out.append(s) } else { fail("\(name)[\(i)] must be a string, found \(item.kindDescription)") }
        }
        return out.count == items.count ? out : nil
      default:
        fail("\(name) must be a string or an array of strings, found \(v.kindDescription)")
        return nil
      }
    }

    var actions: ActionElement?
    switch (raw["Action"] != nil, raw["NotAction"] != nil) {
    case (true, true): fail("has both Action and NotAction")
    case (false, false): fail("has neither Action nor NotAction")
    case (true, false): actions = stringList("Action").map(ActionElement.action)
    case (false, true): actions = stringList("NotAction").map(ActionElement.notAction)
    }

    var resources: ResourceElement?
    switch (raw["Resource"] != nil, raw["NotResource"] != nil) {
    case (true, true): fail("has both Resource and NotResource")
    case (false, false): fail("has neither Resource nor NotResource")
    case (true, false): resources = stringList("Resource").map(ResourceElement.resource)
    case (false, true): resources = stringList("NotResource").map(ResourceElement.notResource)
    }

    let condition = raw["Condition"]
    if let condition { checkCondition(condition, fail: fail) }

    guard errors.count == before, let effect, let actions, let resources else { return nil }
    return PolicyStatement(
      index: index, sid: sid, effect: effect, actions: actions, resources: resources, condition: condition,
      principal: raw["Principal"], notPrincipal: raw["NotPrincipal"], json: raw)
  }

  static func checkCondition(_ condition: JSONValue, fail: (String) -> Void) {
    guard let operators = condition.objectValue else {
      fail("Condition must be an object, found \(condition.kindDescription)")
      return
    }
    func isScalar(_ v: JSONValue) -> Bool {
      switch v {
      case .string, .number, .bool: return true
      default: return false
      }
    }
    for (op, block) in operators {
      guard let keys = block.objectValue else {
        fail("Condition[\(JSONWriter.quoted(op))] must be an object, found \(block.kindDescription)")
        continue
      }
      for (key, value) in keys {
        let ok: Bool
        switch value {
        case .array(let items): ok = items.allSatisfy(isScalar)
        default: ok = isScalar(value)
        }
        if !ok {
          fail(
            "Condition[\(JSONWriter.quoted(op))][\(JSONWriter.quoted(key))] must be a string, number, boolean or an array of them, found \(value.kindDescription)"
          )
        }
      }
    }
  }

  /// A one-statement document holding `statement` (re-indexed to 0), for judging a statement on its own.
  public static func wrapping(_ statement: PolicyStatement) -> PolicyDocument {
    var s = statement
    s.index = 0
    return PolicyDocument(
      version: "2012-10-17", statements: [s], statementIsSingleObject: true,
      json: .object([("Version", .string("2012-10-17")), ("Statement", statement.json)]))
  }
}
