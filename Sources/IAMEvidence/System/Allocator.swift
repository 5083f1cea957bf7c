// Calls into the C library: see the note at the top of MappedFile.swift on why System/ may.
#if canImport(Glibc)
  import Glibc
#endif

/// glibc allocator settings for the tool's workload. `mallopt` is declared in <malloc.h>, which
/// Swift's Glibc module does not import, so it is looked up by name (RTLD_DEFAULT is the null
/// handle). A no-op returning false elsewhere.
public enum Allocator {
  /// M_MXFAST.
  static let fastBinLimit: Int32 = 1
  /// M_MMAP_THRESHOLD.
  static let mmapThreshold: Int32 = -3

  /// Turns glibc's fast bins off. Large reports build and free hundreds of thousands of small libxml2
  /// nodes and strings; with fast bins, every later large allocation first consolidates them all.
  /// Without them a report with 11,000 findings renders in 1.8 s instead of 2.8 s (measured, same
  /// output).
  @discardableResult
  public static func disableFastBins() -> Bool { set(fastBinLimit, 0) }

  /// Fixes the size from which blocks are mapped on their own and returned to the system when freed:
  /// it stops glibc raising the threshold after the first large free, which left a 100 MB ingest's
  /// freed buffers in the heap (peak 108 MB instead of 97 MB with 128 KB, same time; measured). Not
  /// for reports: a large report spends more on the extra mappings than it saves.
  @discardableResult
  public static func fixMmapThreshold(bytes: Int32) -> Bool { set(mmapThreshold, bytes) }

  /// Hands the heap's free pages back to the system (`malloc_trim(0)`, every arena): the pages a
  /// finished step freed no longer count in the process's memory while a later step, on other
  /// threads with arenas of their own, touches new ones. Whether anything was released.
  @discardableResult
  public static func releaseFreeMemory() -> Bool {
    #if canImport(Glibc)
      guard let symbol = dlsym(nil, "malloc_trim") else { return false }
      typealias MallocTrim = @convention(c) (Int) -> Int32
      return unsafeBitCast(symbol, to: MallocTrim.self)(0) == 1
    #else
      return false
    #endif
  }

  /// `mallopt(parameter, value)`; whether it succeeded.
  static func set(_ parameter: Int32, _ value: Int32) -> Bool {
    #if canImport(Glibc)
      guard let symbol = dlsym(nil, "mallopt") else { return false }
      typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
      return unsafeBitCast(symbol, to: Mallopt.self)(parameter, value) == 1
    #else
      return false
    #endif
  }
}
