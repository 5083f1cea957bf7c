import ArgumentParser
import Foundation
import IAMEvidence

/// `iam-evidence ingest`: load snapshots into the database, one transaction each.
struct Ingest: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Load `aws iam get-account-authorization-details` output into the database.",
    discussion: """
      PATH may be a file, a directory (every *.json in name order, skipping *.truth.json and \
      *.caller.json), or - for standard input. Each snapshot is stored in one transaction: a bad file \
      leaves nothing of itself behind. The same bytes ingested twice are reported and skipped. Every new \
      snapshot is recorded with its provenance: the host, the OS user, the tool's build (version and \
      source SHA-256) and, when given, --operator and --caller-identity (whose Account must be the \
      snapshot's account, else the snapshot is refused).
      """)

  @OptionGroup var database: DatabaseOptions

  @Option(help: "The 12-digit AWS account id (default: taken from the ARNs).")
  var account: String?

  @Option(help: "When the snapshot was taken (ISO 8601; default: the file's modification time).")
  var capturedAt: Timestamp?

  @Option(help: "A free-text label stored with the snapshot.")
  var label: String?

  @Flag(help: "Store an export whose IsTruncated is true (flagged as incomplete) instead of refusing it.")
  var allowTruncated = false

  @Option(help: "The exceptions register to assess new snapshots with (JSON; see README).")
  var exceptions: String?

  @Option(
    help: ArgumentHelp(
      "The saved output of `aws sts get-caller-identity --output json`, taken with the same credentials as the export.",
      discussion: "Its Account must be the account of every snapshot ingested with it.", valueName: "file"))
  var callerIdentity: String?

  @Option(
    name: .customLong("operator"),
    help: ArgumentHelp("The name of the person who took the export and runs the ingest, recorded with the snapshot.", valueName: "name"))
  var operatorName: String?

  @Argument(help: "Snapshot files, directories, or - for standard input.")
  var paths: [String]

  func run() throws {
    Allocator.fixMmapThreshold(bytes: 128 * 1024)
    let paths = try IngestSource.expand(self.paths)
    let register = try ExceptionRegister.option(exceptions)
    // Both read and checked before the database is opened: a wrong one writes nothing.
    let caller = try callerIdentity.map { try CallerIdentity.load(path: $0) }
    let name = try operatorName.map { try SnapshotProvenance.operatorName($0) }
    if let caller, let account, caller.account != account {
      throw CommandFailure(
        message: "\(caller.source): $.Account: the caller identity is of account \(caller.account), not the --account \(account)")
    }
    let workflow = try database.writer(create: true)
    let options = IngestOptions(
      account: account, capturedAt: capturedAt, label: label, allowTruncated: allowTruncated, now: Clock.now(),
      provenance: .here(operatorName: name, callerIdentity: caller, host: HostIdentity.current()))
    let timings = Timings()
    for path in paths {
      timings.start()
      let source = try IngestSource.load(path: path)
      let showProgress = Terminal.stderrIsTerminal && source.contents.buffer.count > 8 << 20
      // New snapshots are assessed straight away (on other cores while the snapshot is written), so
      // `findings` works after `ingest`.
      let (outcome, assessment) = try workflow.ingestAndAssess(
        source, options: options, register: register,
        progress: { event in
          TestHooks.pauseIfRequested(event)
          if showProgress { Progress.show(event, name: source.name) }
          timings.ingest(event)
        },
        phase: { timings.assess($0) })
      if showProgress { Progress.clear() }
      timings.storingCosts(results: assessment?.resultCount)
      switch outcome {
      case .ingested(let r):
        Terminal.out(
          TerminalText.escape(
            "snapshot \(r.id)  account \(r.account)  users \(r.counts.users)  groups \(r.counts.groups)  roles \(r.counts.roles)  managed \(r.counts.managedPolicies)  inline \(r.counts.inlinePolicies)  sha256 \(r.sha256.prefix(12))  \(r.sourceName)"
              + (r.isTruncated ? "  (TRUNCATED export)" : "")))
        if let assessment { Terminal.out(AssessSummary.line(record: r, summary: assessment)) }
      case .alreadyIngested(let r):
        if let assessment {
          Terminal.out(
            TerminalText.escape(
              "\(source.name): already ingested as snapshot \(r.id) (sha256 \(r.sha256.prefix(12))), but never assessed (its ingest was interrupted): assessed now"
            ))
          Terminal.out(AssessSummary.line(record: r, summary: assessment))
        } else {
          Terminal.out(
            TerminalText.escape("\(source.name): already ingested as snapshot \(r.id) (sha256 \(r.sha256.prefix(12))); nothing added"))
        }
      }
    }
  }
}

/// A one-line progress indicator on standard error (only on a terminal, only for large inputs).
enum Progress {
  static func show(_ event: IngestProgress, name: String) {
    let text: String
    switch event {
    case .decoded(let principals, let policies): text = "\(name): decoded \(principals) principals, \(policies) managed policies"
    case .storedPrincipals(let done, let total): text = "\(name): storing principals \(done)/\(total)"
    case .storedPolicies(let done, let total): text = "\(name): storing managed policies \(done)/\(total)"
    case .hashed: text = "\(name): decoding"
    case .committed: text = "\(name): assessing"
    }
    FileHandle.standardError.write(Data(("\r\u{1B}[K" + TerminalText.escape(text)).utf8))
  }

