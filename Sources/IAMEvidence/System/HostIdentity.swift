// Calls into the C library: see the note at the top of MappedFile.swift on why System/ may.
#if canImport(Glibc)
  import Glibc
#endif

/// Where and as whom the tool runs: recorded with every ingest and review import (provenance).
public struct HostIdentity: Sendable, Hashable {
  /// The machine's host name (`gethostname`).
  public var host: String
  /// The operating-system user (the effective user's login name, else its numeric id).
  public var user: String

  public init(host: String, user: String) {
    self.host = host
    self.user = user
  }

  /// The running process's host and user.
  public static func current() -> HostIdentity {
    #if canImport(Glibc)
      var buffer = [CChar](repeating: 0, count: 256)
      let host =
        gethostname(&buffer, buffer.count - 1) == 0
        ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
      let uid = geteuid()
      var user = "uid \(uid)"
      if let entry = getpwuid(uid), let name = entry.pointee.pw_name {
        user = String(cString: name)
      }
      return HostIdentity(host: host.isEmpty ? "unknown" : host, user: user)
    #else
      return HostIdentity(host: "unknown", user: "unknown")
    #endif
  }
}
