/// The streaming decoder behind ``SnapshotDecoder/decode(_:)``: one pass over the bytes, straight into
/// the model, with no tree of the whole document.
///
/// Members are read in file order and unknown ones are validated and skipped. Policy documents are
/// transcoded to canonical bytes (``CanonicalTranscoder``) and hashed as they are met, so what stays
/// in memory is the model and each document's canonical text. A member name written twice in one
/// object of the export is refused with its path; a policy document that repeats a name keeps its
/// text as written. Errors name the JSON path where they occur; a syntax error
/// is reported at the innermost member being read. Each field is bounded by ``SnapshotLimits``.
struct SnapshotStream {
  private var cursor: JSONParser.Cursor
  private let file: String
  /// The JSON path being read, for errors.
  private var path: [PathPart] = []
  /// Reused for every policy document.
  private var transcoder: CanonicalTranscoder
  /// Told every few MB how far the decoder has read (earlier bytes are not read again).
  private let consumed: ((Int) -> Void)?
  private var reported = 0
  /// One instance of each attached-policy ARN and name and group name: they repeat across thousands
  /// of principals, and a separate copy for each costs megabytes in a large account.
  private var internTable: [String: String] = [:]
  /// The member names of the objects being read, innermost last (``object(_:)`` checks a new name
  /// against its own object's; one buffer for all, so reading an object allocates nothing for it).
  private var memberNames: [String] = []

  private enum PathPart {
    case key(String)
    case index(Int)
  }

  init(_ bytes: UnsafeBufferPointer<UInt8>, file: String, consumed: ((Int) -> Void)?) {
    cursor = JSONParser.Cursor(bytes)
    transcoder = CanonicalTranscoder(bytes)
    transcoder.maxOutput = SnapshotLimits.Field.document.bytes
    self.file = file
    self.consumed = consumed
  }

  // MARK: Errors and paths

  private var pathString: String {
    var s = "$"
    for p in path {
      switch p {
      case .key(let k): s += "." + k
      case .index(let i): s += "[\(i)]"
      }
    }
    return s
  }

  private func error(_ message: String) -> SnapshotDecodingError {
    SnapshotDecodingError(file: file, path: pathString, message: message)
  }

  private func syntax(_ e: JSONSyntaxError) -> SnapshotDecodingError { error("not valid JSON: \(e)") }

  /// The one shared instance of `s` (see `internTable`).
  private mutating func intern(_ s: String) -> String {
    if let existing = internTable[s] { return existing }
    internTable[s] = s
    return s
  }

  // MARK: Tokens

  /// The kind of the value at the cursor, in the words of ``JSONValue/kindDescription``.
  private mutating func kind() throws(SnapshotDecodingError) -> String {
    cursor.skipWhitespace()
    guard cursor.index < cursor.bytes.count else { throw syntax(cursor.error("unexpected end of input (truncated JSON?)")) }
    switch cursor.bytes[cursor.index] {
    case UInt8(ascii: "{"): return "an object"
    case UInt8(ascii: "["): return "an array"
    case UInt8(ascii: "\""): return "a string"
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return "a number"
    case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
    case UInt8(ascii: "n"): return "null"
    default:
      throw syntax(cursor.error("unexpected character \(cursor.describe(cursor.bytes[cursor.index])), expected a JSON value"))
    }
  }

  private mutating func peek(_ byte: UInt8) throws(SnapshotDecodingError) -> Bool {
    cursor.skipWhitespace()
    guard cursor.index < cursor.bytes.count else { throw syntax(cursor.error("unexpected end of input (truncated JSON?)")) }
    return cursor.bytes[cursor.index] == byte
  }

  /// Consumes `null` if that is what comes next.
  private mutating func null() throws(SnapshotDecodingError) -> Bool {
    guard try peek(UInt8(ascii: "n")) else { return false }
    do { try cursor.literal("null") } catch { throw syntax(error) }
    return true
  }

