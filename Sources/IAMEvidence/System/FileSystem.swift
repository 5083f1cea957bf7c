// Calls into the C library: see the note at the top of MappedFile.swift on why System/ may.
#if canImport(Glibc)
  import Glibc
#endif

/// Facts about files that Foundation does not give.
public enum FileSystem {
  /// True when the file system holding `path` (or its folder, when `path` does not exist) is mounted
  /// read-only.
  public static func isReadOnly(path: String) -> Bool {
    #if canImport(Glibc)
      var info = statvfs()
      if statvfs(path, &info) == 0 { return info.f_flag & UInt(ST_RDONLY) != 0 }
      return false
    #else
      return false
    #endif
  }
}
