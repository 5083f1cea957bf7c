import Foundation
import ZIPFoundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One entry of a package as listed, before anything of it is read.
struct PackageEntry {
  /// What the entry is. Only files are ever read.
  enum Kind: Equatable {
    case file
    case directory
    /// A FIFO, socket or device in an unpacked folder, named (`a FIFO`…); never opened.
    case special(String)
  }

  /// The name inside the package (`/`-separated).
  var name: String
  var kind: Kind
  /// A zip entry's uncompressed size as its central directory declares it (headers can lie; the
  /// bytes are counted while they are inflated), or a file's size in a folder.
  var declaredSize: UInt64
  /// A zip entry's compressed size as declared; nil in a folder.
  var compressedSize: UInt64?
  fileprivate var zipEntry: ZIPFoundation.Entry?
  fileprivate var folder: DirectoryHandle?
  fileprivate var leaf = ""
}

/// Why one member was not read (whole): the text after `<name>: ` in the report.
struct MemberProblem: Error {
  var message: String
}

/// A package to verify, a zip or the folder it was unpacked into, read without extracting anything
/// and within ``PackageVerifier/Limits``: entries are listed first (names, kinds and declared sizes,
/// nothing inflated), and the caller then reads the members it needs, one at a time, as a stream.
final class PackageSource {
  /// Every entry (unsafe names, links and entries beyond the limit are left out and reported).
  private(set) var entries: [PackageEntry] = []
  private let archive: Archive?
  private let limits: PackageVerifier.Limits
  /// Entries seen so far (for ``PackageVerifier/Limits/maxEntries``).
  private var listed = 0

  /// Lists the package at `path`; entries that are refused outright (absolute or `..` names, links,
  /// repeated names, entries beyond ``PackageVerifier/Limits/maxEntries``) go to `problems`.
  init(path: String, limits: PackageVerifier.Limits, problems: inout [String]) throws(PackageError) {
    self.limits = limits
    var info = stat()
    guard stat(path, &info) == 0 else {
      throw PackageError(path: path, message: errno == ENOENT ? "no such file or directory" : "cannot be read")
    }
    if info.st_mode & S_IFMT == S_IFDIR {
      archive = nil
      let root = try PackageError.wrapping { () throws(FileSystemFailure) in try DirectoryHandle.open(path) }
      try walk(root, prefix: "", depth: 0, problems: &problems)
      return
    }
    guard info.st_mode & S_IFMT == S_IFREG else { throw PackageError(path: path, message: "not a zip archive or a folder") }
    let archive: Archive
    do {
      archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
    } catch {
      throw PackageError(path: path, message: "not a readable zip archive")
    }
    self.archive = archive
    var seen = Set<String>()
    for entry in archive {
      listed += 1
      guard listed <= limits.maxEntries else {
        problems.append("\(path): more than \(limits.maxEntries) entries; the rest were not examined")
        break
      }
      let name = entry.path
      if name.hasPrefix("/") || name.split(separator: "/").contains("..") || name.contains("\\") {
        problems.append("\(name): unsafe path in the archive (absolute or with ..), refused")
        continue
      }
      let kind: PackageEntry.Kind
      switch entry.type {
      case .symlink:
        problems.append("\(name): is a link (not followed)")
        continue
      case .directory: kind = .directory
      case .file: kind = .file
      }
      let trimmed = kind == .directory && name.hasSuffix("/") ? String(name.dropLast()) : name
      guard seen.insert(trimmed).inserted else {
        problems.append("\(name): appears twice in the archive")
        continue
      }
      entries.append(
        PackageEntry(
          name: trimmed, kind: kind, declaredSize: entry.uncompressedSize, compressedSize: entry.compressedSize, zipEntry: entry))
    }
  }

  /// Lists an unpacked folder without following links and without opening anything but folders.
  private func walk(_ folder: DirectoryHandle, prefix: String, depth: Int, problems: inout [String]) throws(PackageError) {
    let names = try PackageError.wrapping { () throws(FileSystemFailure) in try folder.names() }
    for leaf in names {
      listed += 1
      guard listed <= limits.maxEntries else {
        problems.append("\(prefix.isEmpty ? "." : prefix): more than \(limits.maxEntries) entries; the rest were not examined")
        return
      }
      let name = prefix + leaf
      var info = stat()
      guard fstatat(folder.fd, leaf, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
        problems.append("\(name): cannot be read")
        continue
      }
      switch info.st_mode & S_IFMT {
      case S_IFREG:
        entries.append(PackageEntry(name: name, kind: .file, declaredSize: UInt64(info.st_size), folder: folder, leaf: leaf))
      case S_IFLNK:
        problems.append("\(name): is a symbolic link (not followed)")
      case S_IFDIR:
        entries.append(PackageEntry(name: name, kind: .directory, declaredSize: 0, folder: folder, leaf: leaf))
        guard depth < 16 else {
          problems.append("\(name): folders nested deeper than 16 levels; not examined")
          continue
        }
        let child: DirectoryHandle
        do {
          child = try folder.openDirectory(leaf)
        } catch {
          problems.append("\(name): cannot be read")
          continue
        }
        try walk(child, prefix: name + "/", depth: depth + 1, problems: &problems)
      case S_IFIFO: entries.append(PackageEntry(name: name, kind: .special("a FIFO"), declaredSize: 0))
      case S_IFSOCK: entries.append(PackageEntry(name: name, kind: .special("a socket"), declaredSize: 0))
      default: entries.append(PackageEntry(name: name, kind: .special("a device"), declaredSize: 0))
      }
    }
  }

