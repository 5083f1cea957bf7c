/// A point of the database ledger's hash chain: an entry and the chain's head after it (see
/// README, "Tamper evidence").
public struct LedgerHead: Sendable, Hashable {
  /// The ledger entry (its row id in `ledger`).
  public var entry: Int
  /// The chain's head after that entry: SHA-256 (hex) of the previous head's hex followed by the
  /// entry's digest's hex.
  public var head: String

  public init(entry: Int, head: String) {
    self.entry = entry
    self.head = head
  }
}

/// The ledger heads an evidence document carries: for each snapshot, the head after the last entry
/// that recorded its rows as they are (its ingest, its current assessment or a review of it), and the
/// latest of them.
public struct LedgerHeads: Sendable, Hashable {
  /// By snapshot id.
  public var snapshots: [Int: LedgerHead]

  public init(snapshots: [Int: LedgerHead]) { self.snapshots = snapshots }

  /// The latest head among the snapshots': it commits to every entry before it, and so to all of them.
  public var latest: LedgerHead? { snapshots.values.max { $0.entry < $1.entry } }
}
