import Testing

@testable import IAMEvidence

/// The engine against a naive reference on a small synthetic catalog: random documents, every action
/// matched one by one with ``IAMGlob``, and coverage decided by brute force (every combination of
/// values for the ignored fields from a pool, every value of the other variables from a pool of
/// strings of a character no pattern uses, of lengths 0 to 3).
@Suite struct PolicyEngineDifferentialTests {
  static let catalogJSON = #"""
    {"source":"synthetic","source_version":"test","source_date":"2024-01-01","licence":"MIT","generated_by":"tests",
     "services":[
      {"prefix":"aa","name":"A","resource_types":[
         ["bucket","arn:${Partition}:aa:::bucket/${Name}"],
         ["object","arn:${Partition}:aa:::bucket/${Name}/${Key}"],
         ["thing","arn:${Partition}:aa:${Region}:${Account}:thing/${Id}"]],
       "actions":[["Get","R",[1],[1]],["GetThing","R",[2],[]],["List","L",[],[]],["Put","W",[0,1],[0]],["Tag","T",[0,2],[]]]},
      {"prefix":"ab","name":"B","resource_types":[
         ["west","arn:${Partition}:ab:us-west-2:${Account}:x/${Id}"],
         ["any","arn:${Partition}:ab:*:*:x:*"]],
       "actions":[["Do","W",[0],[0]],["Go","W",[0,1],[]],["See","L",[],[]]]},
      {"prefix":"iam","name":"IAM","resource_types":[
         ["role","arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}"],
         ["user","arn:${Partition}:iam::${Account}:user/${UserNameWithPath}"]],
       "actions":[["CreateAccessKey","P",[1],[1]],["ListRoles","L",[],[]],["PassRole","P",[0],[0]],["PutUserPolicy","P",[1],[1]]]}
     ]}
    """#

  static let catalog: ActionCatalog = {
    do { return try ActionCatalog(data: Array(catalogJSON.utf8)) } catch { fatalError("\(error)") }
  }()

  static let actionPatterns = [
    "*", "*:*", "aa:*", "AA:get*", "aa:Get", "aa:?et", "a?:*", "*:Put", "iam:Pass*", "iam:*", "IAM:passrole", "ab:*o",
    "iam:List*", "nosuch:*", "aa:G*ing", "*o", "?", "ab:See",
  ]
  static let resourcePatterns = [
    "*", "**", "arn:*", "arn:aws:*", "arn:aws:aa:*", "?", "arn:aws:aa:::bucket/*", "arn:aws:aa:::bucket/*/*",
    "arn:aws:aa:::bucket/x*", "arn:aws:aa:::*", "arn:a?s:aa:::bucket/*", "arn:aws:aa:us-east-1:123:thing/*",
    "arn:aws:aa:*:*:thing/?*", "arn:aws:aa:*:*:thing/*", "arn:aws:aa:::bucket/?", "arn:aws:ab:us-west-2:*:x/*",
    "arn:aws:ab:us-east-1:*:x/*", "arn:aws:ab:*:*:x*", "arn:aws:ab:1?3:*:x:*", "arn:aws:iam::*:role/*",
    "arn:aws:iam::123:role/app-*", "arn:aws:iam::123:*", "arn:aws:iam:*:*:user/*", "arn:aws:iam::*:*/*", "arn:*:iam::*:role/*",
    "arn:aws:iam::1x3:user/??*", "arn:aws:*:*:*:*", "",
  ]
  static let conditions = [nil, #"{"Bool":{"aws:SecureTransport":"true"}}"#]

  /// A random statement's JSON and its parts.
  struct Statement {
    var allow: Bool
    var notAction: Bool
    var actions: [String]
    var notResource: Bool
    var resources: [String]
    var condition: String?

    var json: String {
      func list(_ items: [String]) -> String { "[" + items.map { JSONWriter.quoted($0) }.joined(separator: ",") + "]" }
      var s = #"{"Effect":"\#(allow ? "Allow" : "Deny")","\#(notAction ? "NotAction" : "Action")":\#(list(actions))"#
      s += #","\#(notResource ? "NotResource" : "Resource")":\#(list(resources))"#
      if let condition { s += #","Condition":\#(condition)"# }
      return s + "}"
    }
  }

  static func randomStatement(_ rng: inout SplitMix) -> Statement {
    Statement(
      allow: rng.chance(70), notAction: rng.chance(15),
      actions: (0...rng.below(2)).map { _ in rng.pick(actionPatterns) }, notResource: rng.chance(20),
      resources: (0...rng.below(2)).map { _ in rng.pick(resourcePatterns) }, condition: rng.chance(20) ? conditions[1] : nil)
  }

  // MARK: - The reference

  /// Values tried for a variable of an ignored field (some value must work) and for any other variable
  /// (every value must work; `q` occurs in no pattern).
  static let someValues = ["aws", "aws-cn", "axs", "us-east-1", "us-west-2", "x", "123", "1x3", "a"]
  static let everyValues = ["", "q", "qq", "qqq"]

  /// Brute force: does `pattern` match every instance of `format` for some values of the ignored fields?
  static func referenceCovers(_ pattern: String, _ format: String) -> Bool {
    let glob = IAMGlob(resource: pattern)
    let fields = format.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
    func isVariable(_ f: String) -> Bool { f == "*" || (f.hasPrefix("${") && f.hasSuffix("}")) }
    func choices(_ f: String) -> [String] { isVariable(f) ? someValues : [f] }
    // Variables of the resource part: `${...}` and `*`.
    var parts: [String] = []
    var literal = ""
    var i = fields[5].startIndex
    let r = fields[5]
    while i < r.endIndex {
      if r[i...].hasPrefix("${"), let close = r[i...].firstIndex(of: "}") {
        parts.append(literal)
        literal = ""
        i = r.index(after: close)
      } else if r[i] == "*" {
        parts.append(literal)
        literal = ""
        i = r.index(after: i)
      } else {
        literal.append(r[i])
        i = r.index(after: i)
      }
    }
    parts.append(literal)
    let variables = parts.count - 1
    for p in choices(fields[1]) {
      for region in choices(fields[3]) {
        for account in choices(fields[4]) {
          var all = true
          var counter = Array(repeating: 0, count: variables)
          repeat {
            var text = "arn:\(p):\(fields[2]):\(region):\(account):"
            for k in 0..<variables { text += parts[k] + everyValues[counter[k]] }
            text += parts[variables]
            if !glob.matches(text) {
              all = false
              break
            }
            // Next combination.
            var k = 0
            while k < variables {
              counter[k] += 1
              if counter[k] < everyValues.count { break }
              counter[k] = 0
              k += 1
            }
            if k == variables { break }
          } while true
          if all { return true }
        }
      }
    }
    return false
  }

  static func referenceMatched(_ s: Statement) -> Set<Int> {
    let globs = s.actions.map { IAMGlob(action: $0) }
    let hit = Set((0..<catalog.count).filter { a in globs.contains { $0.matches(catalog.fullName(at: a)) } })
    return s.notAction ? Set(0..<catalog.count).subtracting(hit) : hit
  }

  static func referenceOnAll(_ s: Statement, action a: Int) -> Bool {
    let formats = catalog.arnFormats(at: a)
    let matchesStar = s.resources.contains { IAMGlob(resource: $0).matches("*") }
    if s.notResource {
      if !s.allow { return false }
      if formats.isEmpty { return !matchesStar }
      return !s.resources.contains { p in formats.contains { referenceCovers(p, $0) } }
    }
    if s.resources.contains(where: { !$0.isEmpty && $0.allSatisfy { $0 == "*" } }) { return true }
    if formats.isEmpty { return matchesStar }
    return formats.allSatisfy { f in s.resources.contains { referenceCovers($0, f) } }
  }

  /// The byte-level screen reads every format of the bundled catalog as ``ARNFormat`` does.
  @Test func screenReadsFormatsAsTheAutomatonDoes() throws {
    let bundled = ActionCatalog.bundled
    let screen = bundled.screen
    for (id, text) in bundled.formats.enumerated() {
      let f = try #require(ARNFormat(text))
      let e = screen.entries[id]
      func literal(_ start: Int32, _ count: Int32) -> String {
        String(decoding: screen.bytes[Int(start)..<Int(start + count)], as: UTF8.self)
      }
      #expect(e.partitionVariable == f.partitionIsVariable, "\(text)")
      #expect((e.regionKind == 1) == f.regionIsVariable && (e.accountKind == 1) == f.accountIsVariable, "\(text)")
      #expect((e.regionKind == 0 ? literal(e.regionStart, e.regionCount) : nil) == f.regionLiteral, "\(text)")
      #expect((e.accountKind == 0 ? literal(e.accountStart, e.accountCount) : nil) == f.accountLiteral, "\(text)")
      #expect(Array(screen.bytes[Int(e.prefixStart)..<Int(e.prefixStart + e.prefixCount)]) == f.resourceLiteralPrefix, "\(text)")
      if let service = f.service {
        #expect(service.utf8.withContiguousStorageIfAvailable { screen.formats(ofService: $0).contains(Int32(id)) } == true)
      } else {
        #expect(screen.variableService.contains(Int32(id)))
      }
    }
  }

  @Test func coverageAgreesWithBruteForce() {
    let engine = PolicyEngine(catalog: Self.catalog)
    for pattern in Self.resourcePatterns {
      let c = engine.coverage(pattern)
      #expect(c.undecided.isEmpty)
      for (f, format) in Self.catalog.formats.enumerated() {
        let expected = Self.referenceCovers(pattern, format)
        #expect((c.universal || c.covered.contains(Int32(f))) == expected, "\(pattern) covers \(format): expected \(expected)")
      }
      #expect(c.matchesWildcard == IAMGlob(resource: pattern).matches("*"), "\(pattern) matches *")
    }
  }

  @Test func randomDocumentsAgreeWithTheReference() throws {
    var rng = SplitMix(state: 0xE6_1E_2024)
    let engine = PolicyEngine(catalog: Self.catalog)
    let everything = try engine.resolve(.allActions)
    for round in 0..<400 {
      let statements = (0...rng.below(3)).map { _ in Self.randomStatement(&rng) }
      let text = #"{"Version":"2012-10-17","Statement":["# + statements.map(\.json).joined(separator: ",") + "]}"
      let analysis = engine.analyse(try JSONParser.parse(text))
      try #require(analysis.isValid, "\(text)")

      var allowed = Set<Int>()
      var denied = Set<Int>()
      for s in statements {
        for a in Self.referenceMatched(s) where Self.referenceOnAll(s, action: a) {
          if s.allow { allowed.insert(a) } else if s.condition == nil { denied.insert(a) }
        }
      }
      #expect(Set(analysis.allowed.indexes) == allowed, "round \(round): allowed of \(text)")
      #expect(Set(analysis.denied.indexes) == denied, "round \(round): denied of \(text)")

      // Full access to everything and to a random subset, and can-perform of a random pair.
      let all = Set(0..<Self.catalog.count)
      let subset = Set((0..<3).map { _ in rng.below(Self.catalog.count) })
      for (t, resolved) in [
        (all, everything), (subset, ResolvedTarget(target: .allActions, actions: ActionSet(indexes: subset), phrase: "subset")),
      ] {
        let g = allowed.intersection(t)
        let d = denied.intersection(t)
        let expected: AccessVerdict =
          t.isSubset(of: g) && !t.isSubset(of: d) ? .holds : (g.isEmpty || g.isSubset(of: d)) ? .none : .partial
        #expect(engine.fullAccess(analysis, target: resolved).verdict == expected, "round \(round): full access of \(text)")
        let can = subset.allSatisfy { allowed.contains($0) && !denied.contains($0) }
        let verdict = engine.canPerform(analysis, actions: resolved).verdict
        if t == subset { #expect(verdict == (can ? .can : .cannot), "round \(round): can perform \(subset) in \(text)") }
      }
    }
  }
}
