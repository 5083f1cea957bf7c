import Dispatch
import Foundation

/// One statement of a ``PolicyAnalysis``: what its Action/NotAction matches in the catalog and which of
/// those actions it reaches on all resources.
public struct AnalysedStatement: Sendable, Hashable {
  /// 0-based position in `Statement` (0 when `Statement` is a single object).
  public var index: Int
  public var sid: String?
  public var effect: PolicyEffect
  /// The `Condition` block as canonical JSON, nil when the statement has none.
  public var conditionJSON: String?
  /// Catalog actions its Action/NotAction matches, whatever its resources.
  public var matched: ActionSet
  /// The matched actions it reaches on all resources: for an Allow by the Allow rule (conditions
  /// ignored), for a Deny by the strict Deny rule (`Resource` only; a `NotResource` Deny reaches none).
  public var onAllResources: ActionSet
  /// Why an Allow grants ``onAllResources`` (action reason, then resource reason); empty otherwise.
  public var reasons: [PolicyReasonCode]
  /// The `Resource` / `NotResource` element as written (for questions about one concrete ARN, such as
  /// `privilege-escalation-identity`'s self-escalation; nothing judged on all resources reads it).
  public var resources: ResourceElement

  public init(
    index: Int, sid: String?, effect: PolicyEffect, conditionJSON: String?, matched: ActionSet, onAllResources: ActionSet,
    reasons: [PolicyReasonCode], resources: ResourceElement = .resource([])
  ) {
    self.index = index
    self.sid = sid
    self.effect = effect
    self.conditionJSON = conditionJSON
    self.matched = matched
    self.onAllResources = onAllResources
    self.reasons = reasons
    self.resources = resources
  }

  /// Whether the statement has a non-empty Condition.
  public var isConditional: Bool { conditionJSON != nil }

  /// The Condition block, parsed (nil without one).
  public var condition: JSONValue? { conditionJSON.flatMap { try? JSONParser.parse($0) } }

  /// A Deny credited as removing actions: no Condition (its reach is ``onAllResources``).
  public var isCreditedDeny: Bool { effect == .deny && !isConditional && !onAllResources.isEmpty }
}

/// What one policy document allows and denies on all resources, for every catalog action at once.
///
/// Target-independent: a check asks its question of the analysis (``PolicyEngine/fullAccess(_:target:)``,
/// ``PolicyEngine/canPerform(_:actions:)``) without looking at the document again. It keeps only the
/// statements that match some catalog action, and for each two action sets (a few ranges each), so an
/// account's every distinct document can keep its analysis.
public struct PolicyAnalysis: Sendable, Hashable {
  /// Grammar problems; non-empty means the document is invalid and nothing else is set.
  public var errors: [PolicyGrammarError]
  /// The number of statements of the document.
  public var statementCount: Int
  /// Whether `Statement` was a single object.
  public var statementIsSingleObject: Bool
  /// The statements that match at least one catalog action, in document order.
  public var statements: [AnalysedStatement]
  /// Every action some Allow statement reaches on all resources (conditional grants included).
  public var allowed: ActionSet
  /// Every action some unconditional Deny statement reaches on all resources.
  public var denied: ActionSet
  /// Every action some kept statement matches, whatever its effect and resources (lets a question
  /// about a few actions skip the documents that never mention them).
  public var matched: ActionSet
  /// Whether policy variables (`${aws:username}`) are variables in this document: only with `Version`
  /// `"2012-10-17"`; otherwise AWS reads them as literal text.
  public var recognisesVariables: Bool

  public init(
    errors: [PolicyGrammarError], statementCount: Int, statementIsSingleObject: Bool, statements: [AnalysedStatement],
    allowed: ActionSet, denied: ActionSet, matched: ActionSet, recognisesVariables: Bool = true
  ) {
    self.errors = errors
    self.statementCount = statementCount
    self.statementIsSingleObject = statementIsSingleObject
    self.statements = statements
    self.allowed = allowed
    self.denied = denied
    self.matched = matched
    self.recognisesVariables = recognisesVariables
  }

