import Foundation
import IAMEvidence

// The Foundation side of ``FoundationDecoderDifferentialTests``: Codable mirrors of the export's shape,
// decoded by `JSONDecoder` and mapped to an ``AuthorizationSnapshot`` with the decoder's documented rules.

/// A reference decoding failure (Foundation's error, or a documented rule that refused a value).
struct ReferenceError: Error, CustomStringConvertible {
  var path: String
  var message: String
  var description: String { "\(path): \(message)" }
}

/// Any member name.
struct AnyKey: CodingKey {
  var stringValue: String
  var intValue: Int? { nil }
  init(stringValue: String) { self.stringValue = stringValue }
  init?(intValue: Int) { nil }
}

/// A JSON value as `JSONDecoder` yields it. Numbers are `Double`s: Codable cannot hand out a number's
/// source text.
indirect enum FoundationJSON: Decodable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([FoundationJSON])
  case object([String: FoundationJSON])

  /// Codable cannot ask what kind a value is; each wrong guess costs a thrown error, so the guesses
  /// go in order of frequency in policy documents.
  init(from decoder: any Decoder) throws {
    let single = try decoder.singleValueContainer()
    if single.decodeNil() {
      self = .null
    } else if let s = try? single.decode(String.self) {
      self = .string(s)
    } else if let object = try? decoder.container(keyedBy: AnyKey.self) {
      var members: [String: FoundationJSON] = [:]
      for key in object.allKeys { members[key.stringValue] = try object.decode(FoundationJSON.self, forKey: key) }
      self = .object(members)
    } else if var array = try? decoder.unkeyedContainer() {
      var elements: [FoundationJSON] = []
      while !array.isAtEnd { elements.append(try array.decode(FoundationJSON.self)) }
      self = .array(elements)
    } else if let b = try? single.decode(Bool.self) {
      self = .bool(b)
    } else {
      self = .number(try single.decode(Double.self))
    }
  }

  var jsonValue: JSONValue {
    switch self {
    case .null: return .null
    case .bool(let b): return .bool(b)
    case .number(let d): return .number(NumberText.text(d))
    case .string(let s): return .string(s)
    case .array(let elements): return .array(elements.map(\.jsonValue))
    case .object(let members): return .object(members.map { (key: $0.key, value: $0.value.jsonValue) })
    }
  }
}

/// The export's shape as Codable sees it (`Decodable`, the half of Codable that matters here): every
/// member ``SnapshotDecoder`` reads, nothing else.
struct FoundationExport: Decodable {
  var users: [User]?
  var groups: [Group]?
  var roles: [Role]?
  var policies: [Policy]?
  var isTruncated: Bool?
  var marker: String?

  enum CodingKeys: String, CodingKey {
    case users = "UserDetailList", groups = "GroupDetailList", roles = "RoleDetailList", policies = "Policies"
    case isTruncated = "IsTruncated", marker = "Marker"
  }

  struct User: Decodable {
    var userId: String
    var userName: String
    var arn: String
    var path: String?
    var createDate: String?
    var userPolicyList: [Inline]?
    var groupList: [String]?
    var attachedManagedPolicies: [Attached]?
    var permissionsBoundary: Boundary?
    var tags: [Tag]?

    enum CodingKeys: String, CodingKey {
      case userId = "UserId", userName = "UserName", arn = "Arn", path = "Path", createDate = "CreateDate"
      case userPolicyList = "UserPolicyList", groupList = "GroupList", attachedManagedPolicies = "AttachedManagedPolicies"
      case permissionsBoundary = "PermissionsBoundary", tags = "Tags"
    }
  }

  /// Groups have no tags, boundary or trust policy: those members are not read.
  struct Group: Decodable {
    var groupId: String
    var groupName: String
    var arn: String
    var path: String?
    var createDate: String?
    var groupPolicyList: [Inline]?
    var attachedManagedPolicies: [Attached]?

    enum CodingKeys: String, CodingKey {
      case groupId = "GroupId", groupName = "GroupName", arn = "Arn", path = "Path", createDate = "CreateDate"
      case groupPolicyList = "GroupPolicyList", attachedManagedPolicies = "AttachedManagedPolicies"
    }
  }

  struct Role: Decodable {
    var roleId: String
    var roleName: String
    var arn: String
    var path: String?
    var createDate: String?
    var assumeRolePolicyDocument: FoundationJSON?
    var instanceProfileList: [InstanceProfile]?
    var rolePolicyList: [Inline]?
    var attachedManagedPolicies: [Attached]?
    var permissionsBoundary: Boundary?
    var tags: [Tag]?
    var roleLastUsed: RoleLastUsed?

    enum CodingKeys: String, CodingKey {
      case roleId = "RoleId", roleName = "RoleName", arn = "Arn", path = "Path", createDate = "CreateDate"
      case assumeRolePolicyDocument = "AssumeRolePolicyDocument", instanceProfileList = "InstanceProfileList"
      case rolePolicyList = "RolePolicyList", attachedManagedPolicies = "AttachedManagedPolicies"
      case permissionsBoundary = "PermissionsBoundary", tags = "Tags", roleLastUsed = "RoleLastUsed"
    }
  }

