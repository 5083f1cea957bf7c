import Crypto

/// How a policy document was written in the snapshot.
public enum DocumentEncoding: String, Sendable, Codable {
  /// A JSON object, as the AWS CLI and boto3 print it.
  case object
  /// An RFC 3986 percent-encoded JSON string, as the raw IAM API returns it.
  case percentEncoded = "percent-encoded"
  /// A plain (not percent-encoded) JSON string.
  case jsonString = "json-string"
}

/// A policy document's text, identified by its SHA-256: the canonical JSON of the document, or, for a
/// document in which some object names a member twice, the text exactly as written.
///
/// Only the text is kept for documents decoded from a snapshot or read from the store; ``json``
/// parses it when asked. A 100 MB export holds tens of MB of documents, and their trees would be
/// several times that.
///
/// A repeated member (`"Action":"kms:*","Action":"ecr:GetObject"`) has no canonical form that keeps
/// both values: canonical JSON keeps one, and IAM's own reading of such a document is not something
/// evidence can rely on. Such a document keeps its text as written (``hasDuplicateKey``), its hash is
/// that of the text, and every check on it reports an error (``PolicyDocument/parse(_:)`` refuses it
/// with ``PolicyGrammarError/Kind/duplicateKey``), never a verdict computed from one of the values.
public struct PolicyDocumentText: Sendable, Hashable {
  /// Canonical JSON (sorted keys, no insignificant whitespace); for a document with a repeated
  /// member name, the text as written (see ``hasDuplicateKey``).
  public var canonical: String
  /// Lower-case hex SHA-256 of `canonical`'s UTF-8 bytes.
  public var sha256: String
  /// The tree, when the document was built from one.
  private var tree: JSONValue?
  /// Set by ``droppingText()``: reading ``json`` then is a bug (it would read as `null`).
  private var textDropped = false

  /// The parsed document (from the tree it was built from, else parsed from ``canonical``, repeated
  /// members included; a text that no longer parses, as in a damaged database, gives `null`, which
  /// every check reports as an invalid document).
  public var json: JSONValue {
    if let tree { return tree }
    assert(!textDropped, "the text of document \(sha256) was dropped")
    return (try? JSONParser.parse(canonical)) ?? .null
  }

  /// Whether some object of the document names a member twice, at any depth: ``canonical`` is then
  /// the text as written. Re-detected from the text on each call (the text alone decides it, so a
  /// document read back from the store is recognised as such), by the rule of
  /// ``JSONParser/parse(_:rejectDuplicateKeys:)``.
  public var hasDuplicateKey: Bool { !json.duplicateKeys(limit: 1).isEmpty }

  /// The document of a tree: its canonical text, or, when the tree repeats a member name (which
  /// canonical JSON cannot hold), the tree written compactly in its own member order, repeats kept.
  public init(json: JSONValue) {
    self.tree = json
    let bytes = json.duplicateKeys(limit: 1).isEmpty ? JSONWriter.canonicalBytes(json) : JSONWriter.compactBytes(json)
    self.canonical = String(decoding: bytes, as: UTF8.self)
    self.sha256 = SHA256.hash(data: bytes).hexString
  }

  /// A document from bytes that are already canonical (``CanonicalTranscoder`` output), or from the
  /// text as written of a document with a repeated member name (the decoder's choice).
  init(canonicalBytes bytes: [UInt8]) {
    self.tree = nil
    self.canonical = String(decoding: bytes, as: UTF8.self)
    self.sha256 = SHA256.hash(data: bytes).hexString
  }

  /// This document without its canonical text (its hash stays): see
  /// ``AuthorizationSnapshot/keepingDocumentTexts(of:)``.
  func droppingText() -> PolicyDocumentText {
    var d = PolicyDocumentText(storedCanonical: "", sha256: sha256)
    d.textDropped = true
    return d
  }

  /// A document read back from the store: its text (canonical, or as written when it repeats a
  /// member name) and hash are already known.
  init(storedCanonical: String, sha256: String) {
    self.tree = nil
    self.canonical = storedCanonical
    self.sha256 = sha256
  }

  public static func == (a: PolicyDocumentText, b: PolicyDocumentText) -> Bool { a.sha256 == b.sha256 }
  public func hash(into hasher: inout Hasher) { hasher.combine(sha256) }
}

