import Crypto
import Foundation

/// An exceptions register that cannot be read or is not valid: the file, the JSON path of the
/// offending value (when there is one) and why.
public struct ExceptionRegisterError: UserFacingError, Sendable, Equatable {
  public var file: String
  /// The JSON path, e.g. `$.exceptions[0].expires_on`; nil when the file itself is the problem.
  public var path: String?
  public var message: String

  public init(file: String, path: String?, message: String) {
    self.file = file
    self.path = path
    self.message = message
  }

  public var description: String { path.map { "\(file): \($0): \(message)" } ?? "\(file): \(message)" }
}

/// One approved exception from the human-edited register.
public struct PolicyException: Sendable, Hashable {
  public var id: String
  /// The check it applies to (`*` for every check).
  public var check: String
  /// Principal ARN or name glob (`*`, `?`); nil = any principal.
  public var principal: String?
  /// Policy name or ARN glob; nil = any policy.
  public var policy: String?
  public var justification: String
  public var approvedBy: String
  /// First day the exception is in force (from its start, UTC).
  public var approvedOn: Timestamp
  /// Last day the exception is in force (inclusive, UTC).
  public var expiresOn: Timestamp
  public var compensatingControl: String?
  public var ticket: String?
  /// Whether the exception covers every check, principal and policy (`check`, `scope.principal` and
  /// `scope.policy` all `*` or absent). The register must then say `"scope_all": true`; renderers
  /// should show such an exception prominently, since it excepts every failure.
  public var isScopeAll: Bool = false
  /// The accounts it is limited to (`"accounts": ["111122223333"]`, 12-digit ids in the register's
  /// order); nil: every account, as an exception without the member always did.
  public var accounts: [String]? = nil

  /// Whether it may apply to results of account `account`: always without ``accounts``; with them,
  /// only in an account they list (an unknown account, nil, is not one of them).
  public func applies(toAccount account: String?) -> Bool {
    guard let accounts else { return true }
    return account.map(accounts.contains) ?? false
  }

  /// The `YYYY-MM-DD` of the last day in force.
  public var expiresOnDate: String { expiresOn.dateString }

  /// Where a time stands relative to an exception's period.
  public enum Period: Sendable, Hashable {
    /// Before the day it was approved: an exception never applies to what was captured earlier.
    case notYetApproved
    /// From the start of `approved_on` through the end of `expires_on` (UTC).
    case inForce
    /// After the end of `expires_on`.
    case expired
  }

  /// Where `time` stands: the exception is in force from the start of its approval day through the
  /// end of its expiry day, UTC, whatever times of day `approved_on` and `expires_on` name.
  public func period(at time: Timestamp) -> Period {
    if time.epochSeconds < Self.startOfDay(approvedOn) { return .notYetApproved }
    if time.epochSeconds >= Self.startOfDay(expiresOn) + 86_400 { return .expired }
    return .inForce
  }

  /// Whether the exception is in force at `time` (see ``period(at:)``).
  public func isInForce(at time: Timestamp) -> Bool { period(at: time) == .inForce }

  static func startOfDay(_ t: Timestamp) -> Int64 {
    t.epochSeconds - ((t.epochSeconds % 86_400) + 86_400) % 86_400
  }

  /// Whether it covers `result` (check, principal and policy scope), whatever its expiry.
  public func matches(_ result: CheckResult) -> Bool {
    guard check == "*" || check == result.checkID else { return false }
    if let principal {
      guard let p = result.principal else { return false }
      let glob = IAMGlob(resource: principal)
      guard glob.matches(p.arn) || glob.matches(p.name) else { return false }
    }
    if let policy {
      guard let ref = result.policy else { return false }
      let glob = IAMGlob(resource: policy)
      guard glob.matches(ref.name) || (ref.arn.map(glob.matches) ?? false) else { return false }
    }
    return true
  }
}

/// The exceptions register: a JSON file of approved exceptions (format in README).
public struct ExceptionRegister: Sendable {
  public var exceptions: [PolicyException]
  /// SHA-256 of the file's exact bytes (empty register: hash of nothing).
  public var sha256: String
  /// The file's text as read, recorded with each assessment.
  public var content: String
  /// Where it came from (a path), nil for none.
  public var source: String?

  /// No exceptions.
  public static let empty = ExceptionRegister(exceptions: [], sha256: SHA256.hash(data: [UInt8]()).hexString, content: "", source: nil)

  public init(exceptions: [PolicyException], sha256: String, content: String, source: String?) {
    self.exceptions = exceptions
    self.sha256 = sha256
    self.content = content
    self.source = source
  }