  /// An invalid document's analysis.
  public static func invalid(_ errors: [PolicyGrammarError]) -> PolicyAnalysis {
    PolicyAnalysis(
      errors: errors, statementCount: 0, statementIsSingleObject: false, statements: [], allowed: .empty, denied: .empty, matched: .empty)
  }

  public var isValid: Bool { errors.isEmpty }

  /// Allowed minus denied: what the document on its own lets do on all resources.
  public var effective: ActionSet { allowed.subtracting(denied) }

  /// The statement with document index `index`, if it was kept.
  public func statement(_ index: Int) -> AnalysedStatement? { statements.first { $0.index == index } }
}

/// The general policy engine: judges identity policies for any set of catalog actions.
///
/// Rules (exact, conservative; see the README's methodology):
/// * Actions match case-insensitively as globs on `service:action` (`*` any run, `?` one character);
///   `NotAction` with Allow matches every catalog action it does not match; actions unknown to the
///   catalog are ignored. Allow statements add up.
/// * **All resources** in an Allow: `Resource` holding `"*"`; or patterns of `Resource` that together
///   cover every ARN format of every resource type the catalog lists for the action (a pattern covers
///   a format when it matches it whatever its variable parts hold, partition, region and account
///   ignored; see ``ARNFormat``); an action that takes only `*` needs a pattern matching the string
///   `*`. `NotResource`: on all resources when none of its patterns covers any of the action's
///   formats (for an action that takes only `*`: none matches `*`). Policy variables are never wildcards.
/// * **All resources** in a Deny is read strictly: `Resource` only (a `NotResource` Deny never counts),
///   and only without Condition is a Deny credited.
/// * Conditions do not narrow a grant (noted `conditional`).
///
/// The engine caches what it derives from patterns (action pattern → actions, resource pattern →
/// covered formats, covered formats → actions on all resources): accounts repeat the same patterns
/// thousands of times. It is safe to share between threads. Use one engine per assessment (its caches
/// live as long as it does).
public final class PolicyEngine: @unchecked Sendable {
  public let catalog: ActionCatalog

  private let lock = NSLock()
  private var actionPatterns: [String: ActionPattern] = [:]
  private var resourcePatterns: [String: PatternCoverage] = [:]
  private var formatActions: [FormatKey: ActionSet] = [:]

  /// The actions one Action pattern matches, and the reason code it gives an Allow.
  struct ActionPattern: Sendable {
    var actions: ActionSet
    var reason: PolicyReasonCode
  }

  /// A set of covered formats (and whether a `*` pattern is among them), for a Resource or NotResource.
  struct FormatKey: Hashable {
    var formats: [Int32]
    var wildcard: Bool
    var negated: Bool
  }

  /// An engine over `catalog` (the bundled catalog by default).
  public init(catalog: ActionCatalog = .bundled) { self.catalog = catalog }

  /// Resolves a target once; throws when it names an action or service the catalog lacks.
  public func resolve(_ target: ActionTarget) throws(ActionCatalogError) -> ResolvedTarget {
    let actions = try target.resolve(in: catalog)
    return ResolvedTarget(
      target: target, actions: actions, phrase: catalog.phrase(actions),
      names: actions.count <= 100 ? catalog.names(of: actions) : nil)
  }

  /// Resolves named actions (`iam:PassRole`, ...).
  public func resolve(actions names: [String]) throws(ActionCatalogError) -> ResolvedTarget {
    try resolve(.actions(names))
  }

  // MARK: - Analysis

  /// Analyses unparsed JSON; grammar errors give an invalid analysis.
  public func analyse(_ json: JSONValue) -> PolicyAnalysis {
    switch PolicyDocument.parse(json) {
    case .success(let document): return analyse(document)
    case .failure(let e): return .invalid(e.errors)
    }
  }

