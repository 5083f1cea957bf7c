import Testing

@testable import IAMEvidence

/// One test per rule of the general engine, on concrete documents and the bundled catalog.
private let engine = PolicyEngine()
private let catalog = ActionCatalog.bundled

private func json(_ text: String) -> JSONValue {
  do { return try JSONParser.parse(text) } catch { fatalError("bad test JSON: \(error)\n\(text)") }
}

/// A document from statement JSON texts.
private func doc(_ statements: String...) -> PolicyAnalysis {
  engine.analyse(json(#"{"Version":"2012-10-17","Statement":["# + statements.joined(separator: ",") + "]}"))
}

private func allow(_ action: String, _ resource: String = #""*""#, extra: String = "") -> String {
  #"{"Effect":"Allow","Action":\#(action),"Resource":\#(resource)\#(extra)}"#
}

private func deny(_ action: String, _ resource: String = #""*""#, extra: String = "") -> String {
  #"{"Effect":"Deny","Action":\#(action),"Resource":\#(resource)\#(extra)}"#
}

private func target(_ t: ActionTarget) -> ResolvedTarget {
  do { return try engine.resolve(t) } catch { fatalError("\(error)") }
}

private let everything = target(.allActions)
private let iamService = target(.service("iam"))
private let passRole = target(.actions(["iam:PassRole"]))
private let escalation = target(.actions(["iam:PassRole", "ec2:RunInstances"]))

private func index(_ name: String) -> Int { catalog.index(of: name)! }

/// Whether `resource` (a JSON value) gives `action` on all resources in an Allow.
private func onAll(_ action: String, _ resource: String) -> Bool {
  doc(allow("\"\(action)\"", resource)).allowed.contains(index(action))
}

@Suite struct EngineActionTests {
  @Test(arguments: [#""*""#, #""*:*""#, #"["*"]"#, #""**""#, #"["s3:GetObject","*:*"]"#])
  func everyActionOnEveryResourceIsFullAdmin(action: String) {
    let r = engine.fullAccess(doc(allow(action)), target: everything)
    #expect(r.verdict == .holds)
    #expect(r.granted == catalog.all)
    #expect(r.reasons == [.allowStar, .resourceStar])
    #expect(r.grantingStatementIndexes == [0])
    #expect(r.why.contains("all 20,455 actions of the catalog"))
  }

  @Test func twoStatementsTogetherCoverEverything() {
    let d = doc(#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#, allow(#""iam:*""#))
    let r = engine.fullAccess(d, target: everything)
    #expect(r.verdict == .holds)
    #expect(r.grantingStatementIndexes == [0, 1])
    #expect(r.reasons == [.allowNotAction, .resourceStar, .allowServiceWildcard, .combinedStatements])
  }

  @Test func notActionLeavingIAMOutIsNotFullAdmin() {
    let d = doc(#"{"Effect":"Allow","NotAction":["iam:*"],"Resource":"*"}"#)
    let r = engine.fullAccess(d, target: everything)
    #expect(r.verdict == .partial)
    #expect(r.granted == catalog.all.subtracting(iamService.actions))
    #expect(
      r.why
        == "Statement[0] allows every action of the catalog except all 187 iam actions on all resources (allow-notaction, resource-star). Not allowed on all resources: all 187 iam actions."
    )
    #expect(engine.fullAccess(d, target: iamService).verdict == .none)
    #expect(engine.fullAccess(d, target: target(.service("kms"))).verdict == .holds)
  }

  @Test func actionsMatchCaseInsensitively() {
    for pattern in [#""IAM:passrole""#, #""iam:PASSROLE""#, #""iAm:Pass*""#, #""iam:?assRole""#, #""*:PassRole""#] {
      #expect(engine.fullAccess(doc(allow(pattern)), target: passRole).verdict == .holds, "\(pattern)")
    }
    #expect(engine.fullAccess(doc(allow(#""iam:PassRol""#)), target: passRole).verdict == .none)
    #expect(engine.fullAccess(doc(allow(#""iam:?PassRole""#)), target: passRole).verdict == .none)
  }

  @Test func serviceWildcardCoversANamedTarget() {
    let r = engine.fullAccess(doc(allow(#""iam:*""#)), target: passRole)
    #expect(r.verdict == .holds)
    #expect(r.reasons == [.allowServiceWildcard, .resourceStar])
    #expect(engine.fullAccess(doc(allow(#""iam:*""#)), target: iamService).verdict == .holds)
    // A partial wildcard is an action list.
    #expect(engine.fullAccess(doc(allow(#""iam:Pass*""#)), target: passRole).reasons == [.allowActionList, .resourceStar])
    #expect(engine.fullAccess(doc(allow(#""iam:Get*""#)), target: passRole).verdict == .none)
  }

  @Test func unknownActionsAreIgnored() {
    let d = doc(allow(#"["iam:NoSuchThing","madeup:Everything","iam:PassRole"]"#))
    #expect(d.allowed == passRole.actions)
    #expect(doc(allow(#""madeup:*""#)).statements.isEmpty)
    // Case folding outside ASCII: the Kelvin sign is a k, in names and in wildcards.
    #expect(doc(allow(#""\u212Ams:Decrypt""#)).allowed == ActionSet(index: index("kms:Decrypt")))
    #expect(doc(allow(#""\u212Ams:*""#)).allowed.count == 55)
    // A pattern keeping a non-ASCII character after case folding matches no catalog action.
    #expect(doc(allow(#""iam:Pass\u00efRole""#)).allowed.isEmpty)
  }
}

@Suite struct EngineResourceTests {
  @Test(arguments: [
    (#""arn:aws:iam::*:role/*""#, true),
    (#""arn:aws:iam::111122223333:role/*""#, true),
    (#""arn:aws-cn:iam::111122223333:role*""#, true),
    (#""arn:*:iam::*:role/*""#, true),
    (#""arn:*""#, true),
    (#""arn:aws:iam::*:*""#, true),
    (#""arn:aws:*""#, true),
    (#"["arn:aws:iam::*:role/a*","arn:aws:iam::*:role/*"]"#, true),
    (#""arn:aws:iam::*:role/app-*""#, false),
    (#""arn:aws:iam::*:role/?*""#, false),
    (#""arn:aws:iam::*:role/?""#, false),
    (#""arn:aws:iam::*:role/${aws:username}""#, false),
    (#""arn:aws:iam::*:role/*${aws:username}""#, false),
    (#""arn:aws:iam::*:user/*""#, false),
    (#""arn:aws:iam:us-east-1:*:role/*""#, false),  // IAM ARNs have no region
    (#""arn:aws:iam::${aws:PrincipalAccount}:role/*""#, true),  // the account field is ignored
    (#""arn:aws:s3:::*""#, false),
    (#""arn:aws:iam::*:role/*/x""#, false),
    (#""*""#, true),
  ])
  func patternsCoverPassRolesFormat(resource: String, covers: Bool) {
    #expect(onAll("iam:PassRole", resource) == covers, "\(resource)")
  }

  @Test func everyFormatOfTheActionMustBeCovered() {
    // s3:GetObject takes objects and access-point objects.
    #expect(!onAll("s3:GetObject", #""arn:aws:s3:::*""#))
    #expect(!onAll("s3:GetObject", #""arn:aws:s3:::*/*""#))
    #expect(onAll("s3:GetObject", #"["arn:aws:s3:::*/*","arn:aws:s3:*:*:accesspoint/*/object/*"]"#))
    #expect(onAll("s3:GetObject", #""arn:aws:s3:*""#))
    // ec2:RunInstances also takes ARNs of other services (resource-groups, license-manager, ...).
    #expect(!onAll("ec2:RunInstances", #""arn:aws:ec2:*:*:*""#))
    #expect(onAll("ec2:RunInstances", #""arn:aws:*""#))
    #expect(onAll("ec2:RunInstances", #""arn:*""#))
  }

  @Test func policyVariablesAreNotWildcards() {
    #expect(!onAll("iam:CreateAccessKey", #""arn:aws:iam::*:user/${aws:username}""#))
    #expect(onAll("iam:CreateAccessKey", #""arn:aws:iam::*:user/*""#))
    // The escapes stand for their literal character.
    #expect(!onAll("iam:ListRoles", #""${?}""#))
    #expect(onAll("iam:ListRoles", #""${*}""#))
  }

  @Test func actionsTakingOnlyTheWildcard() {
    // iam:ListRoles takes only "*": a pattern must match the string "*" itself.
    #expect(onAll("iam:ListRoles", #""*""#))
    #expect(!onAll("iam:ListRoles", #""arn:*""#))
    #expect(!onAll("iam:ListRoles", #""arn:aws:iam::*:role/*""#))
    // arn:* gives every action that takes a resource type, none of the wildcard-only ones.
    let d = doc(allow(#""*""#, #""arn:*""#))
    #expect(d.allowed == catalog.all.subtracting(catalog.wildcardOnly))
    #expect(engine.fullAccess(d, target: everything).verdict == .partial)
    #expect(engine.fullAccess(d, target: passRole).reasons == [.allowStar, .resourcePatternCovers])
  }

  @Test func notResourceInAnAllow() {
    // Covers none of the action's formats: all resources.
    let none = doc(#"{"Effect":"Allow","Action":"iam:PassRole","NotResource":"arn:aws:s3:::secret/*"}"#)
    #expect(engine.fullAccess(none, target: passRole).verdict == .holds)
    #expect(engine.fullAccess(none, target: passRole).reasons == [.allowActionList, .notResource])
    // Covers the format: not all resources.
    let covers = doc(#"{"Effect":"Allow","Action":"iam:PassRole","NotResource":"arn:aws:iam::*:role/*"}"#)
    #expect(engine.fullAccess(covers, target: passRole).verdict == .none)
    // Wildcard-only actions: all resources unless a pattern matches "*".
    let list = doc(#"{"Effect":"Allow","Action":"iam:ListRoles","NotResource":"arn:aws:iam::*:role/*"}"#)
    #expect(list.allowed.contains(index("iam:ListRoles")))
    let star = doc(#"{"Effect":"Allow","Action":["iam:ListRoles","iam:PassRole"],"NotResource":"*"}"#)
    #expect(star.allowed.isEmpty)
    // The rule is "covers any format", not "matches some resource": excluding some roles still leaves
    // every other role on all resources.
    let some = doc(#"{"Effect":"Allow","Action":"iam:PassRole","NotResource":"arn:aws:iam::*:role/admin-*"}"#)
    #expect(engine.fullAccess(some, target: passRole).verdict == .holds)
  }

  /// Hostile patterns end within the work budget: what cannot be decided counts as covered in an Allow
  /// (the conservative side) and as not covered in a Deny (never credited).
  @Test func pathologicalPatternsStayBounded() {
    let many = "arn:" + String(repeating: "*a", count: 1500) + "*"
    let letters = "arn:" + (0..<600).map { "*\(Character(Unicode.Scalar(0x4E00 + $0)!))" }.joined() + "*"
    let budgeted = "arn:" + String(repeating: "*a", count: 30) + "*" + String(repeating: "?", count: 30)
    for pattern in [many, letters, String(repeating: "?*", count: 2000), budgeted] {
      let resource = JSONWriter.quoted(pattern)
      let allowed = doc(allow(#""iam:PassRole""#, resource)).allowed
      let denied = doc(deny(#""iam:PassRole""#, resource)).denied
      let coverage = engine.coverage(pattern)
      // Undecided formats: an Allow counts them, a Deny does not.
      if !coverage.undecided.isEmpty {
        #expect(allowed == passRole.actions)
        #expect(denied.isEmpty)
      }
      #expect(denied.isSubset(of: allowed))
    }
  }

  @Test func denyWithNotResourceIsNeverCredited() {
    let d = doc(allow(#""*""#), #"{"Effect":"Deny","Action":"iam:PassRole","NotResource":"arn:aws:s3:::x"}"#)
    #expect(d.denied.isEmpty)
    let r = engine.fullAccess(d, target: passRole)
    #expect(r.verdict == .holds)
    #expect(r.hasNote(.denyLimitedResources))
    #expect(engine.canPerform(d, actions: passRole).verdict == .can)
  }

  @Test func denyOnAllResourcesIsReadStrictly() {
    // "*" or a pattern covering every format: credited; a narrower pattern: not.
    #expect(doc(deny(#""iam:PassRole""#)).denied == passRole.actions)
    #expect(doc(deny(#""iam:PassRole""#, #""arn:aws:iam::*:role/*""#)).denied == passRole.actions)
    #expect(doc(deny(#""iam:PassRole""#, #""arn:aws:iam::*:role/x*""#)).denied.isEmpty)
    #expect(doc(deny(#""iam:PassRole""#, #""arn:aws:iam::*:role/?*""#)).denied.isEmpty)
    #expect(doc(deny(#""iam:ListRoles""#, #""arn:*""#)).denied.isEmpty)
    // With a Condition a Deny is not credited at all.
    let conditional = doc(deny(#""iam:PassRole""#, extra: #","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}"#))
    #expect(conditional.denied.isEmpty)
  }
}

@Suite struct EngineVerdictTests {
  @Test func conditionalGrantStillCountsAndIsNoted() throws {
    let d = doc(allow(#""*""#, extra: #","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}"#))
    let r = engine.fullAccess(d, target: everything)
    #expect(r.verdict == .holds)
    let note = try #require(r.notes.first { $0.code == .conditional })
    #expect(note.statements == [0])
    #expect(note.condition == json(#"{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}"#))
    #expect(r.why.contains("Conditions do not narrow the grant."))
  }

  @Test func fullAccessIsNeutralisedOnlyByACompleteUnconditionalDeny() {
    let neutralised = engine.fullAccess(doc(allow(#""*""#), deny(#""*""#)), target: everything)
    #expect(neutralised.verdict == .none)
    #expect(neutralised.hasNote(.neutralisedByDeny))
    #expect(neutralised.grantingStatements.isEmpty)
    #expect(neutralised.denyingStatements.map(\.statement) == [1])

    let partial = engine.fullAccess(doc(allow(#""*""#), deny(#""iam:*""#)), target: everything)
    #expect(partial.verdict == .holds)
    #expect(partial.hasNote(.partialDeny))
    #expect(partial.effective == catalog.all.subtracting(iamService.actions))

    let conditional = engine.fullAccess(
      doc(allow(#""*""#), deny(#""*""#, extra: #","Condition":{"Bool":{"aws:SecureTransport":"false"}}"#)), target: everything)
    #expect(conditional.verdict == .holds)
    #expect(conditional.hasNote(.conditionalDeny))
    #expect(conditional.notes.first { $0.code == .conditionalDeny }?.condition != nil)

    let limited = engine.fullAccess(doc(allow(#""*""#), deny(#""*""#, #""arn:aws:s3:::*""#)), target: everything)
    #expect(limited.verdict == .holds)
    #expect(limited.hasNote(.denyLimitedResources))

    // Two Deny statements that together deny every target action neutralise it.
    let together = engine.fullAccess(doc(allow(#""iam:*""#), deny(#""iam:P*""#), deny(#"["iam:*"]"#)), target: iamService)
    #expect(together.verdict == .none)
  }

  @Test func partialGrantOfANamedTarget() {
    let r = engine.fullAccess(doc(allow(#""iam:PassRole""#)), target: escalation)
    #expect(r.verdict == .partial)
    #expect(r.granted == passRole.actions)
    #expect(r.why.hasSuffix("Not allowed on all resources: ec2:RunInstances."))
  }

  @Test func invalidGrammarIsAnErrorNeverAPass() {
    let d = engine.analyse(json(#"{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}"#))
    #expect(!d.isValid)
    let r = engine.fullAccess(d, target: everything)
    #expect(r.verdict == .error)
    #expect(r.errors.first?.description == #"Statement[0]: Effect must be "Allow" or "Deny", found "allow""#)
    #expect(r.why.hasPrefix("The policy document is invalid and cannot be judged"))
    #expect(r.indeterminate == catalog.all)
    #expect(engine.canPerform(d, actions: passRole).verdict == .error)
  }

  @Test func resourcePatternReasonAndStatementsOfAGrant() {
    let d = doc(allow(#""s3:*""#, #""arn:aws:s3:::bucket/*""#), allow(#""iam:PassRole""#, #""arn:aws:iam::*:role/*""#))
    #expect(d.statements.count == 2)
    let r = engine.fullAccess(d, target: passRole)
    #expect(r.verdict == .holds)
    #expect(r.grantingStatementIndexes == [1])
    #expect(r.reasons == [.allowActionList, .resourcePatternCovers])
  }
}

@Suite struct EngineCapabilityTests {
  @Test func canPerformReportsTheStatementsPerAction() throws {
    let d = doc(allow(#""iam:PassRole""#), allow(#"["ec2:RunInstances","iam:Pass*"]"#))
    let r = engine.canPerform(d, actions: escalation)
    #expect(r.verdict == .can)
    #expect(r.actions.map(\.name) == ["ec2:RunInstances", "iam:PassRole"])
    let pass = try #require(r.actions.first { $0.name == "iam:PassRole" })
    #expect(pass.allowedBy == [StatementRef(source: 0, statement: 0), StatementRef(source: 0, statement: 1)])
    #expect(r.sources == [0])
  }

  @Test func oneUnconditionalDenyOnAllResourcesBreaksIt() {
    let d = doc(allow(#""*""#), deny(#""ec2:RunInstances""#))
    let r = engine.canPerform(d, actions: escalation)
    #expect(r.verdict == .cannot)
    #expect(r.actions.first { $0.name == "ec2:RunInstances" }?.deniedBy == [StatementRef(source: 0, statement: 1)])
    #expect(r.hasNote(.neutralisedByDeny))
    #expect(r.why.contains("ec2:RunInstances denied by Statement[1]"))
    // A Deny on some resources, or under a Condition, does not.
    #expect(
      engine.canPerform(doc(allow(#""*""#), deny(#""ec2:RunInstances""#, #""arn:aws:ec2:*:*:instance/*""#)), actions: escalation).verdict
        == .can)
    let conditional = engine.canPerform(
      doc(allow(#""*""#), deny(#""ec2:*""#, extra: #","Condition":{"Bool":{"aws:ViaAWSService":"false"}}"#)), actions: escalation)
    #expect(conditional.verdict == .can)
    #expect(conditional.hasNote(.conditionalDeny))
  }

  @Test func limitedGrantsAreNotAllResources() throws {
    let d = doc(allow(#""iam:PassRole""#, #""arn:aws:iam::*:role/app-*""#), allow(#""ec2:RunInstances""#))
    let r = engine.canPerform(d, actions: escalation)
    #expect(r.verdict == .cannot)
    let pass = try #require(r.actions.first { $0.name == "iam:PassRole" })
    #expect(pass.allowedBy.isEmpty && pass.limitedBy == [StatementRef(source: 0, statement: 0)])
    #expect(r.why.contains("iam:PassRole is not allowed on all resources"))
  }

  @Test func severalActionSetsAtOnceGiveTheSameAnswers() throws {
    let d = doc(allow(#""iam:PassRole""#), allow(#""ec2:*""#), deny(#""lambda:InvokeFunction""#))
    let methods = [
      escalation, target(.actions(["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"])), passRole,
      target(.actions(["iam:CreateAccessKey"])),
    ]
    let batch = engine.canPerform(d, each: methods)
    #expect(batch.map(\.verdict) == [.can, .cannot, .can, .cannot])
    for (one, method) in zip(batch, methods) {
      let alone = engine.canPerform(d, actions: method)
      #expect(one.verdict == alone.verdict && one.actions == alone.actions && one.why == alone.why)
    }
  }

  @Test func conditionalAllowsAreNoted() throws {
    let d = doc(
      allow(#""iam:PassRole""#, extra: #","Condition":{"StringEquals":{"iam:PassedToService":"ec2.amazonaws.com"}}"#), allow(#""ec2:*""#))
    let r = engine.canPerform(d, actions: escalation)
    #expect(r.verdict == .can)
    #expect(try #require(r.actions.first { $0.name == "iam:PassRole" }).isConditionalOnly)
    #expect(r.notes.filter { $0.code == .conditional }.map(\.statements) == [[0]])
  }
}

@Suite struct EngineIdentityTests {
  private func resolve(_ principal: Principal, _ snapshot: [Principal], _ managed: [ManagedPolicy]) -> (IdentitySources, IdentityPolicies) {
    let groups = Dictionary(snapshot.filter { $0.type == .group }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    let byARN = Dictionary(managed.map { ($0.arn, $0) }, uniquingKeysWith: { a, _ in a })
    let sources = IdentitySources(principal: principal, policiesByARN: byARN, groupsByName: groups)
    return (sources, sources.policies(engine.analyse))
  }

  @Test func aMethodAssembledFromTwoSources() throws {
    let group = Synth.group(
      "deployers", inline: [try Synth.inline("pass", #"{"Statement":{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}}"#)])
    let run = try Synth.managed(Synth.policyARN("run"), #"{"Statement":{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"}}"#)
    let user = Synth.user("alice", attached: [run.arn], groups: ["deployers"])
    let (sources, identity) = resolve(user, [group, user], [run])
    #expect(sources.sources.map(\.source.label) == ["managed \(run.arn)", "group deployers: inline pass"])

    let r = engine.canPerform(identity, actions: escalation)
    #expect(r.verdict == .can)
    #expect(r.sources == [0, 1])
    #expect(r.reasons.last == .combinedSources)
    #expect(sources.grantSources(r.actions.first { $0.name == "iam:PassRole" }!.sources).map(\.kind) == ["group-inline"])
    #expect(sources.grantSources(r.actions.first { $0.name == "ec2:RunInstances" }!.sources).map(\.kind) == ["managed"])
    #expect(r.why.contains("iam:PassRole (group deployers: inline pass Statement[0])"))
    // Neither source alone.
    for s in identity.sources {
      #expect(engine.canPerform(IdentityPolicies(sources: [s]), actions: escalation).verdict == .cannot)
    }
  }

  @Test func aBoundaryRemovesAnAction() throws {
    let admin = try Synth.managed(Synth.policyARN("admin"), #"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#)
    let boundary = try Synth.managed(
      Synth.policyARN("boundary"),
      #"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"iam:PassRole","Resource":"*"}]}"#)
    let role = Synth.role("builder", attached: [admin.arn], boundary: boundary.arn)
    let (_, identity) = resolve(role, [role], [admin, boundary])
    let can = engine.canPerform(identity, actions: escalation)
    #expect(can.verdict == .cannot)
    #expect(can.actions.first { $0.name == "iam:PassRole" }?.outsideBoundary == true)
    #expect(can.hasNote(.outsideBoundary))
    let full = engine.fullAccess(identity, target: everything)
    #expect(full.verdict == .partial)
    #expect(full.outsideBoundary == passRole.actions)
    // A boundary allowing only some actions on limited resources keeps those out too.
    let narrow = try Synth.managed(
      Synth.policyARN("narrow"), #"{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::*"}}"#)
    let other = Synth.role("other", attached: [admin.arn], boundary: narrow.arn)
    let (_, bounded) = resolve(other, [other], [admin, narrow])
    #expect(engine.fullAccess(bounded, target: passRole).verdict == .none)
  }

  @Test func unknownPolicyIsAnErrorUnlessItAlreadyHolds() throws {
    let missing = "arn:aws:iam::aws:policy/AdministratorAccess"
    let readOnly = try Synth.managed(Synth.policyARN("ro"), #"{"Statement":{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}}"#)
    let user = Synth.user("bob", attached: [missing, readOnly.arn])
    let (sources, identity) = resolve(user, [user], [readOnly])
    #expect(sources.unknownPolicies.map(\.policyARN) == [missing])
    let r = engine.fullAccess(identity, target: everything)
    #expect(r.verdict == .error)
    #expect(r.hasNote(.unknownPolicy))
    #expect(r.why.contains("\(missing) is missing or invalid"))
    #expect(engine.canPerform(identity, actions: escalation).verdict == .error)

    // Another source already makes it hold: the unknown policy cannot change that.
    let admin = try Synth.managed(Synth.policyARN("admin"), #"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#)
    let held = Synth.user("carol", attached: [missing, admin.arn])
    let (_, heldIdentity) = resolve(held, [held], [admin])
    #expect(engine.fullAccess(heldIdentity, target: everything).verdict == .holds)
    #expect(engine.canPerform(heldIdentity, actions: escalation).verdict == .can)

    // A Deny of some actions does not keep full access from holding (partial-deny), so an unknown
    // policy that could grant everything else still makes it an error, not a pass.
    let partly = try Synth.managed(Synth.policyARN("deny-iam"), #"{"Statement":{"Effect":"Deny","Action":"iam:*","Resource":"*"}}"#)
    let partial = Synth.user("eve", attached: [missing, partly.arn])
    let (_, partialIdentity) = resolve(partial, [partial], [partly])
    let partialResult = engine.fullAccess(partialIdentity, target: everything)
    #expect(partialResult.verdict == .error, "\(partialResult.why)")
    #expect(partialResult.indeterminate == catalog.all)

    // A credited Deny cannot be undone by an unknown policy: a definite "cannot".
    let denier = try Synth.managed(Synth.policyARN("deny"), #"{"Statement":{"Effect":"Deny","Action":"ec2:RunInstances","Resource":"*"}}"#)
    let denied = Synth.user("dan", attached: [missing, denier.arn])
    let (_, deniedIdentity) = resolve(denied, [denied], [denier])
    #expect(engine.canPerform(deniedIdentity, actions: escalation).verdict == .cannot)
  }

  @Test func invalidSourceIsNotedAndOtherGrantsStillCount() throws {
    let user = Synth.user(
      "erin",
      inline: [
        try Synth.inline("broken", #"{"Statement":{"Effect":"Allow","Action":"*"}}"#),
        try Synth.inline("admin", #"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#),
      ])
    let (_, identity) = resolve(user, [user], [])
    let r = engine.fullAccess(identity, target: everything)
    #expect(r.verdict == .holds)
    #expect(r.hasNote(.sourceInvalid))
    #expect(r.errors.first?.source == "inline broken")
    #expect(r.grantingSources == [1])

    let alone = Synth.user("frank", inline: [try Synth.inline("broken", #"{"Statement":{"Effect":"Allow","Action":"*"}}"#)])
    let (_, aloneIdentity) = resolve(alone, [alone], [])
    #expect(engine.fullAccess(aloneIdentity, target: everything).verdict == .error)
  }

  @Test func missingGroupsAndBoundaries() throws {
    let user = Synth.user("gina", groups: ["ghost"], boundary: Synth.policyARN("gone"))
    let (sources, identity) = resolve(user, [user], [])
    #expect(sources.unknownGroups == ["ghost"])
    #expect(sources.unknownBoundary == Synth.policyARN("gone"))
    let r = engine.fullAccess(identity, target: passRole)
    // The group's policies are unknown (error); the missing boundary could only narrow.
    #expect(r.verdict == .error)
    #expect(r.notes.filter { $0.code == .unknownPolicy }.count == 2)

    let admin = try Synth.managed(Synth.policyARN("admin"), #"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#)
    let bounded = Synth.role("h", attached: [admin.arn], boundary: Synth.policyARN("gone"))
    let (_, b) = resolve(bounded, [bounded], [admin])
    #expect(engine.fullAccess(b, target: passRole).verdict == .holds)
    let plain = Synth.role("i", boundary: Synth.policyARN("gone"))
    let (_, p) = resolve(plain, [plain], [])
    #expect(engine.fullAccess(p, target: passRole).verdict == .none)
  }

  @Test func grantsAddUpAcrossSourcesForFullAccess() throws {
    let a = try Synth.managed(Synth.policyARN("a"), #"{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}"#)
    let b = try Synth.managed(Synth.policyARN("b"), #"{"Statement":{"Effect":"Allow","Action":"iam:*","Resource":"*"}}"#)
    let role = Synth.role("admin", attached: [a.arn, b.arn])
    let (_, identity) = resolve(role, [role], [a, b])
    let r = engine.fullAccess(identity, target: everything)
    #expect(r.verdict == .holds)
    #expect(r.grantingSources == [0, 1])
    #expect(r.reasons.contains(.combinedSources))
    #expect(r.why.hasPrefix("managed \(a.arn), managed \(b.arn) together allow all 20,455 actions of the catalog"))
  }
}

@Suite struct EngineTargetTests {
  @Test func targetsResolveToCatalogActions() throws {
    #expect(target(.allActions).actions == catalog.all)
    #expect(target(.service("KMS")).actions.count == 55)
    #expect(
      target(.accessLevels([.permissionsManagement], service: "kms")).names == [
        "kms:CreateGrant", "kms:PutKeyPolicy", "kms:RetireGrant", "kms:RevokeGrant",
      ])
    let union = target(.union([.actions(["iam:PassRole"]), .service("kms")]))
    #expect(union.actions.count == 56)
    #expect(
      union.phrase
        == "56 actions (iam:PassRole, kms:CancelKeyDeletion, kms:ConnectCustomKeyStore, kms:CreateAlias, kms:CreateCustomKeyStore, kms:CreateGrant, ...)"
    )
    #expect(target(.actions(["IAM:passrole"])).names == ["iam:PassRole"])
    #expect(throws: ActionCatalogError.self) { try engine.resolve(.actions(["iam:NoSuchAction"])) }
    #expect(throws: ActionCatalogError.self) { try engine.resolve(.service("nosuch")) }
    #expect(ActionTarget.accessLevels([.write, .list], service: nil).description == "every action of access level List, Write")
  }

  /// The ~25 escalation actions all exist in the catalog.
  @Test func escalationActionsExist() throws {
    let names = [
      "iam:PassRole", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:CreateAccessKey", "iam:CreateLoginProfile",
      "iam:UpdateLoginProfile", "iam:AttachUserPolicy", "iam:AttachGroupPolicy", "iam:AttachRolePolicy", "iam:PutUserPolicy",
      "iam:PutGroupPolicy", "iam:PutRolePolicy", "iam:AddUserToGroup", "iam:UpdateAssumeRolePolicy", "sts:AssumeRole",
      "ec2:RunInstances", "lambda:CreateFunction", "lambda:InvokeFunction", "lambda:CreateEventSourceMapping",
      "lambda:UpdateFunctionCode", "glue:CreateDevEndpoint", "glue:UpdateDevEndpoint", "cloudformation:CreateStack",
      "datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition",
    ]
    #expect(try engine.resolve(.actions(names)).actions.count == names.count)
  }
}
