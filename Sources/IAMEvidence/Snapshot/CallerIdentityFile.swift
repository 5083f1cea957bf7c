import Crypto

extension CallerIdentity {
  /// The largest caller-identity file read: `aws sts get-caller-identity` prints about 200 bytes.
  public static let maximumBytes = 64 << 10
  /// The longest `UserId` or `Arn` accepted (AWS: ARNs up to 2,048 characters).
  public static let maximumFieldBytes = 4 << 10

  /// Reads and validates the caller-identity file at `path` (a regular file of at most
  /// ``maximumBytes``): the JSON `aws sts get-caller-identity --output json` prints.
  public static func load(path: String) throws -> CallerIdentity {
    let bytes: SnapshotBytes
    do {
      bytes = try InputFile.read(path: path, limit: maximumBytes).bytes
    } catch {
      let reason =
        switch error {
        case .tooLarge(let limit):
          "the caller-identity file exceeds \(IngestSource.byteCount(limit)) (aws sts get-caller-identity prints a few hundred bytes)"
        case .notARegularFile(let kind): "not a regular file (\(kind)); name the saved output of aws sts get-caller-identity"
        case .changedWhileReading: "the file changed while it was being read; read it again once nothing writes to it"
        case .cannotOpen(let reason), .readFailed(let reason): "cannot read the caller-identity file: \(reason)"
        case .cannotCopy(let folder, let reason): "cannot read the caller-identity file (no private copy in \(folder): \(reason))"
        }
      throw WorkflowError(path: path, message: reason)
    }
    return try CallerIdentity(bytes: withExtendedLifetime(bytes) { Array(bytes.buffer) }, source: path)
  }

  /// Parses and validates the output of `aws sts get-caller-identity --output json`: one object with
  /// exactly the strings `UserId`, `Account` (12 digits) and `Arn` (an IAM or STS ARN of that
  /// account), no member named twice and no other member. Errors name `source` and the JSON path.
  public init(bytes: [UInt8], source: String) throws(SnapshotDecodingError) {
    guard bytes.count <= Self.maximumBytes else {
      throw SnapshotDecodingError(
        file: source, path: "$", message: "the caller-identity file exceeds \(IngestSource.byteCount(Self.maximumBytes))")
    }
    let root: JSONValue
    do {
      root = try JSONParser.parse(bytes, rejectDuplicateKeys: true)
    } catch {
      if let path = error.path {
        throw SnapshotDecodingError(file: source, path: path, message: "\(error.message) (line \(error.line), column \(error.column))")
      }
      throw SnapshotDecodingError(
        file: source, path: "$", message: "not valid JSON (expected the output of aws sts get-caller-identity --output json): \(error)")
    }
    let node = Node(value: root, path: "$", file: source)
    guard case .object = root else {
      throw node.error(
        "expected a JSON object with UserId, Account and Arn (aws sts get-caller-identity --output json), found \(root.kindDescription)")
    }
    try ExceptionRegister.refuseUnknownFields(node, allowed: ["UserId", "Account", "Arn"])
    func field(_ key: String) throws(SnapshotDecodingError) -> String {
      guard let child = node.child(key) else { throw node.error("missing \(key): not the output of aws sts get-caller-identity") }
      guard case .string(let value) = child.value else {
        throw child.error("expected a string, found \(child.value.kindDescription)")
      }
      if value.isEmpty { throw child.error("must not be empty") }
      if value.utf8.count > Self.maximumFieldBytes { throw child.error("longer than \(Self.maximumFieldBytes) bytes") }
      if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
        throw child.error("holds a control character")
      }
      return value
    }
    let userID = try field("UserId")
    let account = try field("Account")
    let arn = try field("Arn")
    guard AccountID.isValid(account) else {
      throw node.child("Account")!.error("not a 12-digit AWS account id: \"\(account.prefix(40))\"")
    }
    // arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, the service iam or sts.
    let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
    guard parts.count == 6, parts[0] == "arn", !parts[1].isEmpty, parts[2] == "iam" || parts[2] == "sts", !parts[5].isEmpty else {
      throw node.child("Arn")!.error("not an IAM or STS ARN (arn:aws:iam::ACCOUNT:... or arn:aws:sts::ACCOUNT:...): \"\(arn.prefix(80))\"")
    }
    guard parts[4] == account else {
      throw node.child("Arn")!.error("names account \(parts[4].prefix(40)), not the Account \(account) of the same file")
    }
    self.init(userID: userID, account: account, arn: arn, source: source, sha256: SHA256.hash(data: bytes).hexString)
  }
}
