import ArgumentParser
import Foundation
import IAMEvidence

#if canImport(Glibc)
  import Glibc
#endif

/// `iam-evidence ingest`: load snapshots into the database, one transaction each.
struct Ingest: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Load `aws iam get-account-authorization-details` output into the database.",
    discussion: """
      PATH may be a file, a directory (every *.json in name order, skipping *.truth.json), or - for \
      standard input. Each snapshot is stored in one transaction: a bad file leaves nothing of itself \
      behind. The same bytes ingested twice are reported and skipped.
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

  @Argument(help: "Snapshot files, directories, or - for standard input.")
  var paths: [String]

  func run() throws {
    // Blocks of 128 KB and more are mapped on their own and returned to the system when freed: fixing
    // the threshold stops glibc raising it after the first large free, which left a 100 MB ingest's
    // freed buffers in the heap (peak 108 MB instead of 97 MB, same time; measured). Not for the
    // other commands: a large report spends more on the extra mappings than it saves.
    Malloc.set(Malloc.mmapThreshold, 128 * 1024)
    let sources = try SourceFiles.expand(paths)
    let register = try ExceptionsOption.load(exceptions)
    let store = try database.open(create: true)
    let options = IngestOptions(
      account: account, capturedAt: capturedAt, label: label, allowTruncated: allowTruncated, now: Clock.now())
    for source in sources {
      Timings.last = Date()
      let loaded = try SourceFiles.load(source)
      let showProgress = Terminal.stderrIsTerminal && loaded.contents.buffer.count > 8 << 20
      // New snapshots are assessed straight away (on other cores while the snapshot is written), so
      // `findings` works after `ingest`.
      let (outcome, assessment) = try store.ingestAndAssess(
        loaded, options: options, register: register,
        progress: { event in
          TestHooks.pauseIfRequested(event)
          if showProgress { Progress.show(event, name: loaded.name) }
          Timings.ingest(event)
        },
        phase: { Timings.mark("assess: \($0.rawValue)") })
      if showProgress { Progress.clear() }
      switch outcome {
      case .ingested(let r):
        Terminal.out(
          "snapshot \(r.id)  account \(r.account)  users \(r.counts.users)  groups \(r.counts.groups)  roles \(r.counts.roles)  managed \(r.counts.managedPolicies)  inline \(r.counts.inlinePolicies)  sha256 \(r.sha256.prefix(12))  \(r.sourceName)"
            + (r.isTruncated ? "  (TRUNCATED export)" : ""))
        if let assessment { Terminal.out(AssessSummary.line(record: r, outcome: assessment)) }
      case .alreadyIngested(let r):
        Terminal.out("\(loaded.name): already ingested as snapshot \(r.id) (sha256 \(r.sha256.prefix(12))); nothing added")
      }
    }
  }
}

/// Turning PATH arguments into snapshot bytes.
enum SourceFiles {
  /// Files in argument order; a directory contributes its `*.json` files (not `*.truth.json`) in name order.
  static func expand(_ paths: [String]) throws -> [String] {
    var result: [String] = []
    for path in paths {
      if path == "-" {
        result.append(path)
        continue
      }
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw CommandFailure(message: "\(path): no such file or directory")
      }
      if isDirectory.boolValue {
        let names = try FileManager.default.contentsOfDirectory(atPath: path)
          .filter { $0.hasSuffix(".json") && !$0.hasSuffix(".truth.json") }
          .sorted()
        if names.isEmpty { throw CommandFailure(message: "\(path): directory holds no *.json snapshot") }
        result += names.map { (path as NSString).appendingPathComponent($0) }
      } else {
        result.append(path)
      }
    }
    return result
  }

  static func load(_ path: String) throws -> IngestSource {
    if path == "-" {
      let data = FileHandle.standardInput.readDataToEndOfFile()
      return IngestSource(name: "-", bytes: [UInt8](data), modificationTime: nil)
    }
    guard FileManager.default.isReadableFile(atPath: path) else {
      throw CommandFailure(message: "\(path): cannot read the file")
    }
    let attributes = try? FileManager.default.attributesOfItem(atPath: path)
    let mtime = (attributes?[.modificationDate] as? Date).map { Timestamp(epochSeconds: Int64($0.timeIntervalSince1970)) }
    if let mapped = map(path) { return IngestSource(name: path, contents: mapped, modificationTime: mtime) }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw CommandFailure(message: "\(path): cannot read the file")
    }
    return IngestSource(name: path, bytes: [UInt8](data), modificationTime: mtime)
  }

  /// The file mapped read-only, its pages dropped as ingest reads past them (so a 100 MB export is
  /// never resident at once), or nil where mapping is not possible (empty files, pipes).
  static func map(_ path: String) -> SnapshotBytes? {
    #if canImport(Glibc)
      let fd = open(path, O_RDONLY)
      guard fd >= 0 else { return nil }
      defer { close(fd) }
      var info = stat()
      guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size > 0 else { return nil }
      let length = Int(info.st_size)
      guard let base = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else { return nil }
      _ = madvise(base, length, MADV_SEQUENTIAL)
      let page = Int(sysconf(Int32(_SC_PAGESIZE)))
      let address = UInt(bitPattern: base)
      let buffer = UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: length)
      return SnapshotBytes(
        buffer: buffer,
        discard: { offset in
          // Whole pages before `offset` go; reading them again faults them back in from the page cache.
          let end = offset / page * page
          if end > 0 { _ = madvise(UnsafeMutableRawPointer(bitPattern: address), end, MADV_DONTNEED) }
        },
        release: { _ = munmap(UnsafeMutableRawPointer(bitPattern: address), length) })
    #else
      return nil
    #endif
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
    FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
  }

  static func clear() { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
}

/// Hooks the test suite uses to prove crash safety; inert unless their variable is set.
enum TestHooks {
  /// With `IAM_EVIDENCE_TEST_PAUSE_INGEST=FILE`, ingest creates FILE once every principal row is
  /// written (inside the open transaction) and then waits, so a test can kill the process there.
  static func pauseIfRequested(_ event: IngestProgress) {
    guard case .storedPrincipals(let done, let total) = event, done == total,
      let marker = ProcessInfo.processInfo.environment["IAM_EVIDENCE_TEST_PAUSE_INGEST"]
    else { return }
    _ = FileManager.default.createFile(atPath: marker, contents: Data("paused\n".utf8))
    sleep(120)
  }
}

/// With `IAM_EVIDENCE_TIMINGS=1`, ingest prints the wall time of each step and the peak memory so far
/// on standard error (what `Benchmarks/bench --phases` shows).
enum Timings {
  static let enabled = ProcessInfo.processInfo.environment["IAM_EVIDENCE_TIMINGS"] == "1"
  nonisolated(unsafe) static var last = Date()

  static func ingest(_ event: IngestProgress) {
    switch event {
    case .hashed: mark("ingest: hashed")
    case .decoded: mark("ingest: decoded")
    case .committed: mark("ingest: stored")
    case .storedPrincipals, .storedPolicies: break
    }
  }

  static func mark(_ step: String) {
    guard enabled else { return }
    let now = Date()
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let peak = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.map { $0.dropFirst(6).trimmingCharacters(in: .whitespaces) }
    FileHandle.standardError.write(
      Data("timing: \(step) \(Int((now.timeIntervalSince(last) * 1000).rounded())) ms, peak \(peak ?? "?")\n".utf8))
    last = now
  }
}
