// System/ is the one folder of the library that calls the C library directly (open, read, mmap,
// madvise, munmap, dlsym, mallopt from Glibc): these are operating-system calls, not a C module of
// this project, so they need no wrapper target. Each use is kept behind a small Swift type that owns
// what it allocates, so nothing else in the library (and nothing in the CLI) touches raw memory
// mappings or descriptors.
#if canImport(Glibc)
  import Glibc
#endif

/// A private file (``InputFile``'s unlinked copy of a large input) mapped read-only into memory.
/// Ingest reads it front to back and drops the pages behind it (``discard(upTo:)``), so a 100 MB
/// export is never resident at once. Unmapped in `deinit`.
///
/// Only files no other process can reach are mapped: a mapping of a file that someone else
/// truncates raises SIGBUS when read, and one that someone rewrites changes under the reader.
public final class MappedFile: @unchecked Sendable {
  /// The file's bytes; valid while this object lives. Only read, never written, so sharing it across
  /// threads is sound.
  public let buffer: UnsafeBufferPointer<UInt8>
  private let pageSize: Int

  /// Maps the first `length` bytes of the open file `descriptor` (which may be closed afterwards);
  /// nil where mapping fails or the platform has no `mmap`.
  init?(descriptor: Int32, length: Int) {
    #if canImport(Glibc)
      guard length > 0, let base = mmap(nil, length, PROT_READ, MAP_PRIVATE, descriptor, 0), base != MAP_FAILED else { return nil }
      _ = madvise(base, length, MADV_SEQUENTIAL)
      pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
      buffer = UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: length)
    #else
      return nil
    #endif
  }

  deinit {
    #if canImport(Glibc)
      _ = munmap(UnsafeMutableRawPointer(mutating: buffer.baseAddress), buffer.count)
    #endif
  }

  /// Drops the whole pages before `offset` from memory: they are not needed for now, and reading them
  /// again faults them back in from the page cache (the mapping is read-only, so nothing is lost).
  public func discard(upTo offset: Int) {
    #if canImport(Glibc)
      let end = min(offset, buffer.count) / pageSize * pageSize
      if end > 0 { _ = madvise(UnsafeMutableRawPointer(mutating: buffer.baseAddress), end, MADV_DONTNEED) }
    #endif
  }
}
