import Foundation
import Testing

@testable import IAMEvidence

/// Checks the evaluator against the pattern labels of the shared fixture truth files (read in place,
/// never copied into the repository).
@Suite struct PolicyFixtureTests {
  static let snapshots = ["dev-small", "dev-series/2024-01", "dev-series/2024-02", "dev-series/2024-03"]

  /// Labels whose statement alone grants every KMS action on all keys.
  static let fullAccessPatterns: Set<String> = [
    "kms_star_string", "kms_star_in_array", "kms_star_uppercase", "full_admin_star", "kms_star_key_wildcard_arn",
    "statement_single_object", "kms_star_resource_array", "notaction_allow_star", "kms_star_condition_viaservice",
  ]

  let evaluator = KMSPolicyEvaluator()
  var allKMS: Set<String> { evaluator.catalog.allActionNames }

  static func load(_ relative: String) throws -> JSONValue {
    let url = TestSupport.fixture(relative)
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw FixtureError(message: "cannot read \(url.path)")
    }
    return try JSONParser.parse(data)
  }

  struct FixtureError: Error { var message: String }

  /// Every policy document of a snapshot, keyed like the truth entries.
  static func documents(of snapshot: JSONValue) -> [String: JSONValue] {
    var out: [String: JSONValue] = [:]
    for (list, nameKey, policies, type) in [
      ("UserDetailList", "UserName", "UserPolicyList", "user"), ("GroupDetailList", "GroupName", "GroupPolicyList", "group"),
      ("RoleDetailList", "RoleName", "RolePolicyList", "role"),
    ] {
      for principal in snapshot[list]?.arrayValue ?? [] {
        let name = principal[nameKey]?.stringValue ?? "?"
        for p in principal[policies]?.arrayValue ?? [] {
          out["inline|\(type)|\(name)|\(p["PolicyName"]?.stringValue ?? "?")"] = p["PolicyDocument"]
        }
      }
    }
    for policy in snapshot["Policies"]?.arrayValue ?? [] {
      let arn = policy["Arn"]?.stringValue ?? "?"
      for v in policy["PolicyVersionList"]?.arrayValue ?? [] {
        out["managed|\(arn)|\(v["VersionId"]?.stringValue ?? "?")"] = v["Document"]
      }
    }
    return out
  }

  static func key(of entry: JSONValue) -> String {
    if entry["kind"]?.stringValue == "managed" {
      return "managed|\(entry["policy_arn"]?.stringValue ?? "")|\(entry["version_id"]?.stringValue ?? "")"
    }
    return
      "inline|\(entry["principal_type"]?.stringValue ?? "")|\(entry["principal_name"]?.stringValue ?? "")|\(entry["policy_name"]?.stringValue ?? "")"
  }

  @Test(arguments: snapshots)
  func labelledStatements(name: String) throws {
    let truth = try Self.load(name + ".truth.json")
    let docs = Self.documents(of: try Self.load(name + ".json"))
    let legend = truth["pattern_legend"]?.objectValue?.map(\.key) ?? []
    let entries = (truth["inline"]?.arrayValue ?? []) + (truth["managed"]?.arrayValue ?? [])
    #expect(entries.count > 20)

    var labelled: [String: [Int: String]] = [:]
    for entry in entries {
      let id = entry["id"]?.stringValue ?? "?"
      let pattern = entry["pattern"]?.stringValue ?? "?"
      #expect(legend.contains(pattern), "\(id): pattern \(pattern) not in the legend")
      let key = Self.key(of: entry)
      guard let json = docs[key] else {
        Issue.record("\(name) \(id): no document \(key)")
        continue
      }
      guard case .number(let indexText)? = entry["statement_index"], let index = Int(indexText) else {
        Issue.record("\(id): no statement_index")
        continue
      }
      labelled[key, default: [:]][index] = pattern
      let doc: PolicyDocument
      do { doc = try PolicyDocument(json: json) } catch {
        Issue.record("\(name) \(id): \(error)")
        continue
      }
      #expect(doc.statementIsSingleObject == (entry["statement_is_object"] == .bool(true)), "\(id)")
      #expect(doc.version == entry["document_version"]?.stringValue, "\(id)")
      try #require(index < doc.statements.count, "\(id)")
      checkStatement(PolicyDocument.wrapping(doc.statements[index]), pattern: pattern, id: "\(name) \(id)")
    }

    // Whole documents: consistent with their labelled statements.
    var neutralised = 0
    for (key, json) in docs {
      let whole = evaluator.evaluateFullKMSAccess(json)
      #expect(!whole.verdict.isInvalid, "\(key): \(whole.why)")
      guard let doc = try? PolicyDocument(json: json) else { continue }
      let labels = labelled[key] ?? [:]
      let fullIndexes = labels.filter { Self.fullAccessPatterns.contains($0.value) }.map(\.key).sorted()
      let deniesAll = whole.deniedActions == allKMS
      if !fullIndexes.isEmpty {
        if deniesAll {
          #expect(whole.verdict == .grantsNone && whole.hasNote(.neutralisedByDeny), "\(key)")
          neutralised += 1
        } else {
          #expect(whole.verdict == .grantsAll, "\(key): \(whole.why)")
          #expect(Set(fullIndexes).isSubset(of: whole.offendingStatements), "\(key)")
        }
      } else {
        #expect(whole.verdict != .grantsAll, "\(key): full access without a full-access label: \(whole.why)")
      }
      // Background statements never touch KMS: every statement matching a KMS action is labelled.
      for s in doc.statements {
        let e = evaluator.explain(s, target: allKMS)
        if !e.matchedActions.isEmpty {
          #expect(labels[s.index] != nil, "\(key) Statement[\(s.index)] touches KMS but has no label")
        }
      }
      for (index, pattern) in labels where pattern == "deny_kms_star" {
        #expect(whole.statements[index].isCreditedDeny, "\(key)")
      }
    }
    // dev-small plants a deny-all next to full-access statements in one managed policy version.
    if name == "dev-small" { #expect(neutralised == 1) }
  }

  func checkStatement(_ single: PolicyDocument, pattern: String, id: String) {
    let full = evaluator.evaluateFullKMSAccess(single)
    let decrypt = evaluator.evaluateDecrypt(single)
    let destructive = evaluator.evaluateDestructive(single)
    let statement = full.statements[0]
    let comment = Comment(rawValue: "\(id) \(pattern): \(full.why)")

    if Self.fullAccessPatterns.contains(pattern) {
      #expect(full.verdict == .grantsAll, comment)
      #expect(full.grantedActions == allKMS, comment)
      #expect(full.offendingStatements == [0], comment)
      #expect(decrypt.verdict == .grantsAll && destructive.verdict == .grantsAll, comment)
      #expect(full.hasNote(.conditional) == (pattern == "kms_star_condition_viaservice"), comment)
      switch pattern {
      case "full_admin_star": #expect(full.reasons == [.allowStar, .resourceStar], comment)
      case "notaction_allow_star": #expect(full.reasons == [.allowNotAction, .resourceStar], comment)
      case "kms_star_key_wildcard_arn": #expect(full.reasons == [.allowKMSWildcard, .resourceKeyWildcardARN], comment)
      default: #expect(full.reasons == [.allowKMSWildcard, .resourceStar], comment)
      }
      if pattern == "kms_star_condition_viaservice" {
        let cond = full.notes(.conditional).first?.condition
        #expect(JSONWriter.canonical(cond ?? .null).contains("kms:ViaService"), comment)
      }
      return
    }
    switch pattern {
    case "kms_star_single_key_arn":
      #expect(full.verdict == .grantsNone && full.hasNote(.specificKeys), comment)
      #expect(statement.keyScope == .someKeys && statement.matchedActions == allKMS, comment)
      #expect(decrypt.verdict == .grantsNone && destructive.verdict == .grantsNone, comment)
    case "kms_decrypt_only":
      #expect(full.verdict == .grantsSome && full.grantedActions == ["kms:Decrypt"], comment)
      #expect(decrypt.verdict == .grantsSome && decrypt.verdict.grantsAny, comment)
      #expect(destructive.verdict == .grantsNone, comment)
    case "notaction_excludes_kms":
      #expect(full.verdict == .grantsNone && statement.matchedActions.isEmpty, comment)
      #expect(statement.effect == .allow && statement.keyScope == .everyKey, comment)
    case "deny_kms_star":
      #expect(statement.effect == .deny && statement.isCreditedDeny, comment)
      #expect(full.verdict == .grantsNone && full.deniedActions == allKMS, comment)
    case "deny_notaction_mfa":
      #expect(statement.effect == .deny && statement.isConditional && !statement.isCreditedDeny, comment)
      #expect(statement.matchedActions == allKMS && full.verdict == .grantsNone, comment)
    case "kms_readonly_wildcards":
      #expect(full.verdict == .grantsSome, comment)
      #expect(
        full.grantedActions.allSatisfy { ["kms:Describe", "kms:Get", "kms:List"].contains(where: $0.hasPrefix) },
        comment)
      #expect(full.grantedActions.contains("kms:GetKeyPolicy") && full.grantedActions.contains("kms:ListKeys"), comment)
      #expect(decrypt.verdict == .grantsNone && destructive.verdict == .grantsNone, comment)
    default:
      Issue.record("\(id): unknown pattern \(pattern): decide what it must give and add it here")
    }
  }

  /// The cloudsplaining samples (real AWS policy text) all pass the strict grammar.
  @Test(arguments: ["external/cloudsplaining-example.json", "external/cloudsplaining-example-authz-details.json"])
  func realPoliciesParse(path: String) throws {
    let docs = Self.documents(of: try Self.load(path))
    #expect(docs.count > 30)
    var fullAccess = 0
    for (key, json) in docs {
      let e = evaluator.evaluateFullKMSAccess(json)
      #expect(!e.verdict.isInvalid, "\(key): \(e.why)")
      if e.verdict == .grantsAll { fullAccess += 1 }
    }
    #expect(fullAccess > 0)
  }
}
