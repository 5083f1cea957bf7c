/// The service layer the CLI calls: each job composes the stages of the one-way flow
///
///     Snapshot (decode) → Store (SQLite) → Checks → Evidence model → Render / Package
///
/// and nothing else does. The store only reads and writes records; the checks, the evidence builder,
/// the trend and the drift are pure computations over what the store gives back; this type fetches,
/// computes and stores in the right order (and overlaps the stages where that pays: see
/// ``ingestAndAssess(_:options:register:checks:progress:phase:)``).
///
/// One job per file: `IngestService.swift` (ingest and assess), `AssessmentService.swift`,
/// `EvidenceService.swift` (evidence, findings), `HistoryService.swift` (trend, drift),
/// `PackageService.swift` (the handoff package), `DemoService.swift`.
public struct EvidenceWorkflow {
  /// The database every job reads and writes.
  public let store: EvidenceStore

  public init(store: EvidenceStore) { self.store = store }
}

/// An error of the service layer: input that does not fit (a snapshot file's account, a truncated
/// export, a source file that changed since it was ingested) or a request the stored evidence cannot
/// answer (a snapshot not yet assessed). Names the file concerned when there is one.
public struct WorkflowError: UserFacingError, Sendable, Equatable {
  /// The file (snapshot file, source file, database) the error is about; nil when none is.
  public var path: String?
  public var message: String

  public init(path: String?, message: String) {
    self.path = path
    self.message = message
  }

  public var description: String { path.map { "\($0): \(message)" } ?? message }
}
