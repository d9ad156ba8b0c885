import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Forwards TCP connections from a port of its own to `127.0.0.1:target`, and can cut them the way a network
/// partition does: `partition()` stops moving bytes on every connection open at that moment without closing it,
/// so neither end hears anything more, not even a reset. Connections made later pass, as after a failover.
public final class TCPProxy: @unchecked Sendable {
    public let port: Int
    private let target: Int
    private let listener: Int32
    private let state = Mutex<(descriptors: [Int32], cut: Set<Int32>, closed: Bool)>(([], [], false))

    public init(target: Int) throws {
        self.target = target
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestSupportError("socket failed: errno \(errno)") }
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound, listen(descriptor, 16) == 0 else {
            Glibc.close(descriptor)
            throw TestSupportError("cannot listen for the proxy: errno \(errno)")
        }
        listener = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    deinit { close() }

    /// Cuts every connection open now: bytes stop moving both ways, and nothing is closed.
    public func partition() {
        state.withLock { $0.cut.formUnion($0.descriptors) }
    }

    /// Stops accepting and closes every connection.
    public func close() {
        // Descriptors are shut and closed only under the lock: once closed, their numbers may belong to other
        // sockets of the process, and must never be touched again.
        state.withLock { state in
            guard !state.closed else { return }
            state.closed = true
            shutdown(listener, Int32(SHUT_RDWR))
            for descriptor in state.descriptors { shutdown(descriptor, Int32(SHUT_RDWR)) }
        }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                // Ends only once `close()` shut the listener, so its number is not reused while close() may use it.
                if state.withLock({ $0.closed }) {
                    Glibc.close(listener)
                    return
                }
                Thread.sleep(forTimeInterval: 0.01)
                continue
            }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: target)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            let accepted = state.withLock { state -> Bool in
                guard !state.closed, connected else { return false }
                state.descriptors += [client, upstream]
                return true
            }
            guard accepted else {
                Glibc.close(client)
                Glibc.close(upstream)
                continue
            }
            // The second pump to finish closes both sockets.
            let finished = Atomic<Int>(0)
            for (source, destination) in [(client, upstream), (upstream, client)] {
                Thread { [self] in
                    pump(from: source, to: destination)
                    if finished.add(1, ordering: .acquiringAndReleasing).newValue == 2 {
                        state.withLock { state in
                            state.descriptors.removeAll { $0 == client || $0 == upstream }
                            state.cut.subtract([client, upstream])
                            Glibc.close(client)
                            Glibc.close(upstream)
                        }
                    }
                }.start()
            }
        }
    }

    /// Copies bytes until either side closes; once the connection is cut, holds what it read and waits for `close()`.
    private func pump(from source: Int32, to destination: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if isCut(source) {
                if state.withLock({ $0.closed }) { break }
                Thread.sleep(forTimeInterval: 0.05)
                continue
            }
            var descriptor = pollfd(fd: source, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 50) >= 0 || errno == EINTR else { break }
            guard descriptor.revents != 0, !isCut(source) else { continue }
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            guard count > 0, !isCut(source) else {
                if count > 0 { continue }  // cut while reading: these bytes never arrive
                break
            }
            var written = 0
            while written < count {
                let step = buffer.withUnsafeBytes { write(destination, $0.baseAddress! + written, count - written) }
                guard step > 0 else { break }
                written += step
            }
        }
        shutdown(destination, Int32(SHUT_WR))
    }

    private func isCut(_ descriptor: Int32) -> Bool {
        state.withLock { $0.cut.contains(descriptor) }
    }
}
