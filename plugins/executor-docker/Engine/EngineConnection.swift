#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where a Docker engine listens: its unix socket, or a TCP address (DOCKER_HOST's forms).
public enum EngineEndpoint: Sendable, Equatable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: Int)

    public static let defaultSocket = EngineEndpoint.unix(path: "/var/run/docker.sock")

    /// Parses `unix:///path`, `tcp://host:port` (or `http://`), or a bare socket path.
    /// - Throws: `EngineError` saying which forms are accepted.
    public static func parse(_ text: String) throws(EngineError) -> EngineEndpoint {
        if text.hasPrefix("unix://") {
            let path = String(text.dropFirst("unix://".count))
            guard path.hasPrefix("/") else { throw EngineError("docker_host '\(text)' has no absolute socket path; write unix:///var/run/docker.sock.") }
            return .unix(path: path)
        }
        if text.hasPrefix("/") { return .unix(path: text) }
        for scheme in ["tcp://", "http://"] where text.hasPrefix(scheme) {
            var rest = String(text.dropFirst(scheme.count))
            if rest.hasSuffix("/") { rest.removeLast() }
            guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port),
                  colon != rest.startIndex else {
                throw EngineError("docker_host '\(text)' is not tcp://HOST:PORT; write e.g. tcp://127.0.0.1:2375.")
            }
            return .tcp(host: String(rest[..<colon]), port: port)
        }
        throw EngineError("docker_host '\(text)' is neither unix:///PATH nor tcp://HOST:PORT (https is not supported); write e.g. unix:///var/run/docker.sock.")
    }

    public var description: String {
        switch self {
        case .unix(let path): "unix://\(path)"
        case .tcp(let host, let port): "tcp://\(host):\(port)"
        }
    }
}

/// A failed exchange with the engine. `status` is the HTTP status when the engine answered;
/// nil when it could not be reached or the connection broke (`isUnreachable`).
public struct EngineError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var status: Int?
    public var isUnreachable: Bool

    public init(_ message: String, status: Int? = nil, isUnreachable: Bool = false) {
        self.message = message
        self.status = status
        self.isUnreachable = isUnreachable
    }

    public var description: String { message }
}

/// An HTTP response head: the status and the headers (names lowercased).
struct ResponseHead {
    var status: Int
    var headers: [String: String]
    var isChunked: Bool { headers["transfer-encoding"]?.lowercased().contains("chunked") == true }
    var contentLength: Int? { headers["content-length"].flatMap { Int($0.trimmingSpaces) } }
    var keepsAlive: Bool { headers["connection"]?.lowercased() != "close" }
}

extension String {
    var trimmingSpaces: Substring {
        var text = Substring(self)
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" || text.last == "\r" { text.removeLast() }
        return text
    }
}

/// One blocking HTTP/1.1 connection to the engine. Not thread-safe: one request at a time.
/// Plain sockets rather than an event loop: every attempt has its own thread waiting on its
/// container anyway, and a blocking read is the cheapest way to wait.
final class EngineConnection {
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private var position = 0
    let endpoint: EngineEndpoint

