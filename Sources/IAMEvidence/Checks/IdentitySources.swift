/// Everything that applies to one user or role, resolved from a snapshot: its labelled sources (inline
/// policies, attached managed policies (customer- or AWS-managed, default version) and, for users,
/// each group's inline and attached policies), its permissions boundary, and what the snapshot lacks.
///
/// Policies and groups missing from the snapshot are listed, not guessed: the engine treats them as
/// possibly granting anything.
///
/// The input of identity-level checks: ``policies(_:)`` turns it into the engine's
/// ``IdentityPolicies`` given each document's analysis, and ``sources`` keeps, for each source index
/// of a result (``StatementRef/source``, ``CapabilityResult/sources``), the ``GrantSource`` to report.
public struct IdentitySources: Sendable {
  /// One source: how results name it and its document (the default version for managed policies).
  public struct Entry: Sendable, Hashable {
    public var source: GrantSource
    public var document: PolicyDocumentText
    public init(source: GrantSource, document: PolicyDocumentText) {
      self.source = source
      self.document = document
    }
  }

  /// The permissions boundary: its ARN and default-version document.
  public struct Boundary: Sendable, Hashable {
    public var arn: String
    public var document: PolicyDocumentText
    /// `boundary arn:...`.
    public var label: String { "boundary \(arn)" }
  }

  public var principal: PrincipalRef
  /// In order: the identity's inline policies, its attached policies, then per group (in the
  /// identity's group order) the group's inline and attached policies.
  public var sources: [Entry]
  public var boundary: Boundary?
  /// Attached policies (directly or through a group) whose document is not in the snapshot.
  public var unknownPolicies: [GrantSource]
  /// The permissions boundary's ARN when its policy is not in the snapshot.
  public var unknownBoundary: String?
  /// Attached policies and the boundary (by ARN) that are in the snapshot but whose default version
  /// the snapshot disagrees on (``ManagedPolicy/defaultVersionDisagreement``): listed with the unknown
  /// ones (their document in force is unknown), this says how they disagree.
  public var inconsistentDefaults: [String: String] = [:]
  /// Groups the user belongs to that are not in the snapshot: their policies are unknown, so the engine
  /// treats each like an unknown policy (`unknown-policy`, `error` unless the identity already holds).
  public var unknownGroups: [String]

  /// Resolves `principal`'s sources with the snapshot's managed policies by ARN and groups by name.
  public init(principal: Principal, policiesByARN: [String: ManagedPolicy], groupsByName: [String: Principal]) {
    self.principal = PrincipalRef(principal)
    var sources: [Entry] = []
    var unknown: [GrantSource] = []
    var inconsistent: [String: String] = [:]
    func add(inline policies: [InlinePolicy], via group: String?) {
      for p in policies {
        sources.append(
          Entry(
            source: GrantSource(kind: group == nil ? "inline" : "group-inline", policyName: p.name, viaGroup: group), document: p.document))
      }
    }
    func add(attached: [AttachedPolicy], via group: String?) {
      for a in attached {
        let source = GrantSource(kind: group == nil ? "managed" : "group-managed", policyName: a.name, policyARN: a.arn, viaGroup: group)
        if let document = policiesByARN[a.arn]?.defaultVersion?.document {
          sources.append(Entry(source: source, document: document))
        } else {
          unknown.append(source)
          if let d = policiesByARN[a.arn]?.defaultVersionDisagreement { inconsistent[a.arn] = d }
        }
      }
    }
    add(inline: principal.inlinePolicies, via: nil)
    add(attached: principal.attachedPolicies, via: nil)
    var missingGroups: [String] = []
    for name in principal.groups {
      guard let group = groupsByName[name] else {
        missingGroups.append(name)
        continue
      }
      add(inline: group.inlinePolicies, via: name)
      add(attached: group.attachedPolicies, via: name)
    }
    self.sources = sources
    self.unknownPolicies = unknown
    self.unknownGroups = missingGroups
    if let b = principal.permissionsBoundary {
      if let document = policiesByARN[b.arn]?.defaultVersion?.document {
        boundary = Boundary(arn: b.arn, document: document)
      } else {
        unknownBoundary = b.arn
        if let d = policiesByARN[b.arn]?.defaultVersionDisagreement { inconsistent[b.arn] = d }
      }
    }
    inconsistentDefaults = inconsistent
  }

  /// Resolves `principal`'s sources within a check's snapshot.
  public init(principal: Principal, context: CheckContext) {
    self.init(principal: principal, policiesByARN: context.policiesByARN, groupsByName: context.groupsByName)
  }

  /// The engine's input, given the analysis of each document (from a cache of the snapshot's distinct
  /// documents, or ``PolicyEngine/analyse(_:)-(PolicyDocumentText)``). Source `i` of the result is
  /// ``sources``[i].
  public func policies(_ analysis: (PolicyDocumentText) -> PolicyAnalysis) -> IdentityPolicies {
    IdentityPolicies(
      sources: sources.map { AnalysedSource(label: $0.source.label, analysis: analysis($0.document)) },
      boundary: boundary.map { AnalysedSource(label: $0.label, analysis: analysis($0.document)) },
      unknownPolicies: unknownPolicies.map(\.label) + unknownGroups.map { "group \($0)" },
      unknownBoundary: unknownBoundary.map { "boundary \($0)" },
      inconsistentDefaults: Dictionary(
        unknownPolicies.compactMap { s in s.policyARN.flatMap { inconsistentDefaults[$0] }.map { (s.label, $0) } }
          + (unknownBoundary.flatMap { b in inconsistentDefaults[b].map { [("boundary \(b)", $0)] } } ?? []),
        uniquingKeysWith: { a, _ in a }))
  }

  /// The grant sources of a result's source indexes (``AccessResult/grantingSources``, ``CapabilityResult/sources``).
  public func grantSources(_ indexes: [Int]) -> [GrantSource] { indexes.map { sources[$0].source } }
}
