import Foundation

/// A real nginx (Debian's package) in front of the daemon, run from a temporary folder with the shipped
/// `deploy/nginx/gigs-relay.conf`, adapted only where a test must: the listening port, the upstream
/// address and a throwaway certificate.
public final class NginxProxy: Sendable {
    /// `127.0.0.1:PORT` nginx listens on with TLS.
    public let address: String
    /// The throwaway certificate, for the client's trust roots.
    public let certificatePath: String
    private let directory = TemporaryDirectory(prefix: "gigs-relay-nginx")
    private let process: Process

    /// - Parameter upstream: the daemon's `HOST:PORT`.
    public convenience init(upstream: String) throws {
        try self.init(site: "deploy/nginx/gigs-relay.conf", upstreams: ["127.0.0.1:8080": upstream])
    }

    /// - Parameters:
    ///   - site: the shipped site file, relative to the repository.
    ///   - upstreams: each address the file names in its upstream, and the test's daemon in its place.
    public init(site file: String, upstreams: [String: String]) throws {
        let port = try freeLoopbackPort()
        address = "127.0.0.1:\(port)"
        certificatePath = directory.file("cert.pem")
        try makeSelfSignedCertificate(certificate: certificatePath, key: directory.file("key.pem"))
        var site = try String(contentsOfFile: Repository.path(file), encoding: .utf8)
        for (shipped, test) in upstreams {
            site = site.replacingOccurrences(of: "server \(shipped)", with: "server \(test)")
        }
        site = site.replacingOccurrences(of: "listen 443 ssl http2;", with: "listen \(address) ssl http2;")
            .replacingOccurrences(of: "listen [::]:443 ssl http2;", with: "")
            .replacingOccurrences(of: "/etc/ssl/certs/webhooks.example.com.pem", with: certificatePath)
            .replacingOccurrences(of: "/etc/ssl/private/webhooks.example.com.key", with: directory.file("key.pem"))
        _ = try directory.write("gigs-relay.conf", site)
        let path = directory.path
        _ = try directory.write(
            "nginx.conf",
            """
            daemon off;
            worker_processes 1;
            pid \(path)/nginx.pid;
            error_log \(path)/error.log warn;
            events { worker_connections 256; }
            http {
                access_log off;
                client_body_temp_path \(path)/body;
                proxy_temp_path \(path)/proxy;
                include \(path)/gigs-relay.conf;
            }
            """)
        // In the foreground, as this process's child: a daemonising nginx would keep Foundation's
        // process-exit pipe open and hang the wait.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["nginx", "-p", path, "-c", "\(path)/nginx.conf"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + .seconds(10)
        while !FileManager.default.fileExists(atPath: "\(path)/nginx.pid") {
            guard process.isRunning, ContinuousClock.now < deadline else {
                throw RelayProcess.Failure(description: "nginx did not start: \(errorLog)")
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    deinit {
        process.terminate()
        // Polled, not `waitUntilExit()`, which can hang when Foundation's process monitor is busy.
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.02) }
        directory.remove()
    }

    /// nginx's error log so far.
    public var errorLog: String { (try? String(contentsOfFile: directory.file("error.log"), encoding: .utf8)) ?? "" }
}

/// A loopback port nothing listens on right now.
public func freeLoopbackPort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
        }
    }
    guard bound else { throw RelayProcess.Failure(description: "no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}