  /// `PolicyDocument` must be present (a `null` decodes to ``FoundationJSON/null`` and is refused later).
  struct Inline: Decodable {
    var policyName: String
    var policyDocument: FoundationJSON
    enum CodingKeys: String, CodingKey { case policyName = "PolicyName", policyDocument = "PolicyDocument" }
  }

  struct Attached: Decodable {
    var policyArn: String
    var policyName: String?
    enum CodingKeys: String, CodingKey { case policyArn = "PolicyArn", policyName = "PolicyName" }
  }

  /// Without a `PermissionsBoundaryArn` member there is no boundary, and the type is not looked at.
  struct Boundary: Decodable {
    var type: String?
    var arn: String?
    enum CodingKeys: String, CodingKey { case type = "PermissionsBoundaryType", arn = "PermissionsBoundaryArn" }

    init(from decoder: any Decoder) throws {
      let c = try decoder.container(keyedBy: CodingKeys.self)
      guard c.contains(.arn) else { return }
      type = try c.decodeIfPresent(String.self, forKey: .type)
      arn = try c.decode(String.self, forKey: .arn)
    }
  }

  struct Tag: Decodable {
    var key: String
    var value: String?
    enum CodingKeys: String, CodingKey { case key = "Key", value = "Value" }
  }

  struct InstanceProfile: Decodable {
    var name: String
    var id: String?
    var arn: String?
    enum CodingKeys: String, CodingKey { case name = "InstanceProfileName", id = "InstanceProfileId", arn = "Arn" }
  }

  struct RoleLastUsed: Decodable {
    var lastUsedDate: String?
    var region: String?
    enum CodingKeys: String, CodingKey { case lastUsedDate = "LastUsedDate", region = "Region" }
  }

  struct Policy: Decodable {
    var arn: String
    var policyName: String?
    var policyId: String?
    var path: String?
    var defaultVersionId: String?
    var attachmentCount: Int?
    var permissionsBoundaryUsageCount: Int?
    var isAttachable: Bool?
    var description: String?
    var createDate: String?
    var updateDate: String?
    var policyVersionList: [Version]?

    enum CodingKeys: String, CodingKey {
      case arn = "Arn", policyName = "PolicyName", policyId = "PolicyId", path = "Path", defaultVersionId = "DefaultVersionId"
      case attachmentCount = "AttachmentCount", permissionsBoundaryUsageCount = "PermissionsBoundaryUsageCount"
      case isAttachable = "IsAttachable", description = "Description", createDate = "CreateDate", updateDate = "UpdateDate"
      case policyVersionList = "PolicyVersionList"
    }
  }

  struct Version: Decodable {
    var document: FoundationJSON
    var versionId: String
    var isDefaultVersion: Bool?
    var createDate: String?
    enum CodingKeys: String, CodingKey {
      case document = "Document", versionId = "VersionId", isDefaultVersion = "IsDefaultVersion", createDate = "CreateDate"
    }
  }
}

/// Foundation's decoding mapped to an ``AuthorizationSnapshot`` with the decoder's documented rules
/// (but not its uniqueness rules, which ``Differential/uniquenessViolation(_:)`` applies).
enum FoundationReference {
  static func decode(_ bytes: [UInt8]) -> Result<AuthorizationSnapshot, ReferenceError> {
    let export: FoundationExport
    do {
      export = try JSONDecoder().decode(FoundationExport.self, from: Data(bytes))
    } catch {
      return .failure(ReferenceError(path: "$", message: "JSONDecoder: \(error)"))
    }
    do {
      return .success(try snapshot(export))
    } catch let error as ReferenceError {
      return .failure(error)
    } catch {
      return .failure(ReferenceError(path: "$", message: "\(error)"))
    }
  }

