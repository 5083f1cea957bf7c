/// Shared building blocks of the document-level checks.
enum CheckSupport {
  /// When a policy evaluation makes a subject fail.
  enum Threshold {
    /// Every target action on all keys (full access checks).
    case all
    /// Any target action on all keys (decrypt / destruction checks).
    case any
  }

  /// Maps an evaluation onto a result's status, statements, reasons, notes and why.
  static func result(
    check: CheckDescription, evaluation: PolicyEvaluation, threshold: Threshold, document: PolicyDocumentText,
    principal: PrincipalRef?, policy: PolicyRef
  ) -> CheckResult {
    let status: ResultStatus
    switch evaluation.verdict {
    case .invalid: status = .error
    case .grantsAll: status = .fail
    case .grantsSome: status = threshold == .any ? .fail : .pass
    case .grantsNone: status = .pass
    }
    var notes = evaluation.notes.map(note)
    notes += evaluation.verdict.errors.map(grammarNote)
    let failing = status == .fail
    let indexes = failing ? evaluation.offendingStatements : []
    var why = evaluation.why
    if status == .pass && evaluation.verdict == .grantsSome && threshold == .all {
      let missing = evaluation.target.subtracting(evaluation.effectiveActions).count
      why =
        "Some KMS actions are allowed on all keys (\(evaluation.effectiveActions.count) of \(evaluation.target.count)), not every one: \(missing) remain ungranted, so this is not full access. "
        + evaluation.why
    }
    return CheckResult(
      checkID: check.id, checkVersion: check.version, status: status, principal: principal, policy: policy,
      statements: indexes, offendingStatements: indexes.isEmpty ? [] : statementJSON(document.json, indexes: indexes),
      reasons: failing ? evaluation.reasons.map(\.rawValue) : [], notes: notes, why: why)
  }

  /// The note for a problem of a document that cannot be judged: `duplicate-key` for a repeated
  /// member name, `invalid-grammar` for anything else.
  static func grammarNote(_ e: PolicyGrammarError) -> ResultNote {
    let code =
      switch e.kind {
      case .duplicateKey: "duplicate-key"
      case .grammar: "invalid-grammar"
      }
    return ResultNote(code: code, message: e.description, statements: e.statementIndex.map { [$0] } ?? [])
  }

  static func note(_ n: PolicyNote) -> ResultNote {
    var message = n.message
    if let source = n.source, !message.hasPrefix(source) { message = "\(source): \(message)" }
    return ResultNote(code: n.code.rawValue, message: message, statements: n.statements, detail: n.condition.map(JSONWriter.canonical))
  }

  /// The statements at `indexes` (a single-object Statement is index 0).
  static func statementJSON(_ document: JSONValue, indexes: [Int]) -> [JSONValue] {
    guard let statement = document["Statement"] else { return [] }
    let list: [JSONValue] = statement.arrayValue ?? [statement]
    return indexes.compactMap { $0 >= 0 && $0 < list.count ? list[$0] : nil }
  }

  /// Quotes a value for a POSIX shell when it needs it.
  static func shell(_ s: String) -> String {
    let safe = s.unicodeScalars.allSatisfy {
      ($0.value < 128) && (isASCIIAlphanumeric($0) || "-_.:/@+=,".unicodeScalars.contains($0))
    }
    if safe && !s.isEmpty { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }

  /// The `aws iam` verb noun for a principal type (`user`, `group`, `role`).
  static func remediationForInline(_ principal: Principal, policyName: String, what: String) -> [String] {
    let noun = principal.type.rawValue
    let nameFlag = "--\(noun)-name \(shell(principal.name))"
    let policyFlag = "--policy-name \(shell(policyName))"
    return [
      "Review the policy: aws iam get-\(noun)-policy \(nameFlag) \(policyFlag)",
      "Replace it with a policy that names the specific key ARNs and only the actions needed (\(what)): aws iam put-\(noun)-policy \(nameFlag) \(policyFlag) --policy-document file://narrowed-policy.json",
      "Or remove it: aws iam delete-\(noun)-policy \(nameFlag) \(policyFlag)",
    ]
  }

  static func remediationForManaged(_ policy: ManagedPolicy, attachedTo: [PrincipalRef], what: String) -> [String] {
    let arn = shell(policy.arn)
    var steps = ["List every entity it is attached to: aws iam list-entities-for-policy --policy-arn \(arn)"]
    for p in attachedTo {
      steps.append(
        "Detach it from \(p.type.rawValue) \(p.name): aws iam detach-\(p.type.rawValue)-policy --\(p.type.rawValue)-name \(shell(p.name)) --policy-arn \(arn)"
      )
    }
    steps.append(
      "Replace it with a policy naming the specific key ARNs and only the actions needed (\(what)), or publish a narrowed default version: aws iam create-policy-version --policy-arn \(arn) --policy-document file://narrowed-policy.json --set-as-default"
    )
    return steps
  }

  static func isASCIIAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
    default: return false
    }
  }
}
