/// A set of actions of an ``ActionCatalog``, by catalog index, stored as sorted disjoint ranges.
///
/// The catalog is sorted by service, then by action name, so the sets policies produce are a few
/// runs: `s3:*` is one range, `s3:Get*` one or two, `*` one, a list of named actions one short range
/// each. A set costs 8 bytes per range (a bitset of the whole catalog would cost 2.5 KB), which matters
/// because an account's every distinct document keeps its sets.
public struct ActionSet: Sendable, Hashable, CustomStringConvertible {
  /// Flattened half-open ranges `[lo0, hi0, lo1, hi1, ...]`: sorted, disjoint and non-adjacent, so
  /// equal sets have equal storage.
  private(set) var bounds: [Int32]

  /// The empty set.
  public init() { bounds = [] }

  /// The set of one action.
  public init(index: Int) { bounds = [Int32(index), Int32(index + 1)] }

  /// The set of a range of indexes.
  public init(range: Range<Int>) { bounds = range.isEmpty ? [] : [Int32(range.lowerBound), Int32(range.upperBound)] }

  /// The set of the given indexes (any order, duplicates allowed).
  public init(indexes: some Sequence<Int>) {
    var sorted = indexes.map { Int32($0) }
    sorted.sort()
    var out: [Int32] = []
    out.reserveCapacity(2 * min(sorted.count, 8))
    for i in sorted {
      if let last = out.last, i <= last {
        if i == last { out[out.count - 1] = i + 1 }
        continue
      }
      out.append(i)
      out.append(i + 1)
    }
    bounds = out
  }

  /// The union of the given ranges (any order, overlapping allowed).
  public init(ranges: some Sequence<Range<Int>>) {
    var list = ranges.filter { !$0.isEmpty }
    list.sort { $0.lowerBound < $1.lowerBound }
    var out: [Int32] = []
    for r in list {
      let lo = Int32(r.lowerBound)
      let hi = Int32(r.upperBound)
      if let last = out.last, lo <= last {
        if hi > last { out[out.count - 1] = hi }
      } else {
        out.append(lo)
        out.append(hi)
      }
    }
    bounds = out
  }

  private init(bounds: [Int32]) { self.bounds = bounds }

  /// The empty set.
  public static let empty = ActionSet()

  public var isEmpty: Bool { bounds.isEmpty }

  /// The number of actions.
  public var count: Int {
    var n = 0
    var i = 0
    while i < bounds.count {
      n += Int(bounds[i + 1] - bounds[i])
      i += 2
    }
    return n
  }

  /// The runs of consecutive indexes, in order.
  public var ranges: [Range<Int>] {
    stride(from: 0, to: bounds.count, by: 2).map { Int(bounds[$0])..<Int(bounds[$0 + 1]) }
  }

  /// Every index, in increasing order.
  public var indexes: [Int] { ranges.flatMap { Array($0) } }

  /// The smallest index, if any.
  public var first: Int? { bounds.first.map(Int.init) }

  public func contains(_ index: Int) -> Bool {
    let x = Int32(index)
    // Binary search for the last range starting at or before x.
    var lo = 0
    var hi = bounds.count / 2
    while lo < hi {
      let mid = (lo + hi) / 2
      if bounds[2 * mid] <= x { lo = mid + 1 } else { hi = mid }
    }
    return lo > 0 && x < bounds[2 * (lo - 1) + 1]
  }

  public func union(_ other: ActionSet) -> ActionSet {
    if other.bounds.isEmpty || bounds == other.bounds { return self }
    if bounds.isEmpty { return other }
    var out: [Int32] = []
    out.reserveCapacity(bounds.count + other.bounds.count)
    var i = 0
    var j = 0
    func push(_ lo: Int32, _ hi: Int32) {
      if let last = out.last, lo <= last {
        if hi > last { out[out.count - 1] = hi }
      } else {
        out.append(lo)
        out.append(hi)
      }
    }
    while i < bounds.count || j < other.bounds.count {
      if j >= other.bounds.count || (i < bounds.count && bounds[i] <= other.bounds[j]) {
        push(bounds[i], bounds[i + 1])
        i += 2
      } else {
        push(other.bounds[j], other.bounds[j + 1])
        j += 2
      }
    }
    return ActionSet(bounds: out)
  }

  public mutating func formUnion(_ other: ActionSet) { self = union(other) }

  public func intersection(_ other: ActionSet) -> ActionSet {
    if bounds.isEmpty || other.bounds.isEmpty { return .empty }
    if bounds == other.bounds { return self }
    var out: [Int32] = []
    var i = 0
    var j = 0
    while i < bounds.count && j < other.bounds.count {
      let lo = max(bounds[i], other.bounds[j])
      let hi = min(bounds[i + 1], other.bounds[j + 1])
      if lo < hi {
        out.append(lo)
        out.append(hi)
      }
      if bounds[i + 1] < other.bounds[j + 1] { i += 2 } else { j += 2 }
    }
    // Reuse an operand's storage when the intersection is that operand (a grant on `*` is its actions).
    if out == other.bounds { return other }
    if out == bounds { return self }
    return ActionSet(bounds: out)
  }

  public func subtracting(_ other: ActionSet) -> ActionSet {
    if bounds.isEmpty || other.bounds.isEmpty { return self }
    var out: [Int32] = []
    var j = 0
    var i = 0
    while i < bounds.count {
      var lo = bounds[i]
      let hi = bounds[i + 1]
      while j < other.bounds.count && other.bounds[j + 1] <= lo { j += 2 }
      var k = j
      while k < other.bounds.count && other.bounds[k] < hi {
        if other.bounds[k] > lo {
          out.append(lo)
          out.append(other.bounds[k])
        }
        lo = max(lo, other.bounds[k + 1])
        k += 2
      }
      if lo < hi {
        out.append(lo)
        out.append(hi)
      }
      i += 2
    }
    if out == bounds { return self }
    return ActionSet(bounds: out)
  }

  /// Every index of `0..<count` not in this set.
  public func complement(count: Int) -> ActionSet { ActionSet(range: 0..<count).subtracting(self) }

  public func isSubset(of other: ActionSet) -> Bool { subtracting(other).isEmpty }

  public func isSuperset(of other: ActionSet) -> Bool { other.isSubset(of: self) }

  public func isDisjoint(with other: ActionSet) -> Bool { intersection(other).isEmpty }

  /// The union of many sets (cheaper than folding ``union(_:)`` when there are many).
  public static func union(_ sets: some Sequence<ActionSet>) -> ActionSet {
    var ranges: [Range<Int>] = []
    var single: ActionSet?
    var several = false
    for s in sets where !s.isEmpty {
      if single == nil {
        single = s
      } else if s != single {
        several = true
      }
      for r in s.ranges { ranges.append(r) }
    }
    if !several { return single ?? .empty }
    return ActionSet(ranges: ranges)
  }

  /// `{3..<5, 9}`.
  public var description: String {
    "{" + ranges.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)..<\($0.upperBound)" }.joined(separator: ", ") + "}"
  }
}