  static func snapshot(_ export: FoundationExport) throws -> AuthorizationSnapshot {
    var principals: [Principal] = []
    for (i, u) in (export.users ?? []).enumerated() {
      let at = "$.UserDetailList[\(i)]"
      var p = Principal(type: .user, id: u.userId, name: u.userName, arn: u.arn, path: u.path)
      p.createDate = try date(u.createDate, "\(at).CreateDate")
      p.inlinePolicies = try inline(u.userPolicyList, "\(at).UserPolicyList")
      p.groups = u.groupList ?? []
      p.attachedPolicies = attached(u.attachedManagedPolicies)
      p.permissionsBoundary = boundary(u.permissionsBoundary)
      p.tags = tags(u.tags)
      principals.append(p)
    }
    for (i, g) in (export.groups ?? []).enumerated() {
      let at = "$.GroupDetailList[\(i)]"
      var p = Principal(type: .group, id: g.groupId, name: g.groupName, arn: g.arn, path: g.path)
      p.createDate = try date(g.createDate, "\(at).CreateDate")
      p.inlinePolicies = try inline(g.groupPolicyList, "\(at).GroupPolicyList")
      p.attachedPolicies = attached(g.attachedManagedPolicies)
      principals.append(p)
    }
    for (i, r) in (export.roles ?? []).enumerated() {
      let at = "$.RoleDetailList[\(i)]"
      var p = Principal(type: .role, id: r.roleId, name: r.roleName, arn: r.arn, path: r.path)
      p.createDate = try date(r.createDate, "\(at).CreateDate")
      if let trust = r.assumeRolePolicyDocument { p.trustPolicy = try document(trust, "\(at).AssumeRolePolicyDocument").0 }
      p.instanceProfiles = (r.instanceProfileList ?? []).map { InstanceProfile(name: $0.name, id: $0.id, arn: $0.arn) }
      p.inlinePolicies = try inline(r.rolePolicyList, "\(at).RolePolicyList")
      p.attachedPolicies = attached(r.attachedManagedPolicies)
      p.permissionsBoundary = boundary(r.permissionsBoundary)
      p.tags = tags(r.tags)
      if let last = r.roleLastUsed {
        p.roleLastUsedDate = try date(last.lastUsedDate, "\(at).RoleLastUsed.LastUsedDate")
        p.roleLastUsedRegion = last.region
      }
      principals.append(p)
    }
    var policies: [ManagedPolicy] = []
    for (i, m) in (export.policies ?? []).enumerated() {
      let at = "$.Policies[\(i)]"
      var versions: [PolicyVersion] = []
      for (vi, v) in (m.policyVersionList ?? []).enumerated() {
        let (text, encoding) = try document(v.document, "\(at).PolicyVersionList[\(vi)].Document")
        versions.append(
          PolicyVersion(
            versionId: v.versionId, isDefault: v.isDefaultVersion ?? false,
            createDate: try date(v.createDate, "\(at).PolicyVersionList[\(vi)].CreateDate"), document: text, encoding: encoding))
      }
      policies.append(
        ManagedPolicy(
          arn: m.arn, name: m.policyName ?? ARN.resourceName(of: m.arn), id: m.policyId, path: m.path,
          defaultVersionId: m.defaultVersionId, attachmentCount: m.attachmentCount,
          permissionsBoundaryUsageCount: m.permissionsBoundaryUsageCount, isAttachable: m.isAttachable,
          description: m.description, createDate: try date(m.createDate, "\(at).CreateDate"),
          updateDate: try date(m.updateDate, "\(at).UpdateDate"), versions: versions))
    }
    return AuthorizationSnapshot(
      principals: principals, managedPolicies: policies, isTruncated: export.isTruncated ?? false, marker: export.marker)
  }

  static func date(_ text: String?, _ path: String) throws -> Timestamp? {
    guard let text else { return nil }
    guard let t = Timestamp(parsing: text) else { throw ReferenceError(path: path, message: "not a date") }
    return t
  }

  static func inline(_ list: [FoundationExport.Inline]?, _ path: String) throws -> [InlinePolicy] {
    try (list ?? []).enumerated().map { i, item in
      let (text, encoding) = try document(item.policyDocument, "\(path)[\(i)].PolicyDocument")
      return InlinePolicy(name: item.policyName, document: text, encoding: encoding)
    }
  }

  static func attached(_ list: [FoundationExport.Attached]?) -> [AttachedPolicy] {
    (list ?? []).map { AttachedPolicy(name: $0.policyName ?? ARN.resourceName(of: $0.policyArn), arn: $0.policyArn) }
  }

  static func boundary(_ b: FoundationExport.Boundary?) -> PermissionsBoundary? {
    b?.arn.map { PermissionsBoundary(type: b?.type, arn: $0) }
  }

  static func tags(_ list: [FoundationExport.Tag]?) -> [IAMEvidence.Tag] {
    (list ?? []).map { IAMEvidence.Tag(key: $0.key, value: $0.value ?? "") }
  }

  /// A document is an object; or a string that, after leading JSON whitespace (space, LF, TAB, CR),
  /// starts with `{` and is plain JSON; or else percent-encoded JSON. Either string must hold an object.
  static func document(_ value: FoundationJSON, _ path: String) throws -> (PolicyDocumentText, DocumentEncoding) {
    switch value {
    case .object:
      return (PolicyDocumentText(json: value.jsonValue), .object)
    case .string(let s):
      let trimmed = String(s.unicodeScalars.drop(while: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }))
      if trimmed.unicodeScalars.first == "{" {
        return (try parseObject(Array(trimmed.utf8), path), .jsonString)
      }
      guard let decoded = PercentEncoding.decode(s) else { throw ReferenceError(path: path, message: "bad percent-encoding") }
      return (try parseObject(Array(decoded.utf8), path), .percentEncoded)
    default:
      throw ReferenceError(path: path, message: "not a policy document")
    }
  }

  static func parseObject(_ bytes: [UInt8], _ path: String) throws -> PolicyDocumentText {
    let json = try JSONDecoder().decode(FoundationJSON.self, from: Data(bytes))
    guard case .object = json else { throw ReferenceError(path: path, message: "document is not an object") }
    return PolicyDocumentText(json: json.jsonValue)
  }
}
