import Foundation
import Testing

@testable import IAMEvidence

/// Builders of small synthetic snapshots for the check tests.
enum Synth {
  static let account = "123456789012"

  struct BadJSON: Error, CustomStringConvertible {
    var text: String
    var description: String { "not JSON: \(text)" }
  }

  static func document(_ text: String) throws -> PolicyDocumentText {
    do {
      return PolicyDocumentText(json: try JSONParser.parse(text))
    } catch {
      throw BadJSON(text: text)
    }
  }

  static func inline(_ name: String, _ text: String) throws -> InlinePolicy {
    InlinePolicy(name: name, document: try document(text))
  }

  static func policyARN(_ name: String) -> String { "arn:aws:iam::\(account):policy/\(name)" }

  static func user(
    _ name: String, inline: [InlinePolicy] = [], attached: [String] = [], groups: [String] = [], boundary: String? = nil
  ) -> Principal {
    Principal(
      type: .user, id: "AIDA" + name.uppercased(), name: name, arn: "arn:aws:iam::\(account):user/\(name)", inlinePolicies: inline,
      attachedPolicies: attached.map { AttachedPolicy(name: ARN.resourceName(of: $0), arn: $0) }, groups: groups,
      permissionsBoundary: boundary.map { PermissionsBoundary(type: "Policy", arn: $0) })
  }

  /// A trust policy (every role has one): EC2 may assume the role.
  static let serviceTrust = PolicyDocumentText(
    json: .object([
      ("Version", .string("2012-10-17")),
      (
        "Statement",
        .array([
          .object([
            ("Effect", .string("Allow")), ("Principal", .object([("Service", .string("ec2.amazonaws.com"))])),
            ("Action", .string("sts:AssumeRole")),
          ])
        ])
      ),
    ]))

  static func role(_ name: String, inline: [InlinePolicy] = [], attached: [String] = [], boundary: String? = nil) -> Principal {
    Principal(
      type: .role, id: "AROA" + name.uppercased(), name: name, arn: "arn:aws:iam::\(account):role/\(name)", inlinePolicies: inline,
      attachedPolicies: attached.map { AttachedPolicy(name: ARN.resourceName(of: $0), arn: $0) },
      permissionsBoundary: boundary.map { PermissionsBoundary(type: "Policy", arn: $0) },
      trustPolicy: serviceTrust)
  }

  static func group(_ name: String, inline: [InlinePolicy] = [], attached: [String] = []) -> Principal {
    Principal(
      type: .group, id: "AGPA" + name.uppercased(), name: name, arn: "arn:aws:iam::\(account):group/\(name)", inlinePolicies: inline,
      attachedPolicies: attached.map { AttachedPolicy(name: ARN.resourceName(of: $0), arn: $0) })
  }

  /// A managed policy whose only version, v1, is the default.
  static func managed(_ arn: String, _ text: String) throws -> ManagedPolicy {
    ManagedPolicy(
      arn: arn, name: ARN.resourceName(of: arn), defaultVersionId: "v1",
      versions: [PolicyVersion(versionId: "v1", isDefault: true, document: try document(text))])
  }

  /// A snapshot file in the AWS CLI format (for CLI tests): one user per (name, inline document).
  static func snapshotFile(users: [(name: String, policyName: String, document: String)]) -> String {
    let list = users.map { u in
      """
      {"Path":"/","UserName":"\(u.name)","UserId":"AIDA\(u.name.uppercased())","Arn":"arn:aws:iam::\(account):user/\(u.name)",
       "CreateDate":"2023-01-01T00:00:00Z","UserPolicyList":[{"PolicyName":"\(u.policyName)","PolicyDocument":\(u.document)}],
       "GroupList":[],"AttachedManagedPolicies":[],"Tags":[]}
      """
    }
    return """
      {"UserDetailList":[\(list.joined(separator: ","))],"GroupDetailList":[],"RoleDetailList":[],"Policies":[],"IsTruncated":false}
      """
  }
}

extension Array where Element == CheckResult {
  func with(check id: String) -> [CheckResult] { filter { $0.checkID == id } }
}

extension CheckResult {
  var noteCodes: [String] { notes.map(\.code) }
  func hasNote(_ code: String) -> Bool { notes.contains { $0.code == code } }
}