  /// Validates and skips the value of a member not read. Its name is left out of the path of any
  /// syntax error in it (a name not recognised may hold any characters); the line and column say where.
  /// A member name repeated inside it is refused too (see ``object(_:)``).
  private mutating func skipValue() throws(SnapshotDecodingError) {
    let name = path.popLast()
    defer { if let name { path.append(name) } }
    cursor.skipWhitespace()
    cursor.tracksPaths = true
    cursor.path.removeAll(keepingCapacity: true)
    defer { cursor.tracksPaths = false }
    do { _ = try cursor.parseValue() } catch {
      // Only a repeated name carries a path. The path inside the skipped value is not shown (the
      // names in it may hold any characters; the line and column say where), nor the member's own
      // name unless it is a plain word.
      guard error.path != nil else { throw syntax(error) }
      var at = pathString
      if case .key(let k) = name, Self.isPlainWord(k) { at += "." + k }
      throw SnapshotDecodingError(
        file: file, path: at,
        message: "a member name appears twice inside a member this tool does not read (\(error)): " + Self.repeatedMemberRule)
    }
  }

  /// Why a repeated member name in the export is refused.
  static let repeatedMemberRule =
    "an object of the export may name a member only once (readers disagree on which value counts, so one would be dropped silently)"

  /// Reads an object, calling `body` with the stream and each member's name (on the path while `body`
  /// reads its value; `body` must read or skip it). A name the object already holds is refused with
  /// its path: the export's own structure is read by name, and keeping either value would drop the
  /// other silently (policy documents, which are not read here, keep their text instead).
  private mutating func object(_ body: (inout SnapshotStream, String) throws(SnapshotDecodingError) -> Void)
    throws(SnapshotDecodingError)
  {
    try beginObject()
    var count = 0
    // The names seen so far: a few, compared in turn (kept in `memberNames` from `first`); a set once
    // the object is large, so a hostile object of many members costs linear time.
    let first = memberNames.count
    defer { memberNames.removeSubrange(first...) }
    var nameSet = Set<String>()
    while let key = try nextKey(&count) {
      let repeated: Bool
      if count <= 16 {
        repeated = memberNames[first...].contains(key)
        memberNames.append(key)
        if count == 16 { nameSet = Set(memberNames[first...]) }
      } else {
        repeated = !nameSet.insert(key).inserted
      }
      if repeated { throw repeatedMember(key) }
      path.append(.key(key))
      try body(&self, key)
      path.removeLast()
    }
  }

