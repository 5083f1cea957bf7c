import ArgumentParser
import Foundation
import IAMEvidence

/// `--db`, shared by every command that reads or writes the database.
struct DatabaseOptions: ParsableArguments {
  @Option(name: .long, help: "The SQLite evidence database (default: $IAM_EVIDENCE_DB, else ./iam-evidence.sqlite).")
  var db: String?

  var path: String {
    if let db { return db }
    if let env = ProcessInfo.processInfo.environment["IAM_EVIDENCE_DB"], !env.isEmpty { return env }
    return "iam-evidence.sqlite"
  }

  /// Opens the store for reading only (every listing and reporting command): nothing is written
  /// to the file, and a file that is not an up-to-date IAM Evidence database is refused.
  func openForReading() throws -> EvidenceStore {
    try EvidenceStore(readingAt: path)
  }

  /// Opens the store for writing (ingest, assess, package, migrate), creating it when `create` is
  /// true and migrating its schema; another program's database is refused.
  func openForWriting(create: Bool) throws -> EvidenceStore {
    try EvidenceStore(path: path, create: create, now: Clock.now())
  }

  /// The service layer over the store opened for reading.
  func reader() throws -> EvidenceWorkflow {
    EvidenceWorkflow(store: try openForReading())
  }

  /// The service layer over the store opened for writing.
  func writer(create: Bool) throws -> EvidenceWorkflow {
    EvidenceWorkflow(store: try openForWriting(create: create))
  }
}

extension ExceptionRegister {
  /// `--exceptions PATH`: the register at PATH, or none.
  static func option(_ path: String?) throws -> ExceptionRegister {
    try path.map { try ExceptionRegister.load(path: $0) } ?? .empty
  }
}

/// The wall clock, read only here.
enum Clock {
  static func now() -> Timestamp {
    Timestamp(epochSeconds: Int64(Date().timeIntervalSince1970))
  }
}

/// Output formats of listing commands.
enum ListFormat: String, ExpressibleByArgument, CaseIterable {
  case text, json
}

extension Timestamp: ExpressibleByArgument {
  public init?(argument: String) { self.init(parsing: argument) }
}

extension AccountScope {
  /// `--scope PATH`: the scope file at PATH, or none.
  static func option(_ path: String?) throws -> AccountScope? {
    try path.map { try AccountScope.load(path: $0) }
  }
}