  /// Reads and parses the register file at `path`.
  public static func load(path: String) throws(ExceptionRegisterError) -> ExceptionRegister {
    let bytes: SnapshotBytes
    do {
      bytes = try InputFile.read(path: path, limit: maximumBytes).bytes
    } catch {
      let reason =
        switch error {
        case .tooLarge(let limit): "the exceptions register exceeds \(IngestSource.byteCount(limit))"
        case .notARegularFile(let kind): "not a regular file (\(kind)); name the exceptions register itself"
        case .changedWhileReading: "the file changed while it was being read; read it again once nothing writes to it"
        case .cannotOpen(let reason), .readFailed(let reason): "cannot read the exceptions register: \(reason)"
        case .cannotCopy(let folder, let reason): "cannot read the exceptions register (no private copy in \(folder): \(reason))"
        }
      throw ExceptionRegisterError(file: path, path: nil, message: reason)
    }
    return try ExceptionRegister(bytes: Array(bytes.buffer), source: path)
  }

  /// The largest exceptions register read (a real one is a few KB; a bound keeps a hostile or
  /// mistaken path such as a disk image from being read into memory).
  public static let maximumBytes = 16 << 20

  /// The members a register, an exception and a scope may have; anything else is refused (a
  /// misspelt `expires_on` must not pass silently).
  static let registerFields: Set<String> = ["exceptions"]
  static let exceptionFields: Set<String> = [
    "id", "check", "scope", "scope_all", "accounts", "justification", "approved_by", "approved_on", "expires_on", "compensating_control",
    "ticket",
  ]
  static let scopeFields: Set<String> = ["principal", "policy"]

  /// Parses a register file; errors name the file and JSON path. Refused: duplicate keys anywhere,
  /// unknown fields, an empty or blank `justification` or `approved_by`, `expires_on` before
  /// `approved_on`, an exception that covers every check, principal and policy without
  /// `"scope_all": true`, and `accounts` that is not a non-empty list of distinct 12-digit ids.
  public init(bytes: [UInt8], source: String) throws(ExceptionRegisterError) {
    try self.init(bytes: bytes, source: source, strict: true)
  }

  /// Reads a register as recorded with an earlier assessment, by the rules it was accepted under:
  /// without the checks added since (duplicate keys, unknown fields, blank texts, `scope_all`), so
  /// that the report of an older assessment still lists the register that assessment applied.
  public init(recordedBytes bytes: [UInt8], source: String) throws(ExceptionRegisterError) {
    try self.init(bytes: bytes, source: source, strict: false)
  }

  init(bytes: [UInt8], source: String, strict: Bool) throws(ExceptionRegisterError) {
    do {
      try self.init(parsing: bytes, source: source, strict: strict)
    } catch {
      // The register is read with the snapshot decoder's JSON helpers; their errors are re-cast here.
      throw ExceptionRegisterError(file: error.file, path: error.path, message: error.message)
    }
  }