  static func clear() { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
}

/// Hooks the test suite uses to prove crash safety. Compiled into debug builds only (the tests run
/// the debug binary): a release binary has no such variable and never pauses.
enum TestHooks {
  /// With `IAM_EVIDENCE_TEST_PAUSE_INGEST=FILE`, ingest creates FILE once every principal row is
  /// written (inside the open transaction) and then waits, so a test can kill the process there.
  /// With `IAM_EVIDENCE_TEST_PAUSE_AFTER_COMMIT=FILE`, it does so once the snapshot's transaction is
  /// committed, before its results are stored.
  static func pauseIfRequested(_ event: IngestProgress) {
    #if DEBUG
      let environment = ProcessInfo.processInfo.environment
      let marker: String?
      switch event {
      case .storedPrincipals(let done, let total) where done == total: marker = environment["IAM_EVIDENCE_TEST_PAUSE_INGEST"]
      case .committed: marker = environment["IAM_EVIDENCE_TEST_PAUSE_AFTER_COMMIT"]
      default: marker = nil
      }
      guard let marker else { return }
      _ = FileManager.default.createFile(atPath: marker, contents: Data("paused\n".utf8))
      sleep(120)
    #endif
  }
}

/// With `IAM_EVIDENCE_TIMINGS=1`, ingest prints the wall time of each step and the peak memory so far
/// on standard error (what `Benchmarks/bench` shows), then the storing costs per unit: the snapshot's
/// transaction per principal state written or linked, and the results' transaction per result.
/// The results' transaction starts once the snapshot is committed and writes each check's results
/// as soon as the check is done, while the others run: its cost is the writing thread's CPU time
/// over that whole transaction, and its wall time the part after the last check is done (what the
/// checks do not hide). One per ingest command, used on the thread that runs it.
final class Timings {
  let enabled = ProcessInfo.processInfo.environment["IAM_EVIDENCE_TIMINGS"] == "1"
  var last = Date()
  /// This thread's CPU time at the last mark (the steps run on it; other threads help some of them).
  private var lastCPU = Timings.threadCPU()
  /// When the snapshot was decoded (its transaction starts then), and how many principals it holds.
  private var decoded: (at: Date, cpu: Double, principals: Int)?
  private var snapshotStored: (seconds: Double, cpu: Double, principals: Int)?
  /// When the snapshot's transaction was committed (the results' transaction starts then) and when
  /// the last check was done.
  private var committedAt: (at: Date, cpu: Double)?
  private var checkedAt: (at: Date, cpu: Double)?
  private var resultsSeconds: (seconds: Double, cpu: Double)?

  /// The next step starts now.
  func start() {
    last = Date()
    lastCPU = Self.threadCPU()
  }

  func ingest(_ event: IngestProgress) {
    switch event {
    case .hashed: mark("ingest: hashed")
    case .decoded(let principals, _):
      mark("ingest: decoded")
      decoded = (last, lastCPU, principals)
    case .committed:
      mark("ingest: stored")
      if let decoded { snapshotStored = (last.timeIntervalSince(decoded.at), lastCPU - decoded.cpu, decoded.principals) }
      committedAt = (last, lastCPU)
    case .storedPrincipals, .storedPolicies: break
    }
  }

  func assess(_ phase: AssessPhase) {
    mark("assess: \(phase.rawValue)")
    switch phase {
    case .checked: checkedAt = (last, lastCPU)
    case .stored:
      if let checkedAt { resultsSeconds = (last.timeIntervalSince(checkedAt.at), lastCPU - (committedAt ?? checkedAt).cpu) }
    case .evaluated: break
    }
  }

  /// Prints the storing costs of the snapshot just ingested (and of its `results` results), then
  /// forgets them.
  func storingCosts(results: Int?) {
    defer { (decoded, snapshotStored, committedAt, checkedAt, resultsSeconds) = (nil, nil, nil, nil, nil) }
    guard enabled else { return }
    if let (seconds, cpu, principals) = snapshotStored {
      write("stored \(principals) principal states in \(Self.cost(seconds, cpu, principals))")
    }
    if let results, let (seconds, cpu) = resultsSeconds {
      write("stored \(results) results: \(Self.cost(seconds, cpu, results, wall: "after the last check", thread: "transaction"))")
    }
  }

  /// `625 ms (60.7 µs each; this thread's CPU 540 ms, 52.4 µs each)`; with `wall` and `thread`,
  /// `280 ms after the last check (2.7 µs each); the writing thread's CPU over the transaction 760 ms, 7.3 µs each`.
  static func cost(_ seconds: Double, _ cpu: Double, _ count: Int, wall: String? = nil, thread: String? = nil) -> String {
    func each(_ s: Double) -> String { String(format: "%.1f", count > 0 ? s * 1e6 / Double(count) : 0) }
    let ms = { (s: Double) in Int((s * 1000).rounded()) }
    if let wall, let thread {
      return
        "\(ms(seconds)) ms \(wall) (\(each(seconds)) µs each); the writing thread's CPU over the \(thread) \(ms(cpu)) ms, \(each(cpu)) µs each"
    }
    return "\(ms(seconds)) ms (\(each(seconds)) µs each; this thread's CPU \(ms(cpu)) ms, \(each(cpu)) µs each)"
  }

  /// The CPU time this thread has used, in seconds.
  static func threadCPU() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
  }

  func mark(_ step: String) {
    guard enabled else { return }
    let now = Date()
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let peak = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.map { $0.dropFirst(6).trimmingCharacters(in: .whitespaces) }
    let cpu = Self.threadCPU()
    write(
      "\(step) \(Int((now.timeIntervalSince(last) * 1000).rounded())) ms (this thread's CPU \(Int(((cpu - lastCPU) * 1000).rounded())) ms), peak \(peak ?? "?")"
    )
    last = now
    lastCPU = cpu
  }

  private func write(_ line: String) { FileHandle.standardError.write(Data("timing: \(line)\n".utf8)) }
}
