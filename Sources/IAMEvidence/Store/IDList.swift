import SQLiteDB

/// The id lists of `snapshot_results` (`result_ids`, `open_ids`) and `snapshot_principal_lists`
/// (`state_ids`, `usage_ids`): which `result_details`, `principal_states` and `role_usages` rows a
/// snapshot holds, sorted ascending, stored as text in one of two forms.
///
/// - An array: the first id, then per element the difference from the id before; from migration
///   0009 on, an element `-n` (n ≥ 2) after an id is a *run*, the n ids that follow it, each one
///   more than the one before. `[1,-4,7]` is 1 2 3 4 5 12. A snapshot's results are mostly blocks of
///   consecutive ids, so thousands of them take a few bytes. Lists written before 0009 have no runs.
/// - From 0009 on, an object `{"add":[…],"base":B,"drop":[…]}`: the ids of row B of `id_lists` (an
///   array, written once and never changed), without those of `drop`, with those of `add` (both
///   arrays). A day's list is mostly the list of the day before with a few ids changed: it points at
///   a base written for an earlier snapshot of the account and lists only the changes, and a new
///   base is written when the changes have grown past a quarter of the base (``store(_:previous:in:minimumBaseLength:)``).
///
/// Lists keep the text they were written with (the ledger's digests cover it). SQL expands both forms
/// in the `results` and `snapshot_principals` views.
enum IDList {
  /// The most ids a list may stand for: far more than any account's principals or results, few
  /// enough that a damaged run (`[1,-999999999999]`) is refused instead of filling memory.
  static let maximumCount = 1 << 24
  /// A list whose array is shorter than this is stored as an array: a base and a reference to it
  /// would not be smaller.
  static let minimumBaseLength = 128

  // MARK: Writing

  /// `ids` sorted, as an array: differences from the id before, runs of consecutive ids as `-n` (one
  /// id after another stays `1`, shorter than `-1`).
  static func encode(_ ids: [Int64]) -> String {
    JSONWriter.canonical(.array(elements(ids.sorted())))
  }

  /// The elements of the array of `sorted` (ascending).
  private static func elements(_ sorted: [Int64]) -> [JSONValue] {
    var elements: [JSONValue] = []
    var previous: Int64 = 0
    var i = 0
    while i < sorted.count {
      elements.append(.number(String(sorted[i] - previous)))
      previous = sorted[i]
      i += 1
      var end = i
      while end < sorted.count, sorted[end] == sorted[end - 1] + 1 { end += 1 }
      if end - i >= 2 {
        elements.append(.number(String(-(end - i))))
        previous = sorted[end - 1]
        i = end
      }
    }
    return elements
  }

  /// The text to store for `ids`, given `previous`, the text the same column holds for the account's
  /// previous snapshot (nil when there is none): changes against the base `previous` points at when
  /// they take less than the array and at most a quarter of the base's text (or half of
  /// ``minimumBaseLength``: a new base would cost more than such changes for long); else the array, written
  /// as a new base (a row of `id_lists`, inserted here) when it is long enough to be worth one. Ids
  /// that repeat are always stored as an array (a base holds each id once). `minimumBaseLength` is
  /// ``minimumBaseLength`` but in tests of short lists.
  static func store(
    _ ids: [Int64], previous: String?, in db: SQLiteConnection, minimumBaseLength: Int = minimumBaseLength
  ) throws -> String {
    let sorted = ids.sorted()
    let array = encode(sorted)
    guard isStrictlyIncreasing(sorted) else { return array }
    if let previous, let baseID = baseReference(previous), let baseText = try baseText(baseID, in: db),
      let base = decodeBase(baseText)
    {
      let changes = changesText(sorted, base: base, baseID: baseID)
      let small = changes.utf8.count * 4 <= baseText.utf8.count || changes.utf8.count <= minimumBaseLength / 2
      if small && changes.utf8.count < array.utf8.count { return changes }
    }
    guard array.utf8.count >= minimumBaseLength else { return array }
    try db.run("INSERT INTO id_lists (ids) VALUES (?)", [array])
    return changesText(sorted, base: sorted, baseID: db.lastInsertRowID)
  }

  /// The object form of `sorted` against `base` (both ascending, without repeats), row `baseID`.
  private static func changesText(_ sorted: [Int64], base: [Int64], baseID: Int64) -> String {
    var add: [Int64] = []
    var drop: [Int64] = []
    var (i, j) = (0, 0)
    while i < sorted.count || j < base.count {
      if j == base.count || (i < sorted.count && sorted[i] < base[j]) {
        add.append(sorted[i])
        i += 1
      } else if i == sorted.count || base[j] < sorted[i] {
        drop.append(base[j])
        j += 1
      } else {
        i += 1
        j += 1
      }
    }
    return JSONWriter.canonical(
      .object([("add", .array(elements(add))), ("base", .number(String(baseID))), ("drop", .array(elements(drop)))]))
  }

  // MARK: Reading

  /// The ids of the array `text`, or nil when it is not one (damage, which the caller reports): an
  /// element that is not an integer, a run first, after another run, or of fewer than two ids, a sum
  /// past `Int64.max`, or more than ``maximumCount`` ids. An object (a list with a base) is nil here:
  /// ``decode(_:in:)`` reads those.
  static func decode(_ text: String) -> [Int64]? {
    guard let values = try? JSONParser.parse(text).arrayValue else { return nil }
    return ids(of: values)
  }

