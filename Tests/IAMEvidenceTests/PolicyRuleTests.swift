import Testing

@testable import IAMEvidence

private let evaluator = KMSPolicyEvaluator()
private let catalog = KMSActionCatalog.bundled

private func json(_ text: String) -> JSONValue {
  do { return try JSONParser.parse(text) } catch { fatalError("bad test JSON: \(error)\n\(text)") }
}

/// A one-statement document from the statement's JSON members.
private func doc(_ statements: String...) -> JSONValue {
  json(#"{"Version":"2012-10-17","Statement":["# + statements.joined(separator: ",") + "]}")
}

private func full(_ document: JSONValue) -> PolicyEvaluation { evaluator.evaluateFullKMSAccess(document) }

private func allow(_ action: String, _ resource: String = #""*""#, extra: String = "") -> String {
  #"{"Effect":"Allow","Action":\#(action),"Resource":\#(resource)\#(extra)}"#
}

@Suite struct GlobTests {
  @Test(arguments: [
    ("kms:*", "kms:Decrypt", true), ("KMS:*", "kms:Decrypt", true), ("Kms:*", "kms:decrypt", true),
    ("kms:**", "kms:Decrypt", true), ("km*:*", "kms:Decrypt", true), ("*", "kms:Decrypt", true),
    ("kms:?ecrypt", "kms:Decrypt", true), ("kms:?ecrypt", "kms:ecrypt", false), ("kms:De?crypt", "kms:Decrypt", false),
    ("kms:*crypt*", "kms:ReEncryptFrom", true), ("kms:*crypt*", "kms:Sign", false), ("kms:decrypt", "kms:Decrypt", true),
    ("kms:Decrypt", "kms:DecryptX", false), ("s3:*", "kms:Decrypt", false), ("kms:", "kms:Decrypt", false),
    ("", "", true), ("*", "", true), ("?", "", false), ("a*b*c", "abxxbxc", true), ("a*b*c", "abxxbx", false),
  ])
  func actionGlob(pattern: String, text: String, expected: Bool) {
    #expect(IAMGlob(action: pattern).matches(text) == expected, "\(pattern) vs \(text)")
  }

  @Test func resourceGlobIsCaseSensitiveAndHandlesVariables() {
    #expect(!IAMGlob(resource: "arn:aws:KMS:*").matches("arn:aws:kms:us-east-1:1:key/a"))
    #expect(IAMGlob(resource: "arn:aws:kms:*:${aws:PrincipalAccount}:key/*").matches("arn:aws:kms:r:123:key/a"))
    #expect(IAMGlob(resource: "a${*}b").matches("a*b"))
    #expect(!IAMGlob(resource: "a${*}b").matches("axb"))
    #expect(IAMGlob(resource: "a${?}${$}").matches("a?$"))
    #expect(IAMGlob(resource: "a${unterminated").matches("a${unterminated"))
  }

  @Test func pathologicalPatternsAreFast() {
    let pattern = String(repeating: "*a", count: 2000) + "b"
    let text = String(repeating: "a", count: 5000)
    #expect(!IAMGlob(action: pattern).matches(text))
    #expect(IAMGlob(action: String(repeating: "*", count: 10000) + "a").matches(text))
    #expect(!KeyScope.of(resourcePattern: String(repeating: "*", count: 3000) + "x").coversAllKeys)
  }
}

@Suite struct CatalogTests {
  @Test func bundledCatalog() {
    #expect(catalog.actions.count == 55)
    #expect(catalog.allActionNames.contains("kms:Decrypt"))
    #expect(catalog.decryptActionNames == ["kms:Decrypt", "kms:ReEncryptFrom"])
    #expect(
      catalog.destructiveActionNames == [
        "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DeleteImportedKeyMaterial", "kms:PutKeyPolicy",
        "kms:CreateGrant", "kms:RetireGrant", "kms:RevokeGrant", "kms:DisconnectCustomKeyStore",
        "kms:DisableKeyRotation",
      ])
    #expect(catalog.action(named: "KMS:decrypt")?.name == "Decrypt")
    #expect(catalog.action(named: "s3:Decrypt") == nil)
    #expect(catalog.canonicalName("reencryptfrom") == "kms:ReEncryptFrom")
    #expect(catalog.canonicalName("NewAction") == "kms:NewAction")
    let create = catalog.action(named: "CreateKey")
    #expect(create?.resourceWildcardOnly == true && create?.accessLevel == "Write")
  }

  @Test func catalogFromOtherData() throws {
    let data = Array(
      #"{"service":"kms","actions":[{"name":"Decrypt","access_level":"Write","resource_types":["key"],"resource_wildcard_only":false},{"name":"FutureThing","access_level":"Permissions management","resource_types":[],"resource_wildcard_only":true}]}"#
        .utf8)
    let c = try KMSActionCatalog(data: data)
    #expect(c.allActionNames == ["kms:Decrypt", "kms:FutureThing"])
    #expect(c.destructiveActionNames == ["kms:FutureThing"])
    let e = KMSPolicyEvaluator(catalog: c)
    #expect(e.evaluateFullKMSAccess(doc(allow(#"["kms:Decrypt","kms:Future*"]"#))).verdict == .grantsAll)
  }

  @Test(arguments: [
    #"[]"#, #"{"actions":[]}"#, #"{"service":"s3","actions":[]}"#,
    #"{"actions":[{"name":"kms:X","access_level":"Read","resource_types":[],"resource_wildcard_only":true}]}"#,
    #"{"actions":[{"name":"X","access_level":"Read","resource_types":[1],"resource_wildcard_only":true}]}"#,
    #"{"actions":[{"name":"X","access_level":"Read","resource_types":[],"resource_wildcard_only":"no"}]}"#,
    #"{"actions":[{"name":"X","access_level":"Read","resource_types":[],"resource_wildcard_only":true},{"name":"x","access_level":"Read","resource_types":[],"resource_wildcard_only":true}]}"#,
    #"{"actions": "#,
  ])
  func badCatalogsThrow(text: String) {
    #expect(throws: KMSCatalogError.self) { try KMSActionCatalog(data: Array(text.utf8)) }
  }
}

