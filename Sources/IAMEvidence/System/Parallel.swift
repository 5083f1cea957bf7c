import Dispatch
import Foundation

/// Work spread over the cores: the checks evaluate documents with it, the snapshot model parses
/// documents with it, and the store encodes results with it.
enum Parallel {
  /// `transform` applied to every element, spread over the available cores; order is kept.
  static func map<T: Sendable, R: Sendable>(
    _ items: [T], minimumCount: Int = 64, _ transform: @escaping @Sendable (T) -> R
  ) -> [R] {
    if items.count < minimumCount { return items.map(transform) }
    let chunks = min(ProcessInfo.processInfo.activeProcessorCount * 4, items.count)
    var slots = [R?](repeating: nil, count: items.count)
    slots.withUnsafeMutableBufferPointer { buffer in
      let output = DisjointSlots(base: buffer.baseAddress!)
      DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
        var i = chunk
        while i < items.count {
          output.base[i] = transform(items[i])
          i += chunks
        }
      }
    }
    return slots.map { $0! }
  }
}

/// A buffer whose slots concurrent iterations write: each iteration writes only the indexes it owns
/// (`i ≡ chunk mod chunks`), so no slot is shared and the unchecked sendability is sound.
private struct DisjointSlots<R>: @unchecked Sendable {
  let base: UnsafeMutablePointer<R?>
}
