import Foundation
import Testing

@testable import IAMEvidence

/// The privilege-escalation methods as data: the ids and action sets issue 13 requires, every action
/// in the action catalog, and a loader that refuses what it cannot read exactly.
@Suite struct EscalationMethodTests {
  /// Issue 13's table: these ids must exist with exactly these actions.
  static let required: [String: Set<String>] = [
    "iam-create-policy-version": ["iam:CreatePolicyVersion"],
    "iam-set-default-policy-version": ["iam:SetDefaultPolicyVersion"],
    "iam-create-access-key": ["iam:CreateAccessKey"],
    "iam-create-login-profile": ["iam:CreateLoginProfile"],
    "iam-update-login-profile": ["iam:UpdateLoginProfile"],
    "iam-attach-user-policy": ["iam:AttachUserPolicy"],
    "iam-attach-group-policy": ["iam:AttachGroupPolicy"],
    "iam-attach-role-policy": ["iam:AttachRolePolicy", "sts:AssumeRole"],
    "iam-put-user-policy": ["iam:PutUserPolicy"],
    "iam-put-group-policy": ["iam:PutGroupPolicy"],
    "iam-put-role-policy": ["iam:PutRolePolicy", "sts:AssumeRole"],
    "iam-add-user-to-group": ["iam:AddUserToGroup"],
    "iam-update-assume-role-policy": ["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"],
    "passrole-ec2": ["iam:PassRole", "ec2:RunInstances"],
    "passrole-lambda-invoke": ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"],
    "passrole-lambda-event-source": ["iam:PassRole", "lambda:CreateFunction", "lambda:CreateEventSourceMapping"],
    "lambda-update-function-code": ["lambda:UpdateFunctionCode"],
    "passrole-glue-dev-endpoint": ["iam:PassRole", "glue:CreateDevEndpoint"],
    "glue-update-dev-endpoint": ["glue:UpdateDevEndpoint"],
    "passrole-cloudformation": ["iam:PassRole", "cloudformation:CreateStack"],
    "passrole-datapipeline": ["iam:PassRole", "datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition"],
  ]

  @Test func theRequiredMethodsExistWithExactlyTheirActions() throws {
    let catalog = try EscalationMethodCatalog.loadBundled()
    #expect(Self.required.count == 21)
    for (id, actions) in Self.required {
      let method = try #require(catalog.method(id: id), "missing method \(id)")
      #expect(Set(method.actions) == actions, "\(id)")
      #expect(method.actions.count == actions.count, "\(id) repeats an action")
    }
    #expect(Set(catalog.methods.map(\.id)).count == catalog.methods.count, "ids are unique")
  }

  @Test func everyActionIsInTheActionCatalogWithItsExactName() throws {
    let actions = ActionCatalog.bundled
    let catalog = EscalationMethodCatalog.bundled
    for method in catalog.methods {
      for name in method.actions {
        let index = try #require(actions.index(of: name), "\(method.id): \(name) is not in the action catalog")
        // Written as AWS spells it, so that evidence quotes the catalog's name.
        #expect(actions.names(of: ActionSet(index: index)) == [name], "\(method.id): \(name)")
      }
    }
    // The checks' target is exactly the union of the methods' actions.
    let engine = PolicyEngine()
    let target = try engine.resolve(catalog.target)
    #expect(target.actions.count == Set(catalog.methods.flatMap(\.actions)).count)
  }

  @Test func everyMethodIsExplainedWithAPublicSourceAndTheFileRecordsItsSource() {
    let catalog = EscalationMethodCatalog.bundled
    #expect(catalog.source.contains("Rhino Security Labs"))
    #expect(catalog.sourceURLs.contains("https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/"))
    #expect(catalog.sourceDate.count == 10 && Timestamp(parsing: catalog.sourceDate) != nil)
    #expect(catalog.sourceDescription.hasPrefix("\(catalog.methods.count) methods from Rhino Security Labs"))
    for m in catalog.methods {
      #expect(!m.explanation.isEmpty && !m.explanation.contains("\n"), "\(m.id)")
      #expect(!m.sources.isEmpty && m.sources.allSatisfy { $0.hasPrefix("https://") }, "\(m.id)")
    }
  }

  // MARK: - The loader refuses what it cannot read exactly

  static func file(methods: String, top: String = "") -> [UInt8] {
    Array(
      """
      {"format":"iam-evidence-escalation-methods/1","source":"s","source_urls":["https://example.com/"],"source_date":"2026-01-01",\(top)
       "methods":[\(methods)]}
      """.utf8)
  }

  static let good = #"{"id":"m","actions":["iam:PassRole"],"explanation":"e","sources":["https://example.com/m"]}"#

  @Test func aWellFormedFileLoads() throws {
    let c = try EscalationMethodCatalog(data: Self.file(methods: Self.good))
    #expect(c.methods == [EscalationMethod(id: "m", actions: ["iam:PassRole"], explanation: "e", sources: ["https://example.com/m"])])
  }

  @Test(arguments: [
    (#"{"id":"m","actions":["iam:Pass*"],"explanation":"e","sources":["https://x/"]}"#, "$.methods[0].actions[0]"),
    (#"{"id":"m","actions":[],"explanation":"e","sources":["https://x/"]}"#, "$.methods[0].actions"),
    (#"{"id":"M","actions":["iam:PassRole"],"explanation":"e","sources":["https://x/"]}"#, "$.methods[0].id"),
    (#"{"id":"m","actions":["iam:PassRole"],"explanation":"e","sources":["http://x/"]}"#, "$.methods[0].sources[0]"),
    (#"{"id":"m","actions":["iam:PassRole"],"explanation":"e","sources":["https://x/"],"extra":1}"#, "$.methods[0]"),
    (#"{"id":"m","id":"n","actions":["iam:PassRole"],"explanation":"e","sources":["https://x/"]}"#, "$.methods[0].id"),
    (#"{"id":"m","actions":["iam:PassRole","IAM:passrole"],"explanation":"e","sources":["https://x/"]}"#, "$.methods[0].actions[1]"),
    (#"{"id":"m","actions":["iam:PassRole"],"sources":["https://x/"]}"#, "$.methods[0].explanation"),
    (good + "," + good, "$.methods[1].id"),
  ])
  func aBadMethodIsRefusedWithItsPath(_ method: String, _ path: String) {
    #expect {
      _ = try EscalationMethodCatalog(data: Self.file(methods: method))
    } throws: { error in
      (error as? EscalationMethodCatalogError)?.path == path
    }
  }

  @Test func anUnknownFormatOrTopLevelMemberIsRefused() {
    let other = Array(
      String(decoding: Self.file(methods: Self.good), as: UTF8.self).replacingOccurrences(of: "methods/1", with: "methods/2").utf8)
    #expect { _ = try EscalationMethodCatalog(data: other) } throws: { ($0 as? EscalationMethodCatalogError)?.path == "$.format" }
    #expect {
      _ = try EscalationMethodCatalog(data: Self.file(methods: Self.good, top: #""comment":"x","#))
    } throws: { ($0 as? EscalationMethodCatalogError)?.description.contains("unknown member \"comment\"") == true }
  }
}
