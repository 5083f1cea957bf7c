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
  public var approvedOn: Timestamp
  /// Last day the exception is in force (inclusive, UTC).
  public var expiresOn: Timestamp
  public var compensatingControl: String?
  public var ticket: String?

  /// The `YYYY-MM-DD` of the last day in force.
  public var expiresOnDate: String { expiresOn.dateString }

  /// Whether the exception is in force at `time` (through the end of its expiry day, UTC, whatever
  /// time of day `expires_on` names).
  public func isInForce(at time: Timestamp) -> Bool {
    let day = expiresOn.epochSeconds - ((expiresOn.epochSeconds % 86_400) + 86_400) % 86_400
    return time.epochSeconds < day + 86_400
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
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ExceptionRegisterError(file: path, path: nil, message: "cannot read the exceptions register")
    }
    return try ExceptionRegister(bytes: [UInt8](data), source: path)
  }

  /// Parses a register file; errors name the file and JSON path.
  public init(bytes: [UInt8], source: String) throws(ExceptionRegisterError) {
    do {
      try self.init(parsing: bytes, source: source)
    } catch {
      // The register is read with the snapshot decoder's JSON helpers; their errors are re-cast here.
      throw ExceptionRegisterError(file: error.file, path: error.path, message: error.message)
    }
  }

  private init(parsing bytes: [UInt8], source: String) throws(SnapshotDecodingError) {
    let root: JSONValue
    do {
      root = try JSONParser.parse(bytes)
    } catch {
      throw SnapshotDecodingError(file: source, path: "$", message: "not valid JSON: \(error)")
    }
    let node = Node(value: root, path: "$", file: source)
    _ = try node.object()
    var items: [PolicyException] = []
    var ids = Set<String>()
    for (item, _) in try node.optionalArray("exceptions") {
      _ = try item.object()
      let id = try item.requiredString("id")
      guard ids.insert(id).inserted else { throw item.error("exception id \"\(id)\" appears twice") }
      guard let scope = item.child("scope") else { throw item.error("missing scope") }
      _ = try scope.object()
      let principal = try scope.optionalString("principal")
      let policy = try scope.optionalString("policy")
      if principal == nil && policy == nil { throw scope.error("scope needs a principal or a policy pattern") }
      func date(_ key: String) throws(SnapshotDecodingError) -> Timestamp {
        guard let t = try item.optionalDate(key) else { throw item.error("missing \(key)") }
        return t
      }
      let approvedOn = try date("approved_on")
      let expiresOn = try date("expires_on")
      if expiresOn < approvedOn { throw item.child("expires_on")!.error("expires before it was approved") }
      let check = try item.requiredString("check")
      if check != "*" && CheckCatalog.check(id: check) == nil {
        throw item.child("check")!.error("unknown check \"\(check)\" (see `iam-evidence checks`)")
      }
      items.append(
        PolicyException(
          id: id, check: check, principal: principal, policy: policy, justification: try item.requiredString("justification"),
          approvedBy: try item.requiredString("approved_by"), approvedOn: approvedOn, expiresOn: expiresOn,
          compensatingControl: try item.optionalString("compensating_control"), ticket: try item.optionalString("ticket")))
    }
    self.init(
      exceptions: items, sha256: SHA256.hash(data: bytes).hexString, content: String(decoding: bytes, as: UTF8.self), source: source)
  }
}

extension ExceptionRegister {
  /// The exceptions that cover `result` (whatever their expiry), by id.
  public func matching(_ result: CheckResult) -> [PolicyException] {
    exceptions.filter { $0.matches(result) }.sorted { $0.id < $1.id }
  }

  /// The exceptions that cover the failing `result` but had all expired at `capturedAt`, by id: what
  /// the assessment notes as `exception-expired` (empty when one of them is in force, or none matches).
  public func expiredMatches(for result: CheckResult, capturedAt: Timestamp) -> [PolicyException] {
    let all = matching(result)
    return all.contains { $0.isInForce(at: capturedAt) } ? [] : all
  }
}
