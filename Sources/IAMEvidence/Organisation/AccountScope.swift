/// A scope file that cannot be read or is not valid: the file, the JSON path of the offending value
/// (when there is one) and why.
public struct AccountScopeError: UserFacingError, Sendable, Equatable {
  public var file: String
  /// The JSON path, e.g. `$.accounts[2].id`; nil when the file itself is the problem.
  public var path: String?
  public var message: String

  public init(file: String, path: String?, message: String) {
    self.file = file
    self.path = path
    self.message = message
  }

  public var description: String { path.map { "\(file): \($0): \(message)" } ?? "\(file): \(message)" }
}

/// AWS account ids as the tool accepts them: exactly twelve ASCII digits.
public enum AccountID {
  /// Whether `text` is twelve ASCII digits (`Character.isNumber` would also let other scripts' digits
  /// through, which no ARN ever holds).
  public static func isValid(_ text: String) -> Bool {
    text.utf8.count == 12 && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
  }
}

/// One account of the scope file.
public struct ScopedAccount: Sendable, Hashable {
  /// The 12-digit account id.
  public var id: String
  /// A name people know the account by (`payments-prod`), shown beside the id.
  public var name: String?
  /// Who answers for the account.
  public var owner: String?

  public init(id: String, name: String? = nil, owner: String? = nil) {
    self.id = id
    self.name = name
    self.owner = owner
  }
}

/// The accounts an ISO/IEC 27001 scope covers, from the JSON file `--scope` names:
///
///     {"accounts": [{"id": "111122223333", "name": "payments-prod", "owner": "payments team"}]}
///
/// (`name` and `owner` optional). It decides completeness: an account of the scope with no snapshot
/// in a period is a coverage gap (``AccountCoverage``), and an account of the database that it does
/// not list is out of scope. The file is refused, naming the file and the JSON path, when it is not a
/// regular file, exceeds ``maximumBytes``, repeats a member name anywhere, has a field not listed
/// above, lists no account, lists an id that is not 12 ASCII digits (a JSON number is refused: it
/// would lose leading zeros) or lists one twice, or has an empty, blank or over-long name or owner.
public struct AccountScope: Sendable, Hashable {
  /// The accounts in the order the file lists them.
  public var accounts: [ScopedAccount]
  /// Where it came from (a path), for messages and reports.
  public var source: String

  /// The largest scope file read: 16 MiB (an organisation of 10,000 accounts with long names and
  /// owners takes about 2 MiB).
  public static let maximumBytes = 16 << 20
  /// The longest `name` or `owner`, in UTF-8 bytes (AWS account names have at most 50 characters).
  public static let maximumTextBytes = 1024

  static let rootFields: Set<String> = ["accounts"]
  static let accountFields: Set<String> = ["id", "name", "owner"]

  public init(accounts: [ScopedAccount], source: String) {
    self.accounts = accounts
    self.source = source
  }

  /// The account of the scope with id `id`, if it is in scope.
  public func account(_ id: String) -> ScopedAccount? { accounts.first { $0.id == id } }

  /// Whether account `id` is in scope.
  public func contains(_ id: String) -> Bool { account(id) != nil }

  /// Reads and validates the scope file at `path` (a regular file of at most ``maximumBytes``).
  public static func load(path: String) throws(AccountScopeError) -> AccountScope {
    let bytes: SnapshotBytes
    do {
      bytes = try InputFile.read(path: path, limit: maximumBytes).bytes
    } catch {
      let reason =
        switch error {
        case .cannotOpen(let reason): "cannot read the scope file: \(reason)"
        case .notARegularFile(let kind): "not a regular file (\(kind)); name the scope file itself"
        case .tooLarge(let limit): "the scope file exceeds \(IngestSource.byteCount(limit))"
        case .changedWhileReading: "the file changed while it was being read; read it again once nothing writes to it"
        case .readFailed(let reason): "cannot read the scope file: \(reason)"
        case .cannotCopy(let folder, let reason): "cannot read the scope file (no private copy in \(folder): \(reason))"
        }
      throw AccountScopeError(file: path, path: nil, message: reason)
    }
    return try AccountScope(bytes: Array(bytes.buffer), source: path)
  }

  /// Parses and validates a scope file's bytes; errors name `source` and the JSON path.
  public init(bytes: [UInt8], source: String) throws(AccountScopeError) {
    guard bytes.count <= Self.maximumBytes else {
      throw AccountScopeError(file: source, path: nil, message: "the scope file exceeds \(IngestSource.byteCount(Self.maximumBytes))")
    }
    do {
      try self.init(parsing: bytes, source: source)
    } catch {
      // Read with the snapshot decoder's JSON helpers; their errors are re-cast here.
      throw AccountScopeError(file: error.file, path: error.path, message: error.message)
    }
  }

  private init(parsing bytes: [UInt8], source: String) throws(SnapshotDecodingError) {
    let root: JSONValue
    do {
      root = try JSONParser.parse(bytes, rejectDuplicateKeys: true)
    } catch {
      if let path = error.path {
        throw SnapshotDecodingError(file: source, path: path, message: "\(error.message) (line \(error.line), column \(error.column))")
      }
      throw SnapshotDecodingError(file: source, path: "$", message: "not valid JSON: \(error)")
    }
    let node = Node(value: root, path: "$", file: source)
    try ExceptionRegister.refuseUnknownFields(node, allowed: Self.rootFields)
    guard let list = node.child("accounts"), list.value != .null else { throw node.error("missing accounts") }
    let items = try node.optionalArray("accounts")
    if items.isEmpty { throw list.error("lists no account; a scope holds at least one") }
    var accounts: [ScopedAccount] = []
    var seen: [String: String] = [:]
    for (item, _) in items {
      try ExceptionRegister.refuseUnknownFields(item, allowed: Self.accountFields)
      guard let idNode = item.child("id") else { throw item.error("missing id") }
      guard case .string(let id) = idNode.value else {
        throw idNode.error("expected the account id as a string of 12 digits, found \(idNode.value.kindDescription)")
      }
      guard AccountID.isValid(id) else { throw idNode.error("not a 12-digit AWS account id: \"\(id.prefix(40))\"") }
      if let first = seen[id] { throw idNode.error("account \(id) is listed twice (also at \(first))") }
      seen[id] = idNode.path
      func text(_ key: String) throws(SnapshotDecodingError) -> String? {
        guard let value = try item.optionalString(key) else { return nil }
        if value.allSatisfy(\.isWhitespace) { throw item.child(key)!.error("must not be empty or blank (leave it out instead)") }
        if value.utf8.count > Self.maximumTextBytes {
          throw item.child(key)!.error("longer than \(Self.maximumTextBytes) bytes")
        }
        return value
      }
      accounts.append(ScopedAccount(id: id, name: try text("name"), owner: try text("owner")))
    }
    self.init(accounts: accounts, source: source)
  }
}