  /// Whether a member name is ASCII letters only (every name this tool reads is), so that it can
  /// stand in an error's path.
  static func isPlainWord(_ key: String) -> Bool {
    !key.isEmpty && key.utf8.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }
  }

  /// The error for member `key` named a second time in the object being read: at the member's path
  /// when its name is a plain word (as every name this tool reads is), else at the object's.
  private func repeatedMember(_ key: String) -> SnapshotDecodingError {
    let at = Self.isPlainWord(key) ? pathString + "." + key : pathString
    return SnapshotDecodingError(
      file: file, path: at, message: "member \(JSONWriter.quoted(key)) appears twice: " + Self.repeatedMemberRule)
  }

  /// Consumes `{`, or throws "expected an object".
  private mutating func beginObject() throws(SnapshotDecodingError) {
    guard try peek(UInt8(ascii: "{")) else { throw error("expected an object, found \(try kind())") }
    do { try cursor.enter() } catch { throw syntax(error) }
    cursor.index += 1
  }

  /// The next member name of the object being read (its value follows), or nil after its `}`.
  private mutating func nextKey(_ count: inout Int) throws(SnapshotDecodingError) -> String? {
    var keyTooLong = false
    do throws(JSONSyntaxError) {
      cursor.skipWhitespace()
      guard cursor.index < cursor.bytes.count else {
        throw cursor.error("unexpected end of input inside an object (truncated JSON?)")
      }
      if count == 0, cursor.bytes[cursor.index] == UInt8(ascii: "}") {
        cursor.index += 1
        cursor.depth -= 1
        return nil
      }
      if count > 0 {
        switch cursor.bytes[cursor.index] {
        case UInt8(ascii: ","):
          cursor.index += 1
          cursor.skipWhitespace()
        case UInt8(ascii: "}"):
          cursor.index += 1
          cursor.depth -= 1
          return nil
        default: throw cursor.error("expected ',' or '}' in an object, found \(cursor.describe(cursor.bytes[cursor.index]))")
        }
      }
      guard cursor.index < cursor.bytes.count else {
        throw cursor.error("unexpected end of input inside an object (truncated JSON?)")
      }
      guard cursor.bytes[cursor.index] == UInt8(ascii: "\"") else {
        throw cursor.error("expected a member name in quotes, found \(cursor.describe(cursor.bytes[cursor.index]))")
      }
      guard let key = try cursor.parseString(maxBytes: SnapshotLimits.Field.identifier.bytes) else {
        keyTooLong = true
        throw cursor.error("member name too long")
      }
      cursor.skipWhitespace()
      guard cursor.index < cursor.bytes.count else {
        throw cursor.error("unexpected end of input inside an object (truncated JSON?)")
      }
      guard cursor.bytes[cursor.index] == UInt8(ascii: ":") else { throw cursor.error("expected ':' after member name") }
      cursor.index += 1
      count += 1
      return key
    } catch {
      if keyTooLong { throw self.error("a member name is " + SnapshotLimits.Field.identifier.refusal) }
      throw syntax(error)
    }
  }

  /// Reads an array (null counts as empty), calling `element` with each index and the element on the path.
  private mutating func array(_ element: (inout SnapshotStream, Int) throws(SnapshotDecodingError) -> Void)
    throws(SnapshotDecodingError)
  {
    if try null() { return }
    guard try peek(UInt8(ascii: "[")) else { throw error("expected an array, found \(try kind())") }
    do { try cursor.enter() } catch { throw syntax(error) }
    cursor.index += 1
    var index = 0
    elements: while true {
      cursor.skipWhitespace()
      guard cursor.index < cursor.bytes.count else {
        throw syntax(cursor.error("unexpected end of input inside an array (truncated JSON?)"))
      }
      let b = cursor.bytes[cursor.index]
      if index == 0 {
        if b == UInt8(ascii: "]") { break elements }
      } else if b == UInt8(ascii: "]") {
        break elements
      } else if b == UInt8(ascii: ",") {
        cursor.index += 1
        cursor.skipWhitespace()
      } else {
        throw syntax(cursor.error("expected ',' or ']' in an array, found \(cursor.describe(b))"))
      }
      path.append(.index(index))
      try element(&self, index)
      path.removeLast()
      index += 1
      if let consumed, cursor.index - reported >= 4 << 20 {
        reported = cursor.index
        consumed(reported)
      }
    }
    cursor.index += 1
    cursor.depth -= 1
  }

  /// A string of at most `limit` bytes (UTF-8); a longer one is refused without being copied.
  private mutating func string(_ limit: SnapshotLimits.Field = .identifier) throws(SnapshotDecodingError) -> String {
    guard try peek(UInt8(ascii: "\"")) else { throw error("expected a string, found \(try kind())") }
    let result: String?
    do { result = try cursor.parseString(maxBytes: limit.bytes) } catch { throw syntax(error) }
    guard let result else { throw error(limit.refusal) }
    return result
  }

  private mutating func optionalString(_ limit: SnapshotLimits.Field = .identifier) throws(SnapshotDecodingError) -> String? {
    try null() ? nil : try string(limit)
  }

  private mutating func optionalBool() throws(SnapshotDecodingError) -> Bool? {
    if try null() { return nil }
    for (word, value): (StaticString, Bool) in [("true", true), ("false", false)]
    where try peek(value ? UInt8(ascii: "t") : UInt8(ascii: "f")) {
      do { try cursor.literal(word) } catch { throw syntax(error) }
      return value
    }
    throw error("expected true or false, found \(try kind())")
  }

  private mutating func optionalInt() throws(SnapshotDecodingError) -> Int? {
    if try null() { return nil }
    let found = try kind()
    guard found == "a number" else { throw error("expected an integer, found \(found)") }
    let range: Range<Int>
    do { range = try cursor.scanNumber() } catch { throw syntax(error) }
    guard let i = Int(String(decoding: UnsafeBufferPointer(rebasing: cursor.bytes[range]), as: UTF8.self)) else {
      throw error("expected an integer, found a number")
    }
    return i
  }

  private mutating func optionalDate() throws(SnapshotDecodingError) -> Timestamp? {
    guard let s = try optionalString() else { return nil }
    guard let t = Timestamp(parsing: s) else { throw error("not a valid date: \"\(s)\"") }
    return t
  }

  // MARK: The document

  /// Decodes the whole snapshot.
  mutating func snapshot() throws(SnapshotDecodingError) -> AuthorizationSnapshot {
    let bytes = cursor.bytes
    if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { cursor.index = 3 }
    cursor.skipWhitespace()
    if cursor.index >= bytes.count { throw syntax(cursor.error("empty input, expected a JSON value")) }
    var users: [Principal] = []
    var groups: [Principal] = []
    var roles: [Principal] = []
    var policies: [ManagedPolicy] = []
    var policyPaths: [String] = []
    var truncated: Bool?
    var marker: String?
    try object { (s, key) throws(SnapshotDecodingError) in
      switch key {
      case "UserDetailList":
        users = []
        try s.array { (s, _) throws(SnapshotDecodingError) in users.append(try s.principal(.user)) }
      case "GroupDetailList":
        groups = []
        try s.array { (s, _) throws(SnapshotDecodingError) in groups.append(try s.principal(.group)) }
      case "RoleDetailList":
        roles = []
        try s.array { (s, _) throws(SnapshotDecodingError) in roles.append(try s.principal(.role)) }
      case "Policies":
        policies = []
        policyPaths = []
        try s.array { (s, _) throws(SnapshotDecodingError) in
          policyPaths.append(s.pathString)
          policies.append(try s.managedPolicy())
        }
      case "IsTruncated": truncated = try s.optionalBool()
      case "Marker": marker = try s.optionalString()
      default: try s.skipValue()
      }
    }
    cursor.skipWhitespace()
    if cursor.index < bytes.count { throw syntax(cursor.error("unexpected data after the JSON value")) }
    consumed?(bytes.count)

    var seenPolicies: [String: Int] = [:]
    for (i, p) in policies.enumerated() {
      if let earlier = seenPolicies[p.arn] {
        throw SnapshotDecodingError(
          file: file, path: policyPaths[i], message: "policy \(p.arn) appears twice (first at \(policyPaths[earlier]))")
      }
      seenPolicies[p.arn] = i
    }
    for (list, items) in [("UserDetailList", users), ("GroupDetailList", groups), ("RoleDetailList", roles)] {
      var seen: [String: Int] = [:]
      for (i, p) in items.enumerated() {
        if let earlier = seen[p.arn] {
          throw SnapshotDecodingError(
            file: file, path: "$.\(list)[\(i)]",
            message: "\(p.type.rawValue) \(p.arn) appears twice (first at $.\(list)[\(earlier)])")
        }
        seen[p.arn] = i
      }
    }
    return AuthorizationSnapshot(
      principals: users + groups + roles, managedPolicies: policies, isTruncated: truncated ?? false, marker: marker)
  }

  // MARK: Principals

  private mutating func principal(_ type: PrincipalType) throws(SnapshotDecodingError) -> Principal {
    let (idKey, nameKey, policiesKey) =
      switch type {
      case .user: ("UserId", "UserName", "UserPolicyList")
      case .group: ("GroupId", "GroupName", "GroupPolicyList")
      case .role: ("RoleId", "RoleName", "RolePolicyList")
      }
    var id: String?
    var name: String?
    var arn: String?
    var p = Principal(type: type, id: "", name: "", arn: "")
    try object { (s, key) throws(SnapshotDecodingError) in
      switch key {
      case idKey: id = try s.string()
      case nameKey: name = try s.string()
      case "Arn": arn = try s.string()
      case "Path": p.path = try s.optionalString()
      case "CreateDate": p.createDate = try s.optionalDate()
      case policiesKey: p.inlinePolicies = try s.inlinePolicies()
      case "AttachedManagedPolicies": p.attachedPolicies = try s.attached()
      case "GroupList" where type == .user:
        p.groups = []
        try s.array { (s, _) throws(SnapshotDecodingError) in p.groups.append(s.intern(try s.string())) }
      case "PermissionsBoundary" where type != .group: p.permissionsBoundary = try s.boundary()
      case "Tags" where type != .group: p.tags = try s.tags()
      case "AssumeRolePolicyDocument" where type == .role:
        p.trustPolicy = try s.null() ? nil : try s.document().0
      case "InstanceProfileList" where type == .role:
        p.instanceProfiles = []
        try s.array { (s, _) throws(SnapshotDecodingError) in p.instanceProfiles.append(try s.instanceProfile()) }
      case "RoleLastUsed" where type == .role:
        (p.roleLastUsedDate, p.roleLastUsedRegion) = (nil, nil)
        if try s.null() { return }
        try s.object { (s, key) throws(SnapshotDecodingError) in
          switch key {
          case "LastUsedDate": p.roleLastUsedDate = try s.optionalDate()
          case "Region": p.roleLastUsedRegion = try s.optionalString()
          default: try s.skipValue()
          }
        }
      default: try s.skipValue()
      }
    }
    guard let id else { throw error("missing \(idKey)") }
    guard let name else { throw error("missing \(nameKey)") }
    guard let arn else { throw error("missing Arn") }
    (p.id, p.name, p.arn) = (id, name, arn)
    return p
  }

  private mutating func instanceProfile() throws(SnapshotDecodingError) -> InstanceProfile {
    var name: String?
    var id: String?
    var arn: String?
    try object { (s, key) throws(SnapshotDecodingError) in
      switch key {
      case "InstanceProfileName": name = try s.string()
      case "InstanceProfileId": id = try s.optionalString()
      case "Arn": arn = try s.optionalString()
      default: try s.skipValue()
      }
    }
    guard let name else { throw error("missing InstanceProfileName") }
    return InstanceProfile(name: name, id: id, arn: arn)
  }

  private mutating func inlinePolicies() throws(SnapshotDecodingError) -> [InlinePolicy] {
    var result: [InlinePolicy] = []
    var names = Set<String>()
    try array { (s, _) throws(SnapshotDecodingError) in
      var name: String?
      var document: (PolicyDocumentText, DocumentEncoding)?
      try s.object { (s, key) throws(SnapshotDecodingError) in
        switch key {
        case "PolicyName": name = try s.string()
        case "PolicyDocument": document = try s.document()
        default: try s.skipValue()
        }
      }
      guard let name else { throw s.error("missing PolicyName") }
      guard names.insert(name).inserted else { throw s.error("inline policy name \"\(name)\" appears twice") }
      guard let document else { throw s.error("missing PolicyDocument") }
      result.append(InlinePolicy(name: name, document: document.0, encoding: document.1))
    }
    return result
  }

  private mutating func attached() throws(SnapshotDecodingError) -> [AttachedPolicy] {
    var result: [AttachedPolicy] = []
    try array { (s, _) throws(SnapshotDecodingError) in
      var name: String?
      var arn: String?
      try s.object { (s, key) throws(SnapshotDecodingError) in
        switch key {
        case "PolicyArn": arn = s.intern(try s.string())
        case "PolicyName": name = try s.optionalString().map { s.intern($0) }
        default: try s.skipValue()
        }
      }
      guard let arn else { throw s.error("missing PolicyArn") }
      result.append(AttachedPolicy(name: name ?? ARN.resourceName(of: arn), arn: arn))
    }
    return result
  }

  private mutating func boundary() throws(SnapshotDecodingError) -> PermissionsBoundary? {
    if try null() { return nil }
    var type: String?
    var typeError: SnapshotDecodingError?
    var arn: String??
    try object { (s, key) throws(SnapshotDecodingError) in
      switch key {
      case "PermissionsBoundaryType":
        // A boundary without an ARN is ignored whole: a malformed type only counts once the ARN is
        // known to be there.
        (type, typeError) = (nil, nil)
        do throws(SnapshotDecodingError) { type = try s.optionalString() } catch {
          typeError = error
          try s.skipValue()
        }
      case "PermissionsBoundaryArn":
        // Present but null is an error (absent means no boundary).
        arn = .some(try s.string())
      default: try s.skipValue()
      }
    }
    guard let arn, let arn else { return nil }
    if let typeError { throw typeError }
    return PermissionsBoundary(type: type, arn: arn)
  }

  private mutating func tags() throws(SnapshotDecodingError) -> [Tag] {
    var result: [Tag] = []
    try array { (s, _) throws(SnapshotDecodingError) in
      var key: String?
      var value: String?
      try s.object { (s, k) throws(SnapshotDecodingError) in
        switch k {
        case "Key": key = try s.string()
        case "Value": value = try s.optionalString(.text)
        default: try s.skipValue()
        }
      }
      guard let key else { throw s.error("missing Key") }
      result.append(Tag(key: key, value: value ?? ""))
    }
    return result
  }

  // MARK: Managed policies

  private mutating func managedPolicy() throws(SnapshotDecodingError) -> ManagedPolicy {
    var arn: String?
    var m = ManagedPolicy(arn: "", name: "", versions: [])
    var name: String?
    try object { (s, key) throws(SnapshotDecodingError) in
      switch key {
      case "Arn": arn = try s.string()
      case "PolicyName": name = try s.optionalString()
      case "PolicyId": m.id = try s.optionalString()
      case "Path": m.path = try s.optionalString()
      case "DefaultVersionId": m.defaultVersionId = try s.optionalString()
      case "AttachmentCount": m.attachmentCount = try s.optionalInt()
      case "PermissionsBoundaryUsageCount": m.permissionsBoundaryUsageCount = try s.optionalInt()
      case "IsAttachable": m.isAttachable = try s.optionalBool()
      case "Description": m.description = try s.optionalString(.text)
      case "CreateDate": m.createDate = try s.optionalDate()
      case "UpdateDate": m.updateDate = try s.optionalDate()
      case "PolicyVersionList":
        m.versions = []
        try s.array { (s, _) throws(SnapshotDecodingError) in m.versions.append(try s.policyVersion()) }
      default: try s.skipValue()
      }
    }
    guard let arn else { throw error("missing Arn") }
    m.arn = arn
    // Some producers omit PolicyName/PolicyId: the name is the last segment of the ARN.
    m.name = name ?? ARN.resourceName(of: arn)
    return m
  }

  private mutating func policyVersion() throws(SnapshotDecodingError) -> PolicyVersion {
    var versionId: String?
    var isDefault: Bool?
    var createDate: Timestamp?
    var document: (PolicyDocumentText, DocumentEncoding)?
    try object { (s, key) throws(SnapshotDecodingError) in
      switch key {
      case "VersionId": versionId = try s.string()
      case "IsDefaultVersion": isDefault = try s.optionalBool()
      case "CreateDate": createDate = try s.optionalDate()
      case "Document": document = try s.document()
      default: try s.skipValue()
      }
    }
    guard let document else { throw error("missing Document") }
    guard let versionId else { throw error("missing VersionId") }
    return PolicyVersion(
      versionId: versionId, isDefault: isDefault ?? false, createDate: createDate, document: document.0, encoding: document.1)
  }

  // MARK: Policy documents

  /// A policy document: a JSON object (CLI), or a string holding percent-encoded JSON (raw API) or
  /// plain JSON text. Transcoded to canonical bytes and hashed here; a document in which some object
  /// names a member twice keeps its text as written instead (the JSON object's bytes in the file, the
  /// string's JSON text, the percent-decoded JSON text), since canonical JSON would keep only one of
  /// the values (see ``PolicyDocumentText``).
  private mutating func document() throws(SnapshotDecodingError) -> (PolicyDocumentText, DocumentEncoding) {
    if try peek(UInt8(ascii: "{")) {
      let start = cursor.index
      transcoder.out.removeAll(keepingCapacity: true)
      transcoder.cursor.index = cursor.index
      do { try transcoder.value() } catch {
        if transcoder.exceededLimit { throw self.error(SnapshotLimits.Field.document.refusal) }
        throw syntax(error)
      }
      cursor.index = transcoder.cursor.index
      if transcoder.foundDuplicateKey {
        return (try verbatim(Array(UnsafeBufferPointer(rebasing: cursor.bytes[start..<cursor.index]))), .object)
      }
      return (PolicyDocumentText(canonicalBytes: transcoder.out), .object)
    }
    guard try peek(UInt8(ascii: "\"")) else {
      throw error("expected a policy document (an object or a percent-encoded JSON string), found \(try kind())")
    }
    let s = try string(.encodedDocument)
    let trimmed = s.utf8.drop(while: { $0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D })
    if trimmed.first == UInt8(ascii: "{") {
      let text = Array(s.utf8)
      switch Self.transcodeObject(text) {
      case .some(.some((let canonical, false))): return (PolicyDocumentText(canonicalBytes: canonical), .jsonString)
      case .some(.some((_, true))): return (try verbatim(text), .jsonString)
      case .some(.none): throw error(SnapshotLimits.Field.document.refusal)
      case .none: throw error("not a valid JSON policy document")
      }
    }
    guard let decoded = PercentEncoding.decodeBytes(s), String(validating: decoded, as: UTF8.self) != nil else {
      throw error("not valid percent-encoded JSON (bad %-escape or not UTF-8)")
    }
    let result: (first: UInt8, bytes: [UInt8], duplicate: Bool)?
    do {
      result = try decoded.withUnsafeBufferPointer { buffer throws(JSONSyntaxError) in
        var t = CanonicalTranscoder(buffer)
        t.maxOutput = SnapshotLimits.Field.document.bytes
        do throws(JSONSyntaxError) {
          let first = try t.document()
          return (first, t.out, t.foundDuplicateKey)
        } catch {
          if t.exceededLimit { return nil }
          throw error
        }
      }
    } catch {
      throw self.error("not valid percent-encoded JSON (\(error.message))")
    }
    guard let result else { throw self.error(SnapshotLimits.Field.document.refusal) }
    guard result.first == UInt8(ascii: "{") else {
      let kind =
        switch result.first {
        case UInt8(ascii: "["): "an array"
        case UInt8(ascii: "\""): "a string"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): "a boolean"
        case UInt8(ascii: "n"): "null"
        default: "a number"
        }
      throw error("percent-encoded document is \(kind), expected an object")
    }
    if result.duplicate {
      return (try verbatim(decoded), .percentEncoded)
    }
    return (PolicyDocumentText(canonicalBytes: result.bytes), .percentEncoded)
  }

  /// The document whose text as written is `text` (it names some member twice), bounded like a
  /// canonical document.
  private func verbatim(_ text: [UInt8]) throws(SnapshotDecodingError) -> PolicyDocumentText {
    guard text.count <= SnapshotLimits.Field.document.bytes else {
      throw error(
        "policy document with a repeated member name longer than 1 MiB as written, the limit (such a document is stored as written; AWS allows at most 10,240 characters for a policy document)"
      )
    }
    return PolicyDocumentText(canonicalBytes: text)
  }

  /// The canonical bytes of `text` if it is one JSON object (and whether it names a member twice, the
  /// bytes then keeping only the last), `.some(nil)` if it is longer than a policy document may be,
  /// nil if it is not one JSON object.
  private static func transcodeObject(_ text: [UInt8]) -> ([UInt8], Bool)?? {
    text.withUnsafeBufferPointer { buffer -> ([UInt8], Bool)?? in
      var t = CanonicalTranscoder(buffer)
      t.maxOutput = SnapshotLimits.Field.document.bytes
      guard let first = try? t.document() else { return t.exceededLimit ? .some(nil) : nil }
      guard first == UInt8(ascii: "{") else { return nil }
      return .some((t.out, t.foundDuplicateKey))
    }
  }
}
