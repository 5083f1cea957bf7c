import Testing

@testable import IAMEvidence

/// Evaluating one document for several targets at once must give exactly what separate evaluations
/// give (the checks rely on it to explain each statement once).
@Suite struct PolicyMultiTargetTests {
  @Test(arguments: [
    "dev-small.json", "dev-series/2024-01.json", "dev-series/2024-02.json", "dev-series/2024-03.json",
    "external/cloudsplaining-example.json", "external/cloudsplaining-example-authz-details.json",
  ])
  func sameAsSeparateEvaluations(fixture: String) throws {
    let snapshot = try SnapshotDecoder(sourceName: fixture).decode(try TestSupport.bytes(TestSupport.fixture(fixture)))
    let evaluator = KMSPolicyEvaluator()
    let catalog = evaluator.catalog
    let targets = [catalog.allActionNames, catalog.decryptActionNames, catalog.destructiveActionNames]
    var documents: [JSONValue] = snapshot.principals.flatMap { $0.inlinePolicies.map(\.document.json) }
    documents += snapshot.managedPolicies.flatMap { $0.versions.map(\.document.json) }
    // Documents that exercise every path: grammar errors, denies, NotAction, conditions.
    documents += try [
      #"{"Statement":[{"Effect":"allow","Action":"kms:*","Resource":"*"}]}"#,
      #"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"},{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}"#,
      #"{"Statement":[{"Effect":"Allow","NotAction":["kms:Encrypt"],"Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#,
      #"{"Statement":[{"Effect":"Allow","Action":"kms:*crypt*","Resource":"arn:aws:kms:*:111122223333:key/*"}]}"#,
    ].map { text throws in try JSONParser.parse(text) }
    #expect(documents.count > 10)
    for json in documents {
      let together = evaluator.evaluateActions(json, targets: targets)
      let separate = targets.map { evaluator.evaluateActions(json, target: $0) }
      #expect(together == separate, "\(JSONWriter.canonical(json).prefix(200))")
    }
  }
}