  /// Analyses a stored document (parsed from its canonical text).
  public func analyse(_ document: PolicyDocumentText) -> PolicyAnalysis { analyse(document.json) }

  /// Analyses a parsed document.
  public func analyse(_ document: PolicyDocument) -> PolicyAnalysis {
    var statements: [AnalysedStatement] = []
    var allowed: [ActionSet] = []
    var denied: [ActionSet] = []
    for s in document.statements {
      let (matched, actionReason) = actions(of: s.actions)
      if matched.isEmpty { continue }
      let reach: ActionSet
      var reasons: [PolicyReasonCode] = []
      switch s.effect {
      case .allow:
        let (onAll, resourceReason) = allowReach(s.resources, matched: matched)
        reach = onAll
        if !reach.isEmpty { reasons = [actionReason, resourceReason] }
        allowed.append(reach)
      case .deny:
        reach = denyReach(s.resources, matched: matched)
        if !s.isConditional { denied.append(reach) }
      }
      statements.append(
        AnalysedStatement(
          index: s.index, sid: s.sid, effect: s.effect, conditionJSON: s.isConditional ? s.condition.map(JSONWriter.canonical) : nil,
          matched: matched, onAllResources: reach, reasons: reasons, resources: s.resources))
    }
    return PolicyAnalysis(
      errors: [], statementCount: document.statements.count, statementIsSingleObject: document.statementIsSingleObject,
      statements: statements, allowed: ActionSet.union(allowed), denied: ActionSet.union(denied),
      matched: ActionSet.union(statements.map(\.matched)), recognisesVariables: document.version == "2012-10-17")
  }

