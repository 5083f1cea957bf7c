/// How much of the KMS key space a statement's `Resource` / `NotResource` element reaches.
///
/// Ordered: `noKeys < someKeys < allKeys < everyKey`.
/// * ``noKeys``: no key ARN matches (S3 ARNs, alias ARNs: an alias ARN authorises the alias, not keys).
/// * ``someKeys``: some but not all keys, e.g. one concrete key ARN or `key/mrk-*` (multi-region keys).
/// * ``allKeys``: every key of at least one partition/region/account the pattern names, e.g.
///   `arn:aws:kms:us-east-1:123456789012:key/*`. This is "all keys" in the sense of the KMS controls.
/// * ``everyKey``: every key ARN of every region and account of the `aws` partition, e.g. `"*"`,
///   `arn:aws:kms:*:*:key/*`, `arn:aws:kms:*`, `arn:*:kms:*:*:*`. Only a Deny of this reach is credited as
///   cancelling a grant (a narrower Deny leaves keys the grant reaches).
///
/// The classification judges the resource part against *arbitrary* key ids (for "all keys"; for "some
/// keys" a key id is taken to hold no `:` or `/`, so `arn:aws:kms:*:*:alias/*` reaches no key): `key/*`, `*`, `k*`, `key/?*` reach
/// every key; `key/mrk-*` or `key/*-*` do not. Both `key` and wildcard-only actions (CreateKey, ListKeys, ...) are
/// judged by the key scope: a statement on all keys is taken to grant its actions regardless of the
/// action's resource type, as the controls require.
public enum KeyScope: Int, Sendable, Hashable, Comparable, CustomStringConvertible {
  case noKeys = 0
  case someKeys = 1
  case allKeys = 2
  case everyKey = 3

  public static func < (lhs: KeyScope, rhs: KeyScope) -> Bool { lhs.rawValue < rhs.rawValue }

  /// At least ``allKeys``.
  public var coversAllKeys: Bool { self >= .allKeys }

  public var description: String {
    switch self {
    case .noKeys: return "no keys"
    case .someKeys: return "specific keys"
    case .allKeys: return "all keys"
    case .everyKey: return "every key"
    }
  }

  /// The reach of one resource pattern as written in `Resource` (case-sensitive; `${...}` = anything
  /// with ``IAMGlob/VariableReading/wildcard``, the widest reach, or a single value that is never a
  /// wildcard with ``IAMGlob/VariableReading/opaque``, the reach the pattern is sure to have).
  public static func of(resourcePattern pattern: String, variables: IAMGlob.VariableReading = .wildcard) -> KeyScope {
    // Fast exact path for the common case: an ARN whose service field is written out and is not
    // `kms` (`arn:aws:s3:::bucket/*`) cannot name a key, whatever its other fields hold.
    if pattern.hasPrefix("arn:") {
      let fields = pattern.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
      if fields.count >= 3, !fields[1].contains(where: { $0 == "*" || $0 == "?" || $0 == "$" }),
        !fields[2].contains(where: { $0 == "*" || $0 == "?" || $0 == "$" }), fields[2] != "kms"
      {
        return .noKeys
      }
    }
    let glob = IAMGlob(resource: pattern, variables: variables)
    let start = glob.start()
    let fresh = String(Character(glob.freshScalar))

    // Every key of the aws partition: region and account stood in for by characters the pattern never
    // mentions, so only wildcards (or variables) can match them.
    // Two lengths each, so that `?` in a region or account field does not pass for a wildcard.
    let probes = [fresh, fresh + fresh]
    let universal = probes.allSatisfy { region in
      probes.allSatisfy { account in
        glob.acceptsEveryNonEmptySuffix(after: glob.consume(start, "arn:aws:kms:\(region):\(account):key/"))
      }
    }
    if universal { return .everyKey }

    // Every key of some concrete partition/region/account: try the values the pattern names, falling
    // back to typical ones where a field is a pure wildcard or absent (a `*` spanning colons).
    let fields = glob.colonFields
    func candidates(_ index: Int, _ fallback: String) -> [String] {
      var out = [fallback]
      if index < fields.count, let named = IAMGlob.instantiate(fields[index]), named != fallback {
        out.insert(named, at: 0)
      }
      return out
    }
    var some = false
    for partition in candidates(1, "aws") {
      for region in candidates(3, "us-east-1") {
        for account in candidates(4, "123456789012") {
          let after = glob.consume(start, "arn:\(partition):kms:\(region):\(account):key/")
          if glob.acceptsEveryNonEmptySuffix(after: after) { return .allKeys }
          if glob.acceptsSomeNonEmptySuffix(after: after, excluding: [":", "/"]) { some = true }
        }
      }
    }
    return some ? .someKeys : .noKeys
  }

  /// The reach of a `Resource` list: the widest of its patterns.
  public static func of(resource patterns: [String], variables: IAMGlob.VariableReading = .wildcard) -> KeyScope {
    patterns.map { of(resourcePattern: $0, variables: variables) }.max() ?? .noKeys
  }

  /// The reach of a `NotResource` list: the keys *not* matched by any pattern. Anything that does not
  /// exclude every key leaves all keys of some account in (``allKeys``); excluding no key at all (only
  /// non-KMS or alias ARNs) leaves ``everyKey``; a pattern that reaches every key leaves ``noKeys``.
  /// `variables` reads the excluded patterns (``IAMGlob/VariableReading/opaque`` excludes the least).
  public static func of(notResource patterns: [String], variables: IAMGlob.VariableReading = .wildcard) -> KeyScope {
    switch of(resource: patterns, variables: variables) {
    case .everyKey: return .noKeys
    case .allKeys, .someKeys: return .allKeys
    case .noKeys: return .everyKey
    }
  }
}