  private init(parsing bytes: [UInt8], source: String, strict: Bool) throws(SnapshotDecodingError) {
    let root: JSONValue
    do {
      root = try JSONParser.parse(bytes, rejectDuplicateKeys: strict)
    } catch {
      if let path = error.path {
        throw SnapshotDecodingError(file: source, path: path, message: "\(error.message) (line \(error.line), column \(error.column))")
      }
      throw SnapshotDecodingError(file: source, path: "$", message: "not valid JSON: \(error)")
    }
    let node = Node(value: root, path: "$", file: source)
    if strict { try Self.refuseUnknownFields(node, allowed: Self.registerFields) }
    var items: [PolicyException] = []
    var ids = Set<String>()
    for (item, _) in try node.optionalArray("exceptions") {
      if strict { try Self.refuseUnknownFields(item, allowed: Self.exceptionFields) } else { _ = try item.object() }
      let id = try item.requiredString("id")
      guard ids.insert(id).inserted else { throw item.error("exception id \"\(id)\" appears twice") }
      guard let scope = item.child("scope") else { throw item.error("missing scope") }
      if strict { try Self.refuseUnknownFields(scope, allowed: Self.scopeFields) } else { _ = try scope.object() }
      let principal = try scope.optionalString("principal")
      let policy = try scope.optionalString("policy")
      if principal == nil && policy == nil { throw scope.error("scope needs a principal or a policy pattern") }
      func date(_ key: String) throws(SnapshotDecodingError) -> Timestamp {
        guard let t = try item.optionalDate(key) else { throw item.error("missing \(key)") }
        return t
      }
      func text(_ key: String) throws(SnapshotDecodingError) -> String {
        let value = try item.requiredString(key)
        if strict, value.allSatisfy({ $0.isWhitespace }) { throw item.child(key)!.error("must not be empty or blank") }
        return value
      }
      let approvedOn = try date("approved_on")
      let expiresOn = try date("expires_on")
      if expiresOn < approvedOn { throw item.child("expires_on")!.error("expires before it was approved") }
      let check = try item.requiredString("check")
      if check != "*" && CheckCatalog.check(id: check) == nil {
        throw item.child("check")!.error("unknown check \"\(check)\" (see `iam-evidence checks`)")
      }
      let justification = try text("justification")
      let approvedBy = try text("approved_by")
      // Whether the exception excepts every failure of every check.
      func matchesAll(_ pattern: String?) -> Bool { pattern.map { !$0.isEmpty && $0.allSatisfy { $0 == "*" } } ?? true }
      let isScopeAll = matchesAll(check) && matchesAll(principal) && matchesAll(policy)
      let scopeAll = try item.optionalBool("scope_all")
      if strict && isScopeAll && scopeAll != true {
        throw item.error(
          "covers every check, principal and policy; an exception that broad must say \"scope_all\": true (or name what it covers)")
      }
      if strict && !isScopeAll && scopeAll == true {
        throw item.child("scope_all")!.error("is true, but check, principal or policy narrows the exception; remove scope_all")
      }
      items.append(
        PolicyException(
          id: id, check: check, principal: principal, policy: policy, justification: justification, approvedBy: approvedBy,
          approvedOn: approvedOn, expiresOn: expiresOn, compensatingControl: try item.optionalString("compensating_control"),
          ticket: try item.optionalString("ticket"), isScopeAll: isScopeAll, accounts: try Self.accounts(item)))
    }
    self.init(
      exceptions: items, sha256: SHA256.hash(data: bytes).hexString, content: String(decoding: bytes, as: UTF8.self), source: source)
  }

  /// The optional `accounts` of an exception: a non-empty array of distinct 12-digit account ids
  /// (the same rules in both reading modes: a register recorded with it was accepted under them).
  static func accounts(_ item: Node) throws(SnapshotDecodingError) -> [String]? {
    guard let list = item.child("accounts"), list.value != .null else { return nil }
    let elements = try item.optionalArray("accounts")
    if elements.isEmpty {
      throw list.error("lists no account; leave \"accounts\" out for an exception that applies in every account")
    }
    var ids: [String] = []
    for (element, _) in elements {
      guard case .string(let id) = element.value else {
        throw element.error("expected the account id as a string of 12 digits, found \(element.value.kindDescription)")
      }
      guard AccountID.isValid(id) else { throw element.error("not a 12-digit AWS account id: \"\(id.prefix(40))\"") }
      guard !ids.contains(id) else { throw element.error("account \(id) is listed twice") }
      ids.append(id)
    }
    return ids
  }

  /// Refuses a member of `node` (an object) not in `allowed`, naming its path.
  static func refuseUnknownFields(_ node: Node, allowed: Set<String>) throws(SnapshotDecodingError) {
    for (key, _) in try node.object() where !allowed.contains(key) {
      throw SnapshotDecodingError(
        file: node.file, path: node.path + "." + key,
        message: "unknown field \"\(key)\" (allowed: \(allowed.sorted().joined(separator: ", ")))")
    }
  }
}

extension PolicyException {
  /// Whether it covers `source`, one source of the failing grant of the identity result `result`
  /// (a result about a user or role and no single policy): its check is `*`, the result's check, or
  /// one of `sourceChecks` (the checks that judge such sources one policy at a time:
  /// ``CheckDescription/sourceChecks``); its policy pattern matches the source's policy name or ARN
  /// (a source is only covered by an exception that names a policy); and its principal pattern, if
  /// any, matches the result's principal or, for a source that comes through a group, the group.
  public func covers(_ source: GrantSource, of result: CheckResult, sourceChecks: [String]) -> Bool {
    guard check == "*" || check == result.checkID || sourceChecks.contains(check) else { return false }
    guard let policy, let p = result.principal, result.policy == nil else { return false }
    let policyGlob = IAMGlob(resource: policy)
    guard policyGlob.matches(source.policyName) || (source.policyARN.map(policyGlob.matches) ?? false) else { return false }
    if let principal {
      let glob = IAMGlob(resource: principal)
      guard glob.matches(p.arn) || glob.matches(p.name) || (source.viaGroup.map(glob.matches) ?? false) else { return false }
    }
    return true
  }
}

/// An exception in force that covers one source of an identity result's failing grant.
public struct SourceException: Sendable, Hashable {
  public var source: GrantSource
  public var exception: AppliedException

