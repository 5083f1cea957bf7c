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
    // The source named once: a message that names it already (`Permissions boundary arn:…` for the
    // source `boundary arn:…`) is not prefixed with it again.
    if let source = n.source, !message.contains(source) { message = "\(source): \(message)" }
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

  /// Remediation of a failing inline policy of the KMS checks: replace it with one naming the keys.
  static func remediationForInline(_ principal: Principal, policyName: String, what: String) -> [String] {
    remediationForInline(
      principal, policyName: policyName, replacement: "a policy that names the specific key ARNs and only the actions needed (\(what))")
  }

  /// Remediation of a failing inline policy: review it, replace it with `replacement`, or remove it
  /// (`aws iam get-/put-/delete-<user|group|role>-policy` with the names filled in).
  static func remediationForInline(_ principal: Principal, policyName: String, replacement: String) -> [String] {
    let noun = principal.type.rawValue
    let nameFlag = "--\(noun)-name \(shell(principal.name))"
    let policyFlag = "--policy-name \(shell(policyName))"
    return [
      "Review the policy: aws iam get-\(noun)-policy \(nameFlag) \(policyFlag)",
      "Replace it with \(replacement): aws iam put-\(noun)-policy \(nameFlag) \(policyFlag) --policy-document file://narrowed-policy.json",
      "Or remove it: aws iam delete-\(noun)-policy \(nameFlag) \(policyFlag)",
    ]
  }

  /// Remediation of a failing customer-managed policy of the KMS checks.
  static func remediationForManaged(_ policy: ManagedPolicy, attachedTo: [PrincipalRef], what: String) -> [String] {
    remediationForManaged(
      policy, attachedTo: attachedTo, replacement: "a policy naming the specific key ARNs and only the actions needed (\(what))")
  }

  /// Remediation of a failing customer-managed policy: detach it everywhere, then replace it with
  /// `replacement` or publish a narrowed default version.
  static func remediationForManaged(_ policy: ManagedPolicy, attachedTo: [PrincipalRef], replacement: String) -> [String] {
    let arn = shell(policy.arn)
    var steps = ["List every entity it is attached to: aws iam list-entities-for-policy --policy-arn \(arn)"]
    for p in attachedTo {
      steps.append(
        "Detach it from \(p.type.rawValue) \(p.name): aws iam detach-\(p.type.rawValue)-policy --\(p.type.rawValue)-name \(shell(p.name)) --policy-arn \(arn)"
      )
    }
    steps.append(
      "Replace it with \(replacement), or publish a narrowed default version: aws iam create-policy-version --policy-arn \(arn) --policy-document file://narrowed-policy.json --set-as-default"
    )
    return steps
  }

  /// One step per grant source of an identity: narrow or delete its inline policy, detach the managed
  /// policy, or (group sources) take the user out of the group.
  static func remediationForSources(_ principal: Principal, _ sources: [GrantSource]) -> [String] {
    sources.map { s in
      let noun = principal.type.rawValue
      switch s.kind {
      case "inline":
        return
          "Narrow or delete inline policy \(s.policyName): aws iam delete-\(noun)-policy --\(noun)-name \(shell(principal.name)) --policy-name \(shell(s.policyName))"
      case "managed":
        return
          "Detach \(s.policyName): aws iam detach-\(noun)-policy --\(noun)-name \(shell(principal.name)) --policy-arn \(shell(s.policyARN ?? ""))"
      case "group-inline":
        return
          "Remove the user from group \(s.viaGroup ?? ""), or narrow its inline policy \(s.policyName): aws iam remove-user-from-group --group-name \(shell(s.viaGroup ?? "")) --user-name \(shell(principal.name))"
      default:
        return
          "Remove the user from group \(s.viaGroup ?? ""), or detach \(s.policyName) from it: aws iam detach-group-policy --group-name \(shell(s.viaGroup ?? "")) --policy-arn \(shell(s.policyARN ?? ""))"
      }
    }
  }

  /// The status of an engine verdict for a check that fails when the access holds.
  static func status(_ verdict: AccessVerdict) -> ResultStatus {
    switch verdict {
    case .holds: return .fail
    case .error: return .error
    case .partial, .none: return .pass
    }
  }

  /// Maps the engine's full-access result for one document onto a result: status, the granting
  /// statements (quoted when it fails), reasons, notes (each read once: they are composed on read)
  /// and why.
  static func result(
    check: CheckDescription, access: AccessResult, document: PolicyDocumentText, principal: PrincipalRef?, policy: PolicyRef
  ) -> CheckResult {
    let status = status(access.verdict)
    var notes = access.notes.map(note)
    notes += access.errors.map(grammarNote)
    let failing = status == .fail
    let indexes = failing ? access.grantingStatementIndexes : []
    return CheckResult(
      checkID: check.id, checkVersion: check.version, status: status, principal: principal, policy: policy, statements: indexes,
      offendingStatements: indexes.isEmpty ? [] : statementJSON(document.json, indexes: indexes),
      reasons: failing ? access.reasons.map(\.rawValue) : [], notes: notes, why: access.why)
  }

  /// The result of a customer-managed policy without a default version: still part of the
  /// population; it cannot be judged, so it cannot pass.
  static func noDefaultVersion(check: CheckDescription, policy: ManagedPolicy, attachedTo: [PrincipalRef]) -> CheckResult {
    let ref = PolicyRef(kind: .managed, name: policy.name, arn: policy.arn, versionID: policy.defaultVersionId, documentSHA256: "")
    if let disagreement = policy.defaultVersionDisagreement {
      return CheckResult(
        checkID: check.id, checkVersion: check.version, status: .error, policy: ref,
        notes: [defaultVersionNote(policy.arn, disagreement)],
        why:
          "The snapshot disagrees on which version of \(policy.arn) is the default (\(disagreement)), so the version in force is unknown and the policy cannot be judged.",
        attachedTo: attachedTo)
    }
    return CheckResult(
      checkID: check.id, checkVersion: check.version, status: .error, policy: ref,
      notes: [ResultNote(code: "no-default-version", message: "The snapshot holds no default version of this policy.")],
      why: "The default version of the policy is not in the snapshot, so it cannot be judged.", attachedTo: attachedTo)
  }

  /// The `default-version-inconsistent` note of managed policy `arn` whose `DefaultVersionId` and
  /// `IsDefaultVersion` flags disagree (``ManagedPolicy/defaultVersionDisagreement``).
  static func defaultVersionNote(_ arn: String, _ disagreement: String) -> ResultNote {
    ResultNote(
      code: "default-version-inconsistent",
      message: "Policy \(arn): \(disagreement); the version in force is unknown, so its document is not judged.")
  }

  /// Marks the result of customer-managed policy `arn` with the users and roles whose permissions
  /// boundary it is (``CheckResult/boundaryOf``) and a `permissions-boundary` note naming them: such a
  /// policy is in use even when attached to nothing, and as a boundary it grants nothing by itself.
  static func markBoundaryUse(_ result: inout CheckResult, arn: String, context: CheckContext) {
    let bounded = context.boundaryUsers(of: arn)
    guard !bounded.isEmpty else { return }
    result.boundaryOf = bounded
    let names = bounded.map { "\($0.type.rawValue) \($0.name)" }.joined(separator: ", ")
    result.notes.append(
      ResultNote(
        code: "permissions-boundary",
        message:
          "The permissions boundary of \(names): as a boundary it grants nothing by itself, it caps what \(bounded.count == 1 ? "that identity's" : "those identities'") own policies allow."
      ))
  }

  static func isASCIIAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
    default: return false
    }
  }
}