  /// Analyses many stored documents on every core; keyed by SHA-256 (each distinct document once).
  public func analyse(documents: [PolicyDocumentText]) -> [String: PolicyAnalysis] {
    var unique: [String: PolicyDocumentText] = [:]
    for d in documents { unique[d.sha256] = d }
    let list = Array(unique.values)
    var slots = [PolicyAnalysis?](repeating: nil, count: list.count)
    let chunks = min(max(1, ProcessInfo.processInfo.activeProcessorCount * 4), max(1, list.count))
    slots.withUnsafeMutableBufferPointer { buffer in
      let out = UnsafeSlots(base: buffer.baseAddress!)
      DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
        var i = chunk
        while i < list.count {
          out.base[i] = self.analyse(list[i])
          i += chunks
        }
      }
    }
    var result: [String: PolicyAnalysis] = [:]
    result.reserveCapacity(list.count)
    for (d, a) in zip(list, slots) { result[d.sha256] = a! }
    return result
  }

  // MARK: - Actions

  /// The catalog actions an Action/NotAction element matches, and the Allow reason it gives.
  func actions(of element: ActionElement) -> (ActionSet, PolicyReasonCode) {
    var named: [Int] = []
    var sets: [ActionSet] = []
    var best = PolicyReasonCode.allowActionList
    for p in element.patterns {
      var text = p
      // Plain names (most of them): a hash look-up, nothing allocated.
      let plain = text.withUTF8 { bytes -> Int?? in
        if bytes.contains(where: { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") }) { return nil }
        return .some(catalog.index(ofBytes: bytes))
      }
      if let plain {
        if let i = plain { named.append(i) }
        continue
      }
      let m = actionPattern(p)
      if m.actions.isEmpty { continue }
      sets.append(m.actions)
      if m.reason == .allowStar || (m.reason == .allowServiceWildcard && best == .allowActionList) { best = m.reason }
    }
    if !named.isEmpty { sets.append(ActionSet(indexes: named)) }
    let union = ActionSet.union(sets)
    switch element {
    case .action: return (union, best)
    case .notAction: return (union.complement(count: catalog.count), .allowNotAction)
    }
  }

  /// The actions one pattern matches (case-insensitive glob on `service:action`).
  func actionPattern(_ pattern: String) -> ActionPattern {
    var text = pattern
    let plain = text.withUTF8 { bytes -> ActionPattern? in
      if bytes.contains(where: { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") }) { return nil }
      // A plain name: a binary search in its service, no cache needed.
      let i = catalog.index(ofBytes: bytes)
      return ActionPattern(actions: i.map { ActionSet(index: $0) } ?? .empty, reason: .allowActionList)
    }
    if let plain { return plain }
    if pattern.utf8.allSatisfy({ $0 == UInt8(ascii: "*") }) { return ActionPattern(actions: catalog.all, reason: .allowStar) }
    lock.lock()
    let cached = actionPatterns[pattern]
    lock.unlock()
    if let cached { return cached }
    let computed = matchActions(pattern)
    lock.lock()
    actionPatterns[pattern] = computed
    lock.unlock()
    return computed
  }

  private func matchActions(_ pattern: String) -> ActionPattern {
    let lower = Array(pattern.lowercased().utf8)
    // Catalog names are ASCII: a pattern keeping a non-ASCII character after case folding matches none.
    if lower.contains(where: { $0 >= 0x80 }) { return ActionPattern(actions: .empty, reason: .allowActionList) }
    // The literal prefix narrows the scan to one service when it holds the `:`.
    var range = 0..<catalog.count
    if let firstWild = lower.firstIndex(where: { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") }),
      let colon = lower[..<firstWild].firstIndex(of: UInt8(ascii: ":"))
    {
      guard let s = catalog.service(prefix: String(decoding: lower[..<colon], as: UTF8.self)) else {
        return ActionPattern(actions: .empty, reason: .allowActionList)
      }
      range = s.actions
    }
    var ranges: [Range<Int>] = []
    catalog.lowerBytes.withUnsafeBufferPointer { names in
      lower.withUnsafeBufferPointer { p in
        for i in range {
          let lo = Int(catalog.lowerStart[i])
          let hi = Int(catalog.lowerStart[i + 1])
          if Self.glob(p, UnsafeBufferPointer(rebasing: names[lo..<hi])) {
            if let last = ranges.last, last.upperBound == i {
              ranges[ranges.count - 1] = last.lowerBound..<(i + 1)
            } else {
              ranges.append(i..<(i + 1))
            }
          }
        }
      }
    }
    let set = ActionSet(ranges: ranges)
    var reason = PolicyReasonCode.allowActionList
    if set == catalog.all {
      reason = .allowStar
    } else if catalog.services.contains(where: { !$0.actions.isEmpty && set.isSuperset(of: ActionSet(range: $0.actions)) }) {
      reason = .allowServiceWildcard
    }
    return ActionPattern(actions: set, reason: reason)
  }

  /// Byte glob (`*` any run, `?` one byte) over lower-case ASCII; iterative, no backtracking blow-up.
  static func glob(_ p: UnsafeBufferPointer<UInt8>, _ t: UnsafeBufferPointer<UInt8>) -> Bool {
    var pi = 0
    var ti = 0
    var starP = -1
    var starT = 0
    while ti < t.count {
      if pi < p.count {
        let c = p[pi]
        if c == UInt8(ascii: "*") {
          starP = pi
          starT = ti
          pi += 1
          continue
        }
        if c == UInt8(ascii: "?") || c == t[ti] {
          pi += 1
          ti += 1
          continue
        }
      }
      guard starP >= 0 else { return false }
      pi = starP + 1
      starT += 1
      ti = starT
    }
    while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
    return pi == p.count
  }

  // MARK: - Resources

  /// What one resource pattern covers. The literal-prefix screen decides most patterns without the
  /// cache (they are rarely repeated: `arn:aws:s3:::bucket-123/*`); what needs the automaton is cached.
  func coverage(_ pattern: String) -> PatternCoverage {
    let (quick, candidates) = PatternCoverage.screen(pattern, in: catalog)
    if candidates.isEmpty { return quick }
    lock.lock()
    let cached = resourcePatterns[pattern]
    lock.unlock()
    if let cached { return cached }
    let computed = PatternCoverage.automaton(pattern, quick, candidates, in: catalog)
    lock.lock()
    resourcePatterns[pattern] = computed
    lock.unlock()
    return computed
  }

  /// The actions of `matched` an Allow statement reaches on all resources, and the resource reason.
  func allowReach(_ element: ResourceElement, matched: ActionSet) -> (ActionSet, PolicyReasonCode) {
    switch element {
    case .resource(let patterns):
      var formats: [Int32] = []
      var wildcard = false
      for p in patterns {
        let c = coverage(p)
        if c.universal { return (matched, .resourceStar) }
        // Undecidable coverage is counted as covered in an Allow (the conservative side).
        formats += c.covered
        formats += c.undecided
        wildcard = wildcard || c.matchesWildcard
      }
      if formats.isEmpty && !wildcard { return (.empty, .resourcePatternCovers) }
      return (
        matched.intersection(actionsOnAll(FormatKey(formats: normalised(formats), wildcard: wildcard, negated: false))),
        .resourcePatternCovers
      )
    case .notResource(let patterns):
      var formats: [Int32] = []
      var wildcard = false
      for p in patterns {
        let c = coverage(p)
        // `NotResource: "*"` leaves nothing.
        if c.universal { return (.empty, .notResource) }
        formats += c.covered
        wildcard = wildcard || c.matchesWildcard
      }
      if formats.isEmpty && !wildcard { return (matched, .notResource) }
      return (matched.intersection(actionsOnAll(FormatKey(formats: normalised(formats), wildcard: wildcard, negated: true))), .notResource)
    }
  }

  /// The actions of `matched` a Deny statement reaches on all resources (strict: `Resource` only).
  func denyReach(_ element: ResourceElement, matched: ActionSet) -> ActionSet {
    guard case .resource(let patterns) = element else { return .empty }
    var formats: [Int32] = []
    var wildcard = false
    for p in patterns {
      let c = coverage(p)
      if c.universal { return matched }
      formats += c.covered
      wildcard = wildcard || c.matchesWildcard
    }
    if formats.isEmpty && !wildcard { return .empty }
    return matched.intersection(actionsOnAll(FormatKey(formats: normalised(formats), wildcard: wildcard, negated: false)))
  }

  private func normalised(_ formats: [Int32]) -> [Int32] {
    var f = formats
    f.sort()
    var out: [Int32] = []
    for x in f where out.last != x { out.append(x) }
    return out
  }

  /// For `Resource`: the actions all of whose formats are covered (plus, with a pattern matching `*`, the
  /// actions that take only `*`). For `NotResource`: the actions none of whose formats is covered (plus
  /// the `*`-only actions unless a pattern matches `*`).
  private func actionsOnAll(_ key: FormatKey) -> ActionSet {
    lock.lock()
    let cached = formatActions[key]
    lock.unlock()
    if let cached { return cached }
    var touching: [Int] = []
    for f in key.formats { for a in catalog.actions(taking: Int(f)) { touching.append(Int(a)) } }
    var result: ActionSet
    if key.negated {
      result = catalog.all.subtracting(catalog.wildcardOnly).subtracting(ActionSet(indexes: touching))
      if !key.wildcard { result.formUnion(catalog.wildcardOnly) }
    } else {
      let covered = Set(key.formats)
      result = ActionSet(indexes: touching.filter { a in catalog.formatIDs(of: a).allSatisfy { covered.contains($0) } })
      if key.wildcard { result.formUnion(catalog.wildcardOnly) }
    }
    lock.lock()
    formatActions[key] = result
    lock.unlock()
    return result
  }
}

/// A buffer whose slots concurrent iterations write, each iteration only the indexes it owns.
private struct UnsafeSlots<R>: @unchecked Sendable {
  let base: UnsafeMutablePointer<R?>
}