/// An inline policy embedded in a user, group or role. It has no id of its own: it is identified by
/// its principal's id and its name.
public struct InlinePolicy: Sendable, Hashable {
  public var name: String
  public var document: PolicyDocumentText
  public var encoding: DocumentEncoding

  public init(name: String, document: PolicyDocumentText, encoding: DocumentEncoding = .object) {
    self.name = name
    self.document = document
    self.encoding = encoding
  }
}

/// A managed policy attached to a principal (by ARN).
public struct AttachedPolicy: Sendable, Hashable {
  public var name: String
  public var arn: String
  public init(name: String, arn: String) {
    self.name = name
    self.arn = arn
  }
}

/// A principal's permissions boundary.
public struct PermissionsBoundary: Sendable, Hashable {
  public var type: String?
  public var arn: String
  public init(type: String?, arn: String) {
    self.type = type
    self.arn = arn
  }
}

/// A key/value tag.
public struct Tag: Sendable, Hashable {
  public var key: String
  public var value: String
  public init(key: String, value: String) {
    self.key = key
    self.value = value
  }
}

/// The kind of IAM identity.
public enum PrincipalType: String, Sendable, Codable, CaseIterable, Comparable {
  case user, group, role

  public static func < (a: PrincipalType, b: PrincipalType) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }
}

/// An instance profile a role belongs to.
public struct InstanceProfile: Sendable, Hashable {
  public var name: String
  public var id: String?
  public var arn: String?
  public init(name: String, id: String?, arn: String?) {
    self.name = name
    self.id = id
    self.arn = arn
  }
}

/// A user, group or role with everything the snapshot says about it.
public struct Principal: Sendable, Hashable {
  public var type: PrincipalType
  /// The AWS unique id (`AIDA…`, `AGPA…`, `AROA…`): a principal deleted and recreated with the same
  /// name gets a new one.
  public var id: String
  public var name: String
  public var arn: String
  public var path: String?
  public var createDate: Timestamp?
  public var inlinePolicies: [InlinePolicy]
  public var attachedPolicies: [AttachedPolicy]
  /// Users only: the names of the groups the user belongs to.
  public var groups: [String]
  /// Users and roles.
  public var permissionsBoundary: PermissionsBoundary?
  /// Users and roles.
  public var tags: [Tag]
  /// Roles only: the trust policy.
  public var trustPolicy: PolicyDocumentText?
  /// Roles only.
  public var instanceProfiles: [InstanceProfile]
  /// Roles only: `RoleLastUsed` (either may be nil; AWS sends `{}` for never).
  public var roleLastUsedDate: Timestamp?
  public var roleLastUsedRegion: String?

  public init(
    type: PrincipalType, id: String, name: String, arn: String, path: String? = nil, createDate: Timestamp? = nil,
    inlinePolicies: [InlinePolicy] = [], attachedPolicies: [AttachedPolicy] = [], groups: [String] = [],
    permissionsBoundary: PermissionsBoundary? = nil, tags: [Tag] = [], trustPolicy: PolicyDocumentText? = nil,
    instanceProfiles: [InstanceProfile] = [], roleLastUsedDate: Timestamp? = nil, roleLastUsedRegion: String? = nil
  ) {
    self.type = type
    self.id = id
    self.name = name
    self.arn = arn
    self.path = path
    self.createDate = createDate
    self.inlinePolicies = inlinePolicies
    self.attachedPolicies = attachedPolicies
    self.groups = groups
    self.permissionsBoundary = permissionsBoundary
    self.tags = tags
    self.trustPolicy = trustPolicy
    self.instanceProfiles = instanceProfiles
    self.roleLastUsedDate = roleLastUsedDate
    self.roleLastUsedRegion = roleLastUsedRegion
  }
}

/// One version of a managed policy.
public struct PolicyVersion: Sendable, Hashable {
  public var versionId: String
  public var isDefault: Bool
  public var createDate: Timestamp?
  public var document: PolicyDocumentText
  public var encoding: DocumentEncoding