  /// Reads the file `entry` as a stream of chunks given to `consume`, refusing (before reading, on
  /// the declared sizes, and again on the bytes actually inflated or read, since headers can lie) a
  /// member larger than `limit` bytes, a zip member that inflates to another size than it declares,
  /// and one whose compression ratio exceeds ``PackageVerifier/Limits/maxCompressionRatio``.
  /// Returns the number of bytes read.
  func read(_ entry: PackageEntry, limit: UInt64, consume: (UnsafeRawBufferPointer) -> Void) throws(MemberProblem) -> UInt64 {
    precondition(entry.kind == .file)
    try checkDeclared(entry, limit: limit)
    if let zipEntry = entry.zipEntry, let archive {
      return try readZip(entry, zipEntry, archive, limit: limit, consume: consume)
    }
    return try readFile(entry, limit: limit, consume: consume)
  }

  private func checkDeclared(_ entry: PackageEntry, limit: UInt64) throws(MemberProblem) {
    if entry.declaredSize > limit {
      throw MemberProblem(message: "declares \(Self.size(entry.declaredSize)), over the limit of \(Self.size(limit)); not read")
    }
    if let compressed = entry.compressedSize, ratioExceeded(entry.declaredSize, compressed) {
      throw MemberProblem(
        message:
          "declares \(Self.size(entry.declaredSize)) compressed into \(Self.size(compressed)), more than \(limits.maxCompressionRatio):1 (a zip bomb?); not inflated"
      )
    }
  }

  private func ratioExceeded(_ inflated: UInt64, _ compressed: UInt64) -> Bool {
    inflated > limits.ratioExempt && inflated / max(compressed, 1) > limits.maxCompressionRatio
  }

  private enum Stop: Error {
    case tooLarge, beyondDeclared, ratio
  }

  private func readZip(
    _ entry: PackageEntry, _ zipEntry: ZIPFoundation.Entry, _ archive: Archive, limit: UInt64,
    consume: (UnsafeRawBufferPointer) -> Void
  ) throws(MemberProblem) -> UInt64 {
    var count: UInt64 = 0
    let compressed = entry.compressedSize ?? entry.declaredSize
    do {
      // CRC-32 is skipped: every member's SHA-256 is checked against the manifest instead.
      _ = try archive.extract(zipEntry, bufferSize: 64 << 10, skipCRC32: true) { data in
        count += UInt64(data.count)
        if count > limit { throw Stop.tooLarge }
        if count > entry.declaredSize { throw Stop.beyondDeclared }
        if ratioExceeded(count, compressed) { throw Stop.ratio }
        data.withUnsafeBytes(consume)
      }
    } catch Stop.tooLarge {
      throw MemberProblem(message: "inflates to more than the limit of \(Self.size(limit)); not read further")
    } catch Stop.beyondDeclared {
      throw MemberProblem(
        message: "inflates to more than the \(Self.size(entry.declaredSize)) its header declares (a zip bomb?); not read further")
    } catch Stop.ratio {
      throw MemberProblem(
        message:
          "inflates more than \(limits.maxCompressionRatio):1 from \(Self.size(compressed)) (a zip bomb?); not read further")
    } catch {
      throw MemberProblem(message: "cannot be read from the archive (\(error))")
    }
    guard count == entry.declaredSize else {
      throw MemberProblem(message: "inflates to \(count) bytes, not the \(entry.declaredSize) its header declares")
    }
    return count
  }

  private func readFile(_ entry: PackageEntry, limit: UInt64, consume: (UnsafeRawBufferPointer) -> Void) throws(MemberProblem)
    -> UInt64
  {
    guard let folder = entry.folder else { throw MemberProblem(message: "cannot be read") }
    // O_NONBLOCK: should the name have become a FIFO since it was listed, opening it does not wait.
    let fd = openat(folder.fd, entry.leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else { throw MemberProblem(message: "cannot be read (\(String(cString: strerror(errno))))") }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
      throw MemberProblem(message: "is not a regular file (changed while verified); not read")
    }
    var count: UInt64 = 0
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let n = buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw MemberProblem(message: "cannot be read (\(String(cString: strerror(errno))))")
      }
      if n == 0 { break }
      count += UInt64(n)
      if count > limit { throw MemberProblem(message: "grew beyond the limit of \(Self.size(limit)) while read; not read further") }
      buffer.withUnsafeBytes { consume(UnsafeRawBufferPointer(rebasing: $0.prefix(n))) }
    }
    return count
  }

  /// A byte count for messages: `1.5 GiB`, `12 MiB`, `300 bytes`.
  static func size(_ bytes: UInt64) -> String {
    let units: [(UInt64, String)] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
    for (unit, name) in units where bytes >= unit {
      let value = Double(bytes) / Double(unit)
      return (value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)) + " " + name
    }
    return "\(bytes) bytes"
  }
}

/// `read(2)` under a name that does not clash with ``PackageSource/read(_:limit:consume:)``.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
  read(fd, buffer, count)
}