  /// The ids of `text` in either form, or nil when it is not a list (damage, which the caller
  /// reports): besides what ``decode(_:)`` refuses, an object whose members are not exactly `add`,
  /// `base` and `drop`, whose base is missing or not an array of ascending ids without repeats, whose
  /// `add` and `drop` are not such arrays, which drops an id its base does not hold, or adds one it
  /// does. `base` gives the text of an `id_lists` row, or nil when there is none.
  static func decode(_ text: String, base: (Int64) throws -> String?) rethrows -> [Int64]? {
    guard let json = try? JSONParser.parse(text) else { return nil }
    switch json {
    case .array(let values): return ids(of: values)
    case .object(let members):
      guard members.count == 3, Set(members.map(\.key)) == ["add", "base", "drop"], case .number(let n)? = json["base"],
        let baseID = Int64(n), baseID > 0, let baseText = try base(baseID), let baseIDs = decodeBase(baseText),
        let add = json["add"]?.arrayValue.flatMap(ids(of:)), let drop = json["drop"]?.arrayValue.flatMap(ids(of:)),
        isStrictlyIncreasing(add), isStrictlyIncreasing(drop)
      else { return nil }
      return apply(add: add, drop: drop, to: baseIDs)
    default: return nil
    }
  }

  /// The ids of a base (a row of `id_lists`): an array of ascending ids without repeats, else nil.
  static func decodeBase(_ text: String) -> [Int64]? {
    guard let ids = decode(text), isStrictlyIncreasing(ids) else { return nil }
    return ids
  }

  /// ``decode(_:base:)`` with the bases of `db`'s `id_lists`.
  static func decode(_ text: String, in db: SQLiteConnection) throws -> [Int64]? {
    try decode(text) { try baseText($0, in: db) }
  }

  /// The base row an object-form list points at, or nil (an array, or not a list).
  static func baseReference(_ text: String) -> Int64? {
    guard text.hasPrefix("{"), case .number(let n)? = (try? JSONParser.parse(text))?["base"] else { return nil }
    return Int64(n)
  }

  private static func baseText(_ id: Int64, in db: SQLiteConnection) throws -> String? {
    guard case .text(let text)? = try db.scalar("SELECT ids FROM id_lists WHERE id = ?", [id]) else { return nil }
    return text
  }

  /// `base` without `drop` (each of which it must hold), merged with `add` (none of which it may
  /// hold); all three ascending without repeats.
  private static func apply(add: [Int64], drop: [Int64], to base: [Int64]) -> [Int64]? {
    guard base.count - drop.count + add.count <= maximumCount else { return nil }
    var out: [Int64] = []
    out.reserveCapacity(base.count - drop.count + add.count)
    var (a, d) = (0, 0)
    for id in base {
      while a < add.count && add[a] < id {
        out.append(add[a])
        a += 1
      }
      if a < add.count && add[a] == id { return nil }
      if d < drop.count && drop[d] == id {
        d += 1
      } else {
        if d < drop.count && drop[d] < id { return nil }
        out.append(id)
      }
    }
    guard d == drop.count else { return nil }
    out.append(contentsOf: add[a...])
    return out
  }

  /// The ids of the elements of an array.
  private static func ids(of values: [JSONValue]) -> [Int64]? {
    var ids: [Int64] = []
    ids.reserveCapacity(values.count)
    var total: Int64 = 0
    var afterRun = true  // nothing before the first element to run from
    for value in values {
      guard case .number(let n) = value, let d = Int64(n) else { return nil }
      if n.hasPrefix("-") {
        // A run: -n with n >= 2, after an element that is not a run.
        guard !afterRun, d <= -2, d >= -Int64(maximumCount - ids.count) else { return nil }
        let (last, overflow) = total.addingReportingOverflow(-d)
        if overflow { return nil }
        ids.append(contentsOf: (total + 1)...last)
        total = last
        afterRun = true
      } else {
        let (sum, overflow) = total.addingReportingOverflow(d)
        guard !overflow, ids.count < maximumCount else { return nil }
        total = sum
        ids.append(total)
        afterRun = false
      }
    }
    return ids
  }

  private static func isStrictlyIncreasing(_ ids: [Int64]) -> Bool {
    zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 }
  }
}

extension EvidenceStore {
  /// The result lists of the account's snapshot before snapshot `id`, as stored, by `check@version`
  /// (of its latest assessment, when it was assessed again): the lists of `id` are written against
  /// them (``IDList/store(_:previous:in:minimumBaseLength:)``).
  func previousResultLists(snapshotID id: Int) throws -> [String: (ids: String, open: String)] {
    var lists: [String: (ids: String, open: String)] = [:]
    for row in try db.query(
      """
      SELECT check_id, check_version, result_ids, open_ids FROM snapshot_results WHERE snapshot_id = (
        SELECT max(id) FROM snapshots WHERE id < ?1 AND account_id = (SELECT account_id FROM snapshots WHERE id = ?1))
      ORDER BY id
      """, [id])
    {
      lists["\(try row.string("check_id"))@\(try row.int("check_version"))"] = (try row.string("result_ids"), try row.string("open_ids"))
    }
    return lists
  }
}