  public init(source: GrantSource, exception: AppliedException) {
    self.source = source
    self.exception = exception
  }
}

/// The exceptions of a register that bear on one failing result: those that match it as a whole
/// (check, principal, policy: ``PolicyException/matches(_:)``) and, for an identity result (a user or
/// role, no single policy), those that cover each source of its grant
/// (``PolicyException/covers(_:of:sourceChecks:)``).
///
/// The rule: a result is excepted when an exception in force matches it as a whole (for an identity
/// result: one that matches its principal and names no policy), or, for an identity result, when
/// every source of the failing grant is covered by an exception in force for that policy (and that
/// principal, or none). Covering some sources only excepts nothing.
public struct ExceptionCoverage: Sendable {
  /// Exceptions matching the result as a whole, by id.
  public var direct: [PolicyException]
  /// Identity results: each source of the grant with the exceptions covering it (by id); empty for
  /// other results.
  public var sources: [(source: GrantSource, exceptions: [PolicyException])]

  /// Whether every source of the grant is covered by at least one exception (in force or not).
  public var coversEverySource: Bool { !sources.isEmpty && sources.allSatisfy { !$0.exceptions.isEmpty } }

  /// Whether some, but not every, source is covered: such exceptions except nothing.
  public var coversSomeSources: Bool { sources.contains { !$0.exceptions.isEmpty } && !coversEverySource }

  /// The exceptions that would except the result if in force, by id: the direct ones and, when they
  /// cover every source, the source ones.
  public var matched: [PolicyException] {
    var seen = Set<String>()
    let all = direct + (coversEverySource ? sources.flatMap(\.exceptions) : [])
    return all.filter { seen.insert($0.id).inserted }.sorted { $0.id < $1.id }
  }

  /// What excepts the result at `time`: a direct exception in force (the first by id), else, when
  /// every source is covered by one in force, per source the one in force lasting longest, the
  /// primary being the one of them that expires first (the result is excepted until then).
  public func applied(at time: Timestamp) -> (primary: PolicyException, covering: [(GrantSource, PolicyException)])? {
    if let d = direct.first(where: { $0.isInForce(at: time) }) { return (d, []) }
    guard coversEverySource else { return nil }
    var covering: [(GrantSource, PolicyException)] = []
    for (source, list) in sources {
      let inForce = list.filter { $0.isInForce(at: time) }
      guard let best = inForce.max(by: { ($0.expiresOn, $1.id) < ($1.expiresOn, $0.id) }) else { return nil }
      covering.append((source, best))
    }
    let primary = covering.map(\.1).min { ($0.expiresOn, $0.id) < ($1.expiresOn, $1.id) }!
    return (primary, covering)
  }
}

extension ExceptionRegister {
  /// The exceptions bearing on `result` of a snapshot of `account` (see ``ExceptionCoverage``;
  /// an exception limited to other accounts bears on nothing there); `sourceChecks` are the checks
  /// judging the sources of its check's results one policy at a time (``CheckDescription/sourceChecks``).
  public func coverage(of result: CheckResult, account: String?, sourceChecks: [String] = []) -> ExceptionCoverage {
    let direct = matching(result, account: account)
    guard result.principal != nil, result.policy == nil, !result.sources.isEmpty, !exceptions.isEmpty else {
      return ExceptionCoverage(direct: direct, sources: [])
    }
    return ExceptionCoverage(
      direct: direct,
      sources: result.sources.map { source in
        (
          source,
          exceptions.filter { $0.applies(toAccount: account) && $0.covers(source, of: result, sourceChecks: sourceChecks) }.sorted {
            $0.id < $1.id
          }
        )
      })
  }

  /// The exceptions that cover `result` of a snapshot of `account` (whatever their expiry), by id:
  /// an exception limited to other accounts (``PolicyException/accounts``) does not.
  public func matching(_ result: CheckResult, account: String?) -> [PolicyException] {
    exceptions.filter { $0.applies(toAccount: account) && $0.matches(result) }.sorted { $0.id < $1.id }
  }

  /// The exceptions that cover the failing `result` of a snapshot of `account` but had all expired
  /// at `capturedAt`, by id: what the assessment notes as `exception-expired` (empty when one of them
  /// is in force, or none matches; exceptions not yet approved at `capturedAt` are not counted).
  public func expiredMatches(for result: CheckResult, account: String?, capturedAt: Timestamp) -> [PolicyException] {
    let all = matching(result, account: account)
    return all.contains { $0.isInForce(at: capturedAt) } ? [] : all.filter { $0.period(at: capturedAt) == .expired }
  }
}