    /// Connects. `timeoutSeconds` bounds the connect and every later read and write; nil waits forever.
    init(endpoint: EngineEndpoint, timeoutSeconds: Double?) throws(EngineError) {
        self.endpoint = endpoint
        let unreachable = { (what: String) in
            EngineError("Docker engine at \(endpoint) is unreachable: \(what)", isUnreachable: true)
        }
        switch endpoint {
        case .unix(let path):
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw unreachable("socket: \(Self.errorText())") }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
                close(fd)
                throw EngineError("docker_host socket path \(path) is longer than a unix socket path may be (107 bytes)")
            }
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                raw.copyBytes(from: bytes)
                raw[bytes.count] = 0
            }
            Self.setTimeout(fd, timeoutSeconds)
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else {
                let text = Self.errorText()
                close(fd)
                throw unreachable("connect to \(path): \(text)")
            }
            descriptor = fd
        case .tcp(let host, let port):
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
                throw unreachable("cannot resolve host \(host)")
            }
            defer { freeaddrinfo(list) }
            var connected: Int32 = -1
            var lastError = "no address"
            var entry: UnsafeMutablePointer<addrinfo>? = first
            while let current = entry, connected < 0 {
                let fd = socket(current.pointee.ai_family, current.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), current.pointee.ai_protocol)
                if fd >= 0 {
                    Self.setTimeout(fd, timeoutSeconds)
                    if connect(fd, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 {
                        var one: Int32 = 1
                        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                        connected = fd
                    } else {
                        lastError = Self.errorText()
                        close(fd)
                    }
                }
                entry = current.pointee.ai_next
            }
            guard connected >= 0 else { throw unreachable("connect to \(host):\(port): \(lastError)") }
            descriptor = connected
        }
    }

    deinit { close(descriptor) }

    private static func setTimeout(_ fd: Int32, _ seconds: Double?) {
        guard let seconds else { return }
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    static func errorText(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }

    private func broken(_ what: String) -> EngineError {
        EngineError("Docker engine at \(endpoint): \(what)", isUnreachable: true)
    }

    /// Sends one request. `path` includes the query.
    func send(method: String, path: String, body: [UInt8]?, contentType: String = "application/json") throws(EngineError) {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: docker\r\nUser-Agent: docket-executor-docker\r\n"
        if let body {
            head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
        } else if method == "POST" {
            head += "Content-Length: 0\r\n"
        }
        head += "\r\n"
        var bytes = Array(head.utf8)
        if let body { bytes += body }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw broken("write failed: \(Self.errorText())")
            }
            offset += written
        }
    }

    /// Reads more bytes into the buffer. Returns false at end of stream.
    private func fill() throws(EngineError) -> Bool {
        if position > 0 && position == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            position = 0
        }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { throw broken("no answer within the timeout") }
                throw broken("read failed: \(Self.errorText())")
            }
            if count == 0 { return false }
            buffer.append(contentsOf: chunk[0..<count])
            return true
        }
    }

    private func readLine() throws(EngineError) -> String {
        while true {
            if let newline = buffer[position...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > position && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[position..<end], as: UTF8.self)
                position = newline + 1
                return line
            }
            guard try fill() else { throw broken("the connection closed in the middle of a response") }
        }
    }

    /// Reads the status line and headers.
    func readHead() throws(EngineError) -> ResponseHead {
        var line = try readLine()
        // 1xx interim responses (100 Continue) carry no body.
        while true {
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
                throw broken("answered something that is not HTTP: \(line.prefix(80))")
            }
            var headers: [String: String] = [:]
            while true {
                let header = try readLine()
                if header.isEmpty { break }
                guard let colon = header.firstIndex(of: ":") else { continue }
                headers[header[..<colon].lowercased()] = String(String(header[header.index(after: colon)...]).trimmingSpaces)
            }
            if status >= 100 && status < 200 { line = try readLine(); continue }
            return ResponseHead(status: status, headers: headers)
        }
    }

    /// Hands the next `count` bytes of the stream to `onData`, reading as needed.
    private func pass(_ count: Int, to onData: ([UInt8]) -> Void, where place: String) throws(EngineError) {
        var remaining = count
        while remaining > 0 {
            if position == buffer.count { guard try fill() else { throw broken("the connection closed \(place)") } }
            let take = min(remaining, buffer.count - position)
            onData(Array(buffer[position..<(position + take)]))
            position += take
            remaining -= take
        }
    }

    /// Reads the body of `head`, handing each piece to `onData` as it arrives. Returns true when
    /// the connection can carry another request.
    func readBody(_ head: ResponseHead, method: String, onData: ([UInt8]) -> Void) throws(EngineError) -> Bool {
        if method == "HEAD" || head.status == 204 || head.status == 304 { return head.keepsAlive }
        if head.isChunked {
            while true {
                let sizeLine = try readLine()
                let hex = sizeLine.split(separator: ";").first.map { String($0).trimmingSpaces } ?? ""
                guard let size = Int(hex, radix: 16) else { throw broken("sent a bad chunk size '\(sizeLine.prefix(20))'") }
                if size == 0 {
                    while try !readLine().isEmpty {}  // trailers
                    return head.keepsAlive
                }
                try pass(size, to: onData, where: "inside a chunk")
                _ = try readLine()  // the CRLF after the chunk
            }
        }
        if let length = head.contentLength {
            try pass(length, to: onData, where: "inside a response body")
            return head.keepsAlive
        }
        // Neither: the body runs to the end of the connection.
        while true {
            if position < buffer.count {
                onData(Array(buffer[position...]))
                position = buffer.count
            }
            guard try fill() else { return false }
        }
    }
}
