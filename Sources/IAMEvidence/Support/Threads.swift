import Foundation

/// Work run on a thread of its own; ``result()`` waits for it (once or more).
final class BackgroundJob<T: Sendable>: Sendable {
  private let outcome = Locked<Result<T, any Error>?>(nil)
  private let done = DispatchSemaphore(value: 0)

  init(_ work: @escaping @Sendable () throws -> T) {
    let outcome = outcome
    let done = done
    Thread.detachNewThread {
      let result = Result { try work() }
      outcome.withLock { $0 = result }
      done.signal()
    }
  }

  /// The work's value, or its error, once it is done.
  func result() throws -> T {
    if let finished = outcome.withLock({ $0 }) { return try finished.get() }
    done.wait()
    done.signal()  // for the next caller
    return try outcome.withLock { $0 }!.get()
  }
}

/// A value changed in place on a thread of its own (`change` has the only reference, so a large array
/// is not copied); ``value()`` waits and hands it over, moved out.
final class BackgroundMutation<Value>: @unchecked Sendable {
  // Only the thread touches `stored` until `done` is signalled, only `value()` after.
  private var stored: Value?
  private let done = DispatchSemaphore(value: 0)

  init(_ value: consuming Value, _ change: @escaping @Sendable (inout Value) -> Void) {
    stored = value
    Thread.detachNewThread { [self] in
      var value = stored.take()!  // moved out: the only reference while it changes
      change(&value)
      stored = value
      done.signal()
    }
  }

  /// The changed value (once: it is moved out).
  func value() -> Value {
    done.wait()
    return stored.take()!
  }
}

/// A value behind a lock.
final class Locked<Value>: @unchecked Sendable {
  private let lock = NSLock()
  private var value: Value
  init(_ value: Value) { self.value = value }
  func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
    lock.lock()
    defer { lock.unlock() }
    return try body(&value)
  }
}

/// A bounded queue of values (byte blocks, batches of rows) from one thread to another.
final class Channel<Element: Sendable>: @unchecked Sendable {
  private let condition = NSCondition()
  private var queue: [Element] = []
  private var head = 0
  private var closed = false
  private var cancelled = false
  private let capacity: Int

  init(capacity: Int) { self.capacity = capacity }

  /// Queues `block`, waiting while the queue is full; false once the receiver cancelled.
  func send(_ block: Element) -> Bool {
    condition.lock()
    defer { condition.unlock() }
    while queue.count - head >= capacity && !cancelled { condition.wait() }
    guard !cancelled else { return false }
    queue.append(block)
    condition.broadcast()
    return true
  }

  /// The next block, waiting for one; nil once closed and empty, or cancelled.
  func receive() -> Element? {
    condition.lock()
    defer { condition.unlock() }
    while head == queue.count && !closed && !cancelled { condition.wait() }
    guard !cancelled, head < queue.count else { return nil }
    let block = queue[head]
    head += 1
    if head == queue.count {
      queue.removeAll(keepingCapacity: true)
      head = 0
    }
    condition.broadcast()
    return block
  }

  /// No more blocks will be sent.
  func close() {
    condition.lock()
    closed = true
    condition.broadcast()
    condition.unlock()
  }

  /// Drops what is queued; sends fail and receives end from now on.
  func cancel() {
    condition.lock()
    cancelled = true
    queue.removeAll()
    head = 0
    condition.broadcast()
    condition.unlock()
  }

  var isCancelled: Bool {
    condition.lock()
    defer { condition.unlock() }
    return cancelled
  }
}

/// A channel of byte blocks.
typealias BlockChannel = Channel<[UInt8]>