@Suite struct GrammarTests {
  private func errors(_ text: String) -> [String] {
    switch PolicyDocument.parse(json(text)) {
    case .success: return []
    case .failure(let e): return e.errors.map(\.description)
    }
  }

  @Test(arguments: [
    (#"[]"#, "policy document must be an object, found an array"),
    (#""{}""#, "policy document must be an object, found a string"),
    (#"{"Version":"2012-10-17"}"#, "Statement is missing"),
    (#"{"Statement":[]}"#, "Statement must not be an empty array"),
    (#"{"Statement":"x"}"#, "Statement must be an object or an array of objects, found a string"),
    (
      #"{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
      #"Version must be "2012-10-17" or "2008-10-17", found "2012-10-18""#
    ),
    (#"{"Version":2012,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#, "Version must be a string, found a number"),
    (#"{"Id":1,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#, "Id must be a string, found a number"),
    (#"{"Foo":1,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#, #"unknown top-level element "Foo""#),
    (#"{"Statement":[1]}"#, "Statement[0]: statement must be an object, found a number"),
    (
      #"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"allow","Action":"*","Resource":"*"}]}"#,
      #"Statement[2]: Effect must be "Allow" or "Deny", found "allow""#
    ),
    (#"{"Statement":{"Effect":"DENY","Action":"*","Resource":"*"}}"#, #"Statement[0]: Effect must be "Allow" or "Deny", found "DENY""#),
    (#"{"Statement":{"Effect":true,"Action":"*","Resource":"*"}}"#, #"Statement[0]: Effect must be "Allow" or "Deny", found a boolean"#),
    (#"{"Statement":{"Action":"*","Resource":"*"}}"#, "Statement[0]: Effect is missing"),
    (#"{"Statement":{"Effect":"Allow","Action":"*","NotAction":"iam:*","Resource":"*"}}"#, "Statement[0]: has both Action and NotAction"),
    (#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#, "Statement[0]: has neither Action nor NotAction"),
    (#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}}"#, "Statement[0]: has both Resource and NotResource"),
    (#"{"Statement":{"Effect":"Allow","Action":"*"}}"#, "Statement[0]: has neither Resource nor NotResource"),
    (
      #"{"Statement":{"Effect":"Allow","Action":{"a":1},"Resource":"*"}}"#,
      "Statement[0]: Action must be a string or an array of strings, found an object"
    ),
    (#"{"Statement":{"Effect":"Allow","Action":["kms:*",7],"Resource":"*"}}"#, "Statement[0]: Action[1] must be a string, found a number"),
    (#"{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}"#, "Statement[0]: Action must not be an empty array"),
    (
      #"{"Statement":{"Effect":"Allow","NotAction":null,"Resource":"*"}}"#,
      "Statement[0]: NotAction must be a string or an array of strings, found null"
    ),
    (#"{"Statement":{"Effect":"Allow","Action":"*","Resource":[null]}}"#, "Statement[0]: Resource[0] must be a string, found null"),
    (
      #"{"Statement":{"Effect":"Allow","Action":"*","NotResource":5}}"#,
      "Statement[0]: NotResource must be a string or an array of strings, found a number"
    ),
    (
      #"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":"x"}}"#,
      "Statement[0]: Condition must be an object, found a string"
    ),
    (
      #"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":true}}}"#,
      #"Statement[0]: Condition["Bool"] must be an object, found a boolean"#
    ),
    (
      #"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"k":{}}}}}"#,
      #"Statement[0]: Condition["Bool"]["k"] must be a string, number, boolean or an array of them, found an object"#
    ),
    (#"{"Statement":{"Sid":1,"Effect":"Allow","Action":"*","Resource":"*"}}"#, "Statement[0]: Sid must be a string, found a number"),
    (#"{"Statement":{"Effect":"Allow","Actions":"*","Action":"*","Resource":"*"}}"#, #"Statement[0]: unknown element "Actions""#),
  ])
  func grammarError(text: String, message: String) {
    #expect(errors(text).contains(message), "\(errors(text))")
    // Never a silent pass: the evaluator reports invalid.
    let e = full(json(text))
    #expect(e.verdict.isInvalid)
    #expect(e.verdict.errors.map(\.description).contains(message))
    #expect(e.why.contains("invalid"))
    #expect(e.offendingStatements.isEmpty)
  }

  @Test func reportsEveryProblem() {
    let found = errors(
      #"{"Version":"1","Statement":[{"Effect":"allow","Action":"*"},{"Effect":"Allow","Action":"*","NotAction":"*","Resource":"*"}]}"#)
    #expect(found.count == 4, "\(found)")
    #expect(found.contains("Statement[0]: has neither Resource nor NotResource"))
    #expect(found.contains("Statement[1]: has both Action and NotAction"))
  }

  @Test func singleObjectVersusArray() throws {
    let single = try PolicyDocument(
      json: json(
        #"{"Version":"2008-10-17","Statement":{"Sid":"S","Effect":"Deny","NotAction":"iam:*","NotResource":["a","b"],"Principal":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}"#
      ))
    #expect(single.statementIsSingleObject)
    #expect(single.version == "2008-10-17")
    #expect(single.statements.count == 1)
    let s = single.statements[0]
    #expect(s.index == 0 && s.sid == "S" && s.effect == .deny)
    #expect(s.actions == .notAction(["iam:*"]) && s.resources == .notResource(["a", "b"]))
    #expect(s.principal == .string("*") && s.isConditional)
    #expect(s.json == single.json["Statement"])

    let array = try PolicyDocument(
      json: json(
        #"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Allow","Action":["kms:*"],"Resource":["*"]}]}"#))
    #expect(!array.statementIsSingleObject && array.version == nil)
    #expect(array.statements.map(\.index) == [0, 1])
    #expect(array.statements[1].actions == .action(["kms:*"]))
    #expect(array.statements[1].json == array.json["Statement"]?.arrayValue?[1])
  }

  @Test func versionsEvaluateTheSame() {
    let body = #""Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}"#
    for version in [#""Version":"2012-10-17","#, #""Version":"2008-10-17","#, ""] {
      let e = full(json("{" + version + body + "}"))
      #expect(e.verdict == .grantsAll)
      #expect(e.statementIsSingleObject == true)
    }
  }
}

@Suite struct ActionRuleTests {
  @Test(arguments: [
    #""kms:*""#, #""KMS:*""#, #""Kms:*""#, #""kms:**""#, #""km*:*""#, #""*""#, #"["s3:GetObject","kms:*"]"#, #""*:*""#, #""k?s:*""#,
  ])
  func coversEveryAction(action: String) {
    let e = full(doc(allow(action)))
    #expect(e.verdict == .grantsAll, "\(action)")
    #expect(e.grantedActions == catalog.allActionNames)
    #expect(e.offendingStatements == [0])
    #expect(e.reasons.contains(.resourceStar))
  }

  @Test func reasonCodesForActions() {
    #expect(full(doc(allow(#""*""#))).reasons == [.allowStar, .resourceStar])
    #expect(full(doc(allow(#""*:*""#))).reasons == [.allowStar, .resourceStar])
    #expect(full(doc(allow(#""KMS:*""#))).reasons == [.allowKMSWildcard, .resourceStar])
    #expect(full(doc(allow(#""kms:Decrypt""#))).reasons == [.allowActionList, .resourceStar])
  }

  @Test func partialWildcardGrantsSome() {
    let e = full(doc(allow(#""kms:*crypt*""#)))
    #expect(e.verdict == .grantsSome)
    #expect(e.grantedActions == ["kms:Decrypt", "kms:Encrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo"])
    #expect(evaluator.evaluateDecrypt(doc(allow(#""kms:*crypt*""#))).verdict == .grantsAll)
    #expect(evaluator.evaluateDestructive(doc(allow(#""kms:*crypt*""#))).verdict == .grantsNone)
    #expect(full(doc(allow(#""kms:?ecrypt""#))).grantedActions == ["kms:Decrypt"])
    #expect(full(doc(allow(#""kms:Describe*""#))).grantedActions == ["kms:DescribeCustomKeyStores", "kms:DescribeKey"])
  }

  @Test func actionListCoveringEverythingIsFullAccess() {
    let names = catalog.actions.map { "\"kms:\($0.name.lowercased())\"" }.joined(separator: ",")
    let e = full(doc(allow("[" + names + "]")))
    #expect(e.verdict == .grantsAll)
    #expect(e.reasons == [.allowActionList, .resourceStar])
  }

  @Test func notActionBothWays() {
    let grantsAll = full(doc(#"{"Effect":"Allow","NotAction":["iam:*"],"Resource":"*"}"#))
    #expect(grantsAll.verdict == .grantsAll)
    #expect(grantsAll.reasons == [.allowNotAction, .resourceStar])
    #expect(full(doc(#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#)).verdict == .grantsAll)
    #expect(full(doc(#"{"Effect":"Allow","NotAction":["kms:*"],"Resource":"*"}"#)).verdict == .grantsNone)
    #expect(full(doc(#"{"Effect":"Allow","NotAction":["KMS:*","s3:*"],"Resource":"*"}"#)).verdict == .grantsNone)
    #expect(full(doc(#"{"Effect":"Allow","NotAction":"*","Resource":"*"}"#)).verdict == .grantsNone)
    let some = full(doc(#"{"Effect":"Allow","NotAction":["kms:Decrypt","kms:ReEncrypt*"],"Resource":"*"}"#))
    #expect(some.verdict == .grantsSome)
    #expect(some.grantedActions.count == 52)
    #expect(
      evaluator.evaluateDecrypt(doc(#"{"Effect":"Allow","NotAction":["kms:Decrypt","kms:ReEncrypt*"],"Resource":"*"}"#)).verdict
        == .grantsNone)
  }

  @Test func statementsAddUp() {
    let e = full(
      doc(
        allow(#""kms:Decrypt""#), allow(#"["kms:[A-M]*","kms:*e*"]"#), allow(#""s3:*""#),
        allow(#"["kms:*i*","kms:*a*","kms:*o*"]"#), allow(#"["kms:*u*","kms:Verify"]"#)))
    #expect(e.verdict == .grantsAll)
    #expect(e.offendingStatements == [0, 1, 3, 4])
    #expect(e.reasons.last == .combinedStatements)
    #expect(e.reasons.contains(.allowActionList))
    #expect(e.why.contains("together allow all 55 target actions"))
    // One statement alone covering everything: no combined-statements, but both listed.
    let e2 = full(doc(allow(#""kms:*""#), allow(#""kms:Decrypt""#)))
    #expect(e2.offendingStatements == [0, 1] && !e2.reasons.contains(.combinedStatements))
  }

  @Test func targetNamesAreNormalised() {
    let e = evaluator.evaluateActions(doc(allow(#""kms:decrypt""#)), target: ["decrypt", "KMS:ReEncryptFrom"])
    #expect(e.target == ["kms:Decrypt", "kms:ReEncryptFrom"])
    #expect(e.verdict == .grantsSome && e.grantedActions == ["kms:Decrypt"])
    #expect(e.verdict.grantsAny)
    #expect(evaluator.evaluateActions(doc(allow(#""kms:*""#)), target: []).verdict == .grantsNone)
  }
}

@Suite struct ResourceScopeTests {
  @Test(arguments: [
    "*", "**", "arn:aws:kms:*:*:key/*", "arn:aws:kms:*", "arn:*:kms:*:*:*", "arn:*", "arn:aws:kms:*:*:*",
    "arn:aws:kms:*:${aws:PrincipalAccount}:key/*", "arn:${aws:Partition}:kms:${aws:RequestedRegion}:*:key/*",
    "arn:aws*:kms:*:*:key/*", "arn:aws:kms:*:*:k*", "arn:aws:kms:*:*:key/?*", "arn:aws:kms:*:key/*",
  ])
  func everyKey(pattern: String) {
    #expect(KeyScope.of(resourcePattern: pattern) == .everyKey, "\(pattern)")
    let e = full(doc(allow(#""kms:*""#, "\"\(pattern)\"")))
    #expect(e.verdict == .grantsAll, "\(pattern)")
  }

  @Test(arguments: [
    "arn:aws:kms:*:123456789012:key/*", "arn:aws:kms:us-east-1:123456789012:key/*", "arn:aws:kms:us-east-1:*:key/*",
    "arn:aws-cn:kms:*:*:key/*", "arn:aws:kms:us-east-1:${aws:PrincipalAccount}:key/*", "arn:aws:kms:eu-*:*:key/*",
    "arn:aws:kms:us-east-1:123456789012:*", "arn:aws:kms:us-east-1:*", "arn:aws:kms:?:*:key/*",
  ])
  func allKeysOfAnAccountOrRegion(pattern: String) {
    #expect(KeyScope.of(resourcePattern: pattern) == .allKeys, "\(pattern)")
    let e = full(doc(allow(#""kms:*""#, "\"\(pattern)\"")))
    #expect(e.verdict == .grantsAll, "\(pattern)")
    #expect(e.reasons == [.allowKMSWildcard, .resourceKeyWildcardARN])
  }

  @Test(arguments: [
    "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "arn:aws:kms:*:*:key/mrk-*",
    "arn:aws:kms:*:*:key/*-*", "arn:aws:kms:*:*:key/?", "arn:aws:kms:us-east-1:111122223333:key/${aws:username}x",
  ])
  func someKeys(pattern: String) {
    #expect(KeyScope.of(resourcePattern: pattern) == .someKeys, "\(pattern)")
    let e = full(doc(allow(#""kms:*""#, "\"\(pattern)\"")))
    #expect(e.verdict == .grantsNone)
    #expect(e.grantedActions.isEmpty)
    #expect(e.hasNote(.specificKeys))
    #expect(e.why.contains("specific keys"))
  }

  @Test(arguments: [
    "arn:aws:kms:us-east-1:123456789012:alias/*", "arn:aws:kms:*:*:alias/my-key", "arn:aws:s3:::bucket/*",
    "arn:aws:iam::123456789012:role/*", "arn:aws:KMS:*:*:key/*", "key/*",
  ])
  func noKeys(pattern: String) {
    #expect(KeyScope.of(resourcePattern: pattern) == .noKeys, "\(pattern)")
    let e = full(doc(allow(#""kms:*""#, "\"\(pattern)\"")))
    #expect(e.verdict == .grantsNone && !e.hasNote(.specificKeys))
  }

  @Test func resourceListTakesTheWidest() {
    #expect(full(doc(allow(#""kms:*""#, #"["arn:aws:s3:::b","*"]"#))).verdict == .grantsAll)
    #expect(full(doc(allow(#""kms:*""#, #"["*"]"#))).reasons == [.allowKMSWildcard, .resourceStar])
    #expect(full(doc(allow(#""kms:*""#, #"["arn:aws:kms:*:1:key/a","arn:aws:kms:*:1:alias/*"]"#))).verdict == .grantsNone)
  }

  @Test(arguments: [
    (#"["arn:aws:s3:::bucket/*"]"#, KeyScope.everyKey), (#""arn:aws:kms:*:*:alias/*""#, .everyKey),
    (#""arn:aws:kms:us-east-1:123456789012:key/abc""#, .allKeys), (#""arn:aws:kms:us-east-1:123456789012:key/*""#, .allKeys),
    (#""arn:aws:kms:*:*:key/*""#, .noKeys), (#""*""#, .noKeys), (#"["arn:aws:s3:::b","arn:aws:kms:*""#, .noKeys),
  ])
  func notResource(patterns: String, expected: KeyScope) {
    let list = patterns.hasPrefix("[") && !patterns.hasSuffix("]") ? patterns + "]" : patterns
    let e = full(doc(#"{"Effect":"Allow","Action":"kms:*","NotResource":\#(list)}"#))
    #expect(e.statements[0].keyScope == expected, "\(list)")
    if expected.coversAllKeys {
      #expect(e.verdict == .grantsAll)
      #expect(e.reasons == [.allowKMSWildcard, .notResource])
    } else {
      #expect(e.verdict == .grantsNone)
    }
  }
}

@Suite struct ConditionAndDenyTests {
  @Test func conditionsDoNotNarrow() {
    let e = full(doc(allow(#""kms:*""#, extra: #","Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}"#)))
    #expect(e.verdict == .grantsAll)
    let notes = e.notes(.conditional)
    #expect(notes.count == 1 && notes[0].statements == [0])
    #expect(notes[0].condition == json(#"{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}"#))
    #expect(e.why.contains("Conditions do not narrow"))
    #expect(e.statements[0].isConditional)
  }

  @Test func fullDenyNeutralises() {
    for deny in [
      #"{"Effect":"Deny","Action":"kms:*","Resource":"*"}"#, #"{"Effect":"Deny","Action":"*","Resource":"*"}"#,
      #"{"Effect":"Deny","NotAction":"s3:*","Resource":"*"}"#,
      #"{"Effect":"Deny","Action":"kms:*","NotResource":"arn:aws:s3:::b"}"#,
      #"{"Effect":"Deny","Action":"kms:*","Resource":["arn:aws:kms:*:*:key/*","*"]}"#,
    ] {
      let e = full(doc(allow(#""kms:*""#), deny))
      #expect(e.verdict == .grantsNone, "\(deny)")
      #expect(e.offendingStatements.isEmpty)
      #expect(e.grantedActions == catalog.allActionNames && e.deniedActions == catalog.allActionNames)
      let n = e.notes(.neutralisedByDeny)
      #expect(n.count == 1 && n[0].statements == [0, 1])
      #expect(e.why.contains("Statement[1] denies them unconditionally"))
    }
    // A Deny on every key ARN does not reach the actions that take only Resource "*" (CreateKey,
    // DisconnectCustomKeyStore...): they stay granted, noted partial-deny (version 2 of the KMS checks).
    for resource in [#""Resource":"arn:aws:kms:*:*:key/*""#, #""Resource":"arn:aws:kms:*""#, #""NotResource":"*""#] {
      let keysOnly = full(doc(allow(#""kms:*""#), #"{"Effect":"Deny","Action":"kms:*",\#(resource)}"#))
      if resource.hasPrefix(#""NotResource""#) {
        #expect(keysOnly.deniedActions.isEmpty, "NotResource * denies nothing")
        continue
      }
      #expect(keysOnly.verdict == .grantsAll, "\(resource)")
      #expect(keysOnly.deniedActions == catalog.allActionNames.subtracting(catalog.wildcardOnlyActionNames))
      #expect(keysOnly.hasNote(.partialDeny) && catalog.wildcardOnlyActionNames.contains("kms:CreateKey"))
      #expect(
        evaluator.evaluateDestructive(doc(allow(#""kms:*""#), #"{"Effect":"Deny","Action":"kms:*",\#(resource)}"#)).grantedActions.contains(
          "kms:DisconnectCustomKeyStore"))
      #expect(
        evaluator.evaluateDecrypt(doc(allow(#""kms:*""#), #"{"Effect":"Deny","Action":"kms:*",\#(resource)}"#)).verdict == .grantsNone)
    }
    // Deny first, Allow second: order does not matter.
    #expect(full(doc(#"{"Effect":"Deny","Action":"kms:*","Resource":"*"}"#, allow(#""*""#))).verdict == .grantsNone)
    // Denies add up too.
    let split = full(
      doc(
        allow(#""kms:*""#), #"{"Effect":"Deny","Action":"kms:*e*","Resource":"*"}"#,
        #"{"Effect":"Deny","NotAction":"kms:*e*","Resource":"*"}"#))
    #expect(split.verdict == .grantsNone && split.notes(.neutralisedByDeny)[0].statements == [0, 1, 2])
    // Denying exactly what is granted is enough for a subset target.
    let d = evaluator.evaluateDecrypt(
      doc(allow(#""kms:*""#), #"{"Effect":"Deny","Action":["kms:Decrypt","kms:ReEncryptFrom"],"Resource":"*"}"#))
    #expect(d.verdict == .grantsNone && d.hasNote(.neutralisedByDeny))
  }

  @Test func partialDenyStillFails() {
    let e = full(doc(allow(#""kms:*""#), #"{"Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*"}"#))
    #expect(e.verdict == .grantsAll)
    #expect(e.offendingStatements == [0])
    #expect(e.deniedActions == ["kms:ScheduleKeyDeletion"])
    #expect(e.effectiveActions.count == 54)
    #expect(e.notes(.partialDeny).map(\.statements) == [[1]])
    #expect(e.why.contains("partial-deny"))
    let d = evaluator.evaluateDecrypt(doc(allow(#""kms:*""#), #"{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}"#))
    #expect(d.verdict == .grantsAll && d.hasNote(.partialDeny))
  }

  @Test func conditionalDenyIsNotCredited() {
    let e = full(
      doc(
        allow(#""kms:*""#),
        #"{"Effect":"Deny","NotAction":["iam:ListMFADevices"],"Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}"#
      ))
    #expect(e.verdict == .grantsAll && e.deniedActions.isEmpty)
    let n = e.notes(.conditionalDeny)
    #expect(n.count == 1 && n[0].statements == [1])
    #expect(n[0].condition?["BoolIfExists"] != nil)
  }

  @Test func limitedDenyIsNotCredited() {
    for resource in [
      #""arn:aws:kms:us-east-1:123456789012:key/abc""#, #""arn:aws:kms:us-east-1:123456789012:key/*""#, #""arn:aws:kms:*:*:key/mrk-*""#,
    ] {
      let e = full(doc(allow(#""kms:*""#), #"{"Effect":"Deny","Action":"kms:*","Resource":\#(resource)}"#))
      #expect(e.verdict == .grantsAll, "\(resource)")
      #expect(e.notes(.denyLimitedResources).map(\.statements) == [[1]])
    }
    // A Deny on aliases or S3 does not touch keys: no note.
    let alias = full(doc(allow(#""kms:*""#), #"{"Effect":"Deny","Action":"kms:*","Resource":"arn:aws:kms:*:*:alias/*"}"#))
    #expect(alias.verdict == .grantsAll && alias.notes.isEmpty)
    // Deny with NotResource excluding one key leaves that key: not credited.
    let nr = full(doc(allow(#""kms:*""#), #"{"Effect":"Deny","Action":"kms:*","NotResource":"arn:aws:kms:us-east-1:1:key/k"}"#))
    #expect(nr.verdict == .grantsAll && nr.hasNote(.denyLimitedResources))
  }

  @Test func denyAloneGrantsNothing() {
    let e = full(doc(#"{"Effect":"Deny","Action":"kms:*","Resource":"*"}"#))
    #expect(e.verdict == .grantsNone && e.deniedActions == catalog.allActionNames && e.notes.isEmpty)
    #expect(e.statements[0].isCreditedDeny && e.statements[0].reasons.isEmpty)
  }
}

@Suite struct StatementExplanationTests {
  @Test func explanations() {
    let e = full(
      doc(
        #"{"Sid":"Kms","Effect":"Allow","Action":"kms:*","Resource":"*"}"#, allow(#""s3:GetObject""#),
        #"{"Effect":"Deny","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:1:key/a","Condition":{"Bool":{"x":"true"}}}"#))
    #expect(e.statements.count == 3)
    #expect(e.statements[0].summary == #"Statement[0] (Sid "Kms"): Allow all 55 target actions on every key"#)
    #expect(e.statements[0].grantsOnAllKeys)
    #expect(e.statements[1].matchedActions.isEmpty && e.statements[1].reasons.isEmpty)
    #expect(e.statements[2].summary == "Statement[2]: Deny kms:Decrypt on specific keys, with a Condition")
    #expect(!e.statements[2].isCreditedDeny)
    #expect(
      e.why
        == "Statement[0] allows all 55 target actions on all keys (allow-kms-wildcard, resource-star). Deny statements mitigate it only in part (conditional-deny)."
    )
    #expect(e.notes.map(\.code) == [.conditionalDeny])
  }

  @Test func wrappingOneStatement() throws {
    let d = try PolicyDocument(json: doc(allow(#""s3:*""#), allow(#""kms:*""#)))
    let w = PolicyDocument.wrapping(d.statements[1])
    #expect(w.statements[0].index == 0 && w.statementIsSingleObject)
    #expect(try PolicyDocument(json: w.json) == w)
    #expect(full(w.json).verdict == .grantsAll)
  }
}

@Suite struct EffectiveAccessTests {
  private let adminKMS = PolicySource(label: "kms-admin", document: doc(allow(#""kms:*""#)))

  @Test func unionAcrossSources() {
    let a = PolicySource(label: "a", document: doc(allow(#""kms:*e*""#)))
    let b = PolicySource(label: "b", document: doc(#"{"Effect":"Allow","NotAction":"kms:*e*","Resource":"*"}"#))
    let s3 = PolicySource(label: "s3", document: doc(allow(#""s3:*""#)))
    let e = evaluator.effectiveFullKMSAccess(sources: [a, s3, b])
    #expect(e.verdict == .grantsAll)
    #expect(e.grantingSources == ["a", "b"])
    #expect(e.reasons.contains(.combinedSources))
    #expect(e.sources.map(\.evaluation.verdict) == [.grantsSome, .grantsNone, .grantsSome])
    #expect(evaluator.effectiveFullKMSAccess(sources: [a, s3]).verdict == .grantsSome)
    #expect(evaluator.effectiveFullKMSAccess(sources: [s3]).verdict == .grantsNone)
  }

  @Test func denyInAnotherSourceNeutralises() {
    let deny = PolicySource(label: "deny", document: doc(#"{"Effect":"Deny","Action":"kms:*","Resource":"*"}"#))
    let e = evaluator.effectiveFullKMSAccess(sources: [adminKMS, deny])
    #expect(e.verdict == .grantsNone && e.hasNote(.neutralisedByDeny))
    #expect(e.denyingSources == ["deny"] && e.grantingSources.isEmpty)
    let cond = PolicySource(
      label: "mfa",
      document: doc(#"{"Effect":"Deny","NotAction":"iam:*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}"#))
    let c = evaluator.effectiveFullKMSAccess(sources: [adminKMS, cond])
    #expect(c.verdict == .grantsAll && c.notes(.conditionalDeny).first?.source == "mfa")
    let partial = PolicySource(label: "nodelete", document: doc(#"{"Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*"}"#))
    let p = evaluator.effectiveFullKMSAccess(sources: [adminKMS, partial])
    #expect(p.verdict == .grantsAll && p.hasNote(.partialDeny) && p.denyingSources == ["nodelete"])
  }

  @Test func boundaryLimitsGrants() {
    let noKMS = PolicySource(label: "boundary", document: doc(#"{"Effect":"Allow","NotAction":"kms:*","Resource":"*"}"#))
    let e = evaluator.effectiveFullKMSAccess(sources: [adminKMS], boundary: noKMS)
    #expect(e.verdict == .grantsNone && e.hasNote(.outsideBoundary))
    #expect(e.grantedActions.count == 55 && e.boundaryAllowedActions == [])

    let readOnly = PolicySource(label: "ro", document: doc(allow(#"["kms:Describe*","kms:List*","kms:Get*"]"#)))
    let r = evaluator.effectiveFullKMSAccess(sources: [adminKMS], boundary: readOnly)
    #expect(
      r.verdict == .grantsSome
        && r.boundedGrantedActions.allSatisfy { $0.hasPrefix("kms:Describe") || $0.hasPrefix("kms:List") || $0.hasPrefix("kms:Get") })
    #expect(r.grantingSources == ["kms-admin"])

    let everything = PolicySource(label: "all", document: doc(allow(#""*""#, extra: #","Condition":{"Bool":{"x":"y"}}"#)))
    #expect(evaluator.effectiveFullKMSAccess(sources: [adminKMS], boundary: everything).verdict == .grantsAll)

    let bad = PolicySource(label: "bad", document: json(#"{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}"#))
    let b = evaluator.effectiveFullKMSAccess(sources: [adminKMS], boundary: bad)
    #expect(b.verdict == .grantsAll && b.hasNote(.boundaryInvalid) && b.boundaryAllowedActions == nil)
  }

  @Test func invalidSources() {
    let bad = PolicySource(label: "bad", document: json(#"{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}"#))
    let e = evaluator.effectiveFullKMSAccess(sources: [bad])
    #expect(e.verdict.isInvalid)
    #expect(e.verdict.errors.first?.description == #"bad: Statement[0]: Effect must be "Allow" or "Deny", found "allow""#)
    let withGrant = evaluator.effectiveFullKMSAccess(sources: [bad, adminKMS])
    #expect(withGrant.verdict == .grantsAll && withGrant.hasNote(.sourceInvalid))
    // A partial grant beside an invalid source is not a pass: the invalid one might complete it.
    let decrypt = PolicySource(label: "decrypt", document: json(#"{"Statement":{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}}"#))
    let partial = evaluator.effectiveFullKMSAccess(sources: [bad, decrypt])
    #expect(partial.verdict.isInvalid && partial.hasNote(.sourceInvalid) && partial.grantedActions == ["kms:Decrypt"])
    #expect(evaluator.effectiveFullKMSAccess(sources: [decrypt]).verdict == .grantsSome)
  }
}

/// The byte-level pre-filter of action patterns never drops a pattern the glob could match to a KMS action.
@Suite struct ActionPrefilterTests {
  @Test func prefilterIsConservative() {
    var rng = JSONDifferentialTests.SplitMix(state: 99)
    let alphabet = ["k", "K", "m", "M", "s", "S", ":", "*", "?", "x", "3", "\u{212A}", "é", "d", "e"]
    var dropped = 0
    for _ in 0..<20_000 {
      let pattern = (0..<rng.below(7)).map { _ in alphabet[rng.below(alphabet.count)] }.joined()
      let glob = IAMGlob(action: pattern).mayMatch(prefix: "kms:")
      if !IAMGlob.actionMayMatchKMS(pattern) {
        dropped += 1
        #expect(!glob, "\(pattern) was dropped but can match a kms: action")
      }
    }
    #expect(dropped > 10_000)
    #expect(!IAMGlob.actionMayMatchKMS("s3:GetObject") && IAMGlob.actionMayMatchKMS("KMS:Decrypt") && IAMGlob.actionMayMatchKMS("k?s:*"))
  }
}
