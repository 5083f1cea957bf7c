extension EvidenceWorkflow {
  /// Refuses a report time (`--generated-at`) earlier than the latest ingest time of the snapshots it
  /// reports on: a document cannot be dated before the data it states was in the database, so a
  /// backdated report or package is refused before anything is written.
  public static func requireGeneratedAt(_ time: Timestamp, notBeforeIngestOf snapshots: [SnapshotRecord]) throws(WorkflowError) {
    guard let latest = snapshots.max(by: { $0.ingestedAt < $1.ingestedAt }), time < latest.ingestedAt else { return }
    throw WorkflowError(
      path: nil,
      message:
        "--generated-at \(time) is earlier than the ingest time of the data it reports on (snapshot \(latest.id) was ingested at \(latest.ingestedAt)); give a time at or after \(latest.ingestedAt)"
    )
  }
}
