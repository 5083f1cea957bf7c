import Foundation

/// The bundled demo account: three monthly snapshots written for this project.
public enum DemoData {
  /// The demo snapshot files, oldest first, each with the capture time its file name gives.
  public static func snapshots() throws -> [(url: URL, capturedAt: Timestamp)] {
    guard let dir = Bundle.module.url(forResource: "Demo", withExtension: nil) else {
      throw StoreError(path: "Demo", message: "the demo data is missing from the tool's resources")
    }
    let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.sorted()
    return names.compactMap { name in
      // Files are named by the last day of the month they stand for; captured at the end of that day.
      guard let day = Timestamp(parsing: String(name.dropLast(5))) else { return nil }
      return (dir.appendingPathComponent(name), Timestamp(epochSeconds: day.epochSeconds + 86_399))
    }
  }
}