  public init(
    versionId: String, isDefault: Bool, createDate: Timestamp? = nil, document: PolicyDocumentText,
    encoding: DocumentEncoding = .object
  ) {
    self.versionId = versionId
    self.isDefault = isDefault
    self.createDate = createDate
    self.document = document
    self.encoding = encoding
  }
}

/// A managed policy (customer- or AWS-managed) with all the versions the snapshot holds.
public struct ManagedPolicy: Sendable, Hashable {
  public var arn: String
  public var name: String
  public var id: String?
  public var path: String?
  public var defaultVersionId: String?
  public var attachmentCount: Int?
  public var permissionsBoundaryUsageCount: Int?
  public var isAttachable: Bool?
  public var description: String?
  public var createDate: Timestamp?
  public var updateDate: Timestamp?
  public var versions: [PolicyVersion]

  public init(
    arn: String, name: String, id: String? = nil, path: String? = nil, defaultVersionId: String? = nil,
    attachmentCount: Int? = nil, permissionsBoundaryUsageCount: Int? = nil, isAttachable: Bool? = nil,
    description: String? = nil, createDate: Timestamp? = nil, updateDate: Timestamp? = nil, versions: [PolicyVersion]
  ) {
    self.arn = arn
    self.name = name
    self.id = id
    self.path = path
    self.defaultVersionId = defaultVersionId
    self.attachmentCount = attachmentCount
    self.permissionsBoundaryUsageCount = permissionsBoundaryUsageCount
    self.isAttachable = isAttachable
    self.description = description
    self.createDate = createDate
    self.updateDate = updateDate
    self.versions = versions
  }

  /// AWS-managed policies live in the `aws` pseudo-account (`arn:aws:iam::aws:policy/…`).
  public var isAWSManaged: Bool { arn.split(separator: ":", omittingEmptySubsequences: false).dropFirst(4).first == "aws" }

  /// The version in force: the one named by `DefaultVersionId`, else the one flagged
  /// `IsDefaultVersion`; nil when the snapshot holds none, or when the two disagree
  /// (``defaultVersionDisagreement``): checks must not judge a document that may not be in force.
  public var defaultVersion: PolicyVersion? { defaultVersionDisagreement == nil ? namedDefaultVersion : nil }

  /// The version named by `DefaultVersionId`, else the one flagged `IsDefaultVersion`, whether or not
  /// they agree (history only: checks use ``defaultVersion``).
  public var namedDefaultVersion: PolicyVersion? {
    if let id = defaultVersionId, let v = versions.first(where: { $0.versionId == id }) { return v }
    return versions.first(where: \.isDefault)
  }

  /// How `DefaultVersionId` and the versions' `IsDefaultVersion` flags disagree, in words, or nil when
  /// they agree: two or more versions flagged; `DefaultVersionId` naming a version that is not the
  /// flagged one; or naming a version in the snapshot while none is flagged. (AWS's export always
  /// flags exactly the version `DefaultVersionId` names; a snapshot holding no default version at
  /// all, none flagged and none named in the list, is not a disagreement but has no ``defaultVersion``.)
  public var defaultVersionDisagreement: String? {
    let flagged = versions.filter(\.isDefault).map(\.versionId)
    let named = defaultVersionId.map { " and DefaultVersionId is \($0)" } ?? ""
    if flagged.count > 1 {
      return "\(flagged.count) versions are flagged IsDefaultVersion (\(flagged.joined(separator: ", ")))\(named)"
    }
    guard let id = defaultVersionId else { return nil }
    if let only = flagged.first {
      guard only != id else { return nil }
      let absent = versions.contains { $0.versionId == id } ? "" : " (\(id) is not in the snapshot)"
      return "DefaultVersionId is \(id)\(absent) but the version flagged IsDefaultVersion is \(only)"
    }
    return versions.contains { $0.versionId == id } ? "DefaultVersionId is \(id) but no version is flagged IsDefaultVersion" : nil
  }
}

/// The counts that describe a snapshot.
public struct SnapshotCounts: Sendable, Hashable, Codable {
  public var users: Int
  public var groups: Int
  public var roles: Int
  public var managedPolicies: Int
  public var inlinePolicies: Int

  public init(users: Int, groups: Int, roles: Int, managedPolicies: Int, inlinePolicies: Int) {
    self.users = users
    self.groups = groups
    self.roles = roles
    self.managedPolicies = managedPolicies
    self.inlinePolicies = inlinePolicies
  }
}

/// One decoded `get-account-authorization-details` document.
public struct AuthorizationSnapshot: Sendable, Hashable {
  public var principals: [Principal]
  public var managedPolicies: [ManagedPolicy]
  /// `IsTruncated: true` in the file: the export is incomplete.
  public var isTruncated: Bool
  public var marker: String?

  public init(principals: [Principal], managedPolicies: [ManagedPolicy], isTruncated: Bool = false, marker: String? = nil) {
    self.principals = principals
    self.managedPolicies = managedPolicies
    self.isTruncated = isTruncated
    self.marker = marker
  }

  /// This snapshot with the canonical text kept only for the documents whose hash is in `keep`.
  func keepingDocumentTexts(of keep: Set<String>) -> AuthorizationSnapshot {
    func slim(_ d: PolicyDocumentText) -> PolicyDocumentText { keep.contains(d.sha256) ? d : d.droppingText() }
    var s = self
    for pi in s.principals.indices {
      if let t = s.principals[pi].trustPolicy { s.principals[pi].trustPolicy = slim(t) }
      for ii in s.principals[pi].inlinePolicies.indices {
        s.principals[pi].inlinePolicies[ii].document = slim(s.principals[pi].inlinePolicies[ii].document)
      }
    }
    for mi in s.managedPolicies.indices {
      for vi in s.managedPolicies[mi].versions.indices {
        s.managedPolicies[mi].versions[vi].document = slim(s.managedPolicies[mi].versions[vi].document)
      }
    }
    return s
  }

  public var users: [Principal] { principals.filter { $0.type == .user } }
  public var groups: [Principal] { principals.filter { $0.type == .group } }
  public var roles: [Principal] { principals.filter { $0.type == .role } }

  public var counts: SnapshotCounts {
    SnapshotCounts(
      users: users.count, groups: groups.count, roles: roles.count, managedPolicies: managedPolicies.count,
      inlinePolicies: principals.reduce(0) { $0 + $1.inlinePolicies.count })
  }

  /// The document encoding(s) found: `cli` (objects), `raw` (percent-encoded), `json-string`, `mixed`, or `none`.
  public var encodingSummary: String {
    var seen = Set<DocumentEncoding>()
    for p in principals { for i in p.inlinePolicies { seen.insert(i.encoding) } }
    for m in managedPolicies { for v in m.versions { seen.insert(v.encoding) } }
    if seen.isEmpty { return "none" }
    if seen.count > 1 { return "mixed" }
    switch seen.first! {
    case .object: return "cli"
    case .percentEncoded: return "raw"
    case .jsonString: return "json-string"
    }
  }

  /// Account ids named in the ARNs of principals and customer-managed policies.
  public var accountIDs: Set<String> {
    var ids = Set<String>()
    for p in principals { if let a = ARN.account(of: p.arn) { ids.insert(a) } }
    for m in managedPolicies where !m.isAWSManaged { if let a = ARN.account(of: m.arn) { ids.insert(a) } }
    return ids
  }
}

/// Small helpers for ARNs.
public enum ARN {
  /// The account field of an ARN (`arn:partition:service:region:account:resource`), if non-empty.
  public static func account(of arn: String) -> String? {
    let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
    guard parts.count == 6, parts[0] == "arn" else { return nil }
    let account = String(parts[4])
    return account.isEmpty || account == "aws" ? nil : account
  }

  /// The last path segment of an ARN's resource (`arn:aws:iam::123:policy/path/Name` → `Name`).
  public static func resourceName(of arn: String) -> String {
    let resource = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).last.map(String.init) ?? arn
    return resource.split(separator: "/").last.map(String.init) ?? resource
  }
}

extension Sequence where Element == UInt8 {
  /// Lower-case hexadecimal.
  public var hexString: String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for b in self {
      out.append(digits[Int(b >> 4)])
      out.append(digits[Int(b & 0xF)])
    }
    return String(decoding: out, as: UTF8.self)
  }
}

extension SHA256.Digest {
  /// Lower-case hexadecimal digest.
  public var hexString: String { Array(self).hexString }
}
