import AsyncHTTPClient
import Foundation
import GigsRelay
import GigsRelayTesting
import HTTPTypes
import NIOCore
import NIOHTTP1
import Testing

/// Mounts a tiny tmpfs (needs root, as in CI); the suite is skipped where mounting is not allowed.
private func mountTmpfs(at path: String, size: String) -> Bool {
    (try? runTool(["mount", "-t", "tmpfs", "-o", "size=\(size),mode=0700", "tmpfs", path]))?.status == 0
}

private func unmount(_ path: String) {
    _ = try? runTool(["umount", path])
}

private let canMount: Bool = {
    let directory = TemporaryDirectory(prefix: "gigs-relay-mount-probe")
    defer { directory.remove() }
    guard mountTmpfs(at: directory.path, size: "64k") else { return false }
    unmount(directory.path)
    return true
}()

@Suite("Disk full (real binary, tmpfs store)", .serialized, .enabled(if: canMount, "needs permission to mount tmpfs"))
struct DiskFullTests {
    @Test(
        "A full disk: ingest answers 503 with Retry-After, never 2xx unstored; /readyz says why; recovery is automatic")
    func diskFull() async throws {
        // Bodies up to 64 KiB: the recovery probe writes that much, which fits once the ballast is gone.
        let fixture = try DaemonFixture(serverTOML: "max_body_bytes = 65536")
        defer { fixture.directory.remove() }
        let volume = fixture.directory.file("var")
        try FileManager.default.createDirectory(atPath: volume, withIntermediateDirectories: true)
        #expect(mountTmpfs(at: volume, size: "1536k"))
        defer { unmount(volume) }
        // Ballast to free later, so space can come back.
        try Data(count: 512 * 1024).write(to: URL(fileURLWithPath: "\(volume)/ballast"))
        let (daemon, address) = try await fixture.start()
        try await eventuallyAsync("ready") { try await fixture.get("/readyz", from: address) == 200 }

        let padding = String(repeating: "x", count: 16 * 1024)
        var acknowledged: [String] = []
        var refusal: HTTPClientResponse?
        for index in 0..<400 {
            let id = "evt_full_\(index)"
            let text = String(decoding: SampleEvents.subscriptionActivated(id: id), as: UTF8.self)
            let body = Array(
                text.replacingOccurrences(of: #""object":"event","#, with: #""object":"event","pad":"\#(padding)","#)
                    .utf8)
            var request = HTTPClientRequest(url: "http://\(address)/webhooks/gigs")
            request.method = .POST
            for field in fixture.signer.headers(body: body) {
                request.headers.add(name: field.name.rawName, value: field.value)
            }
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 20)
            if response.status == .accepted {
                acknowledged.append(id)
            } else {
                refusal = response
                break
            }
        }
        let refused = try #require(refusal, "the disk never filled")
        #expect(refused.status == .serviceUnavailable)
        #expect(refused.headers.first(name: "Retry-After") == "5")
        #expect(acknowledged.count > 10)
        try await eventuallyAsync("not ready") { try await fixture.get("/readyz", from: address) == 503 }
        #expect(try await fixture.fetch("/readyz", from: address).body.contains("store: writes are failing"))
        // It stays so while the disk is full: the recovery probe writes as much as the largest event, and
        // a full disk may still take a smaller write.
        for _ in 0..<6 {
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await fixture.get("/readyz", from: address) == 503)
        }

        try FileManager.default.removeItem(atPath: "\(volume)/ballast")
        try await eventuallyAsync("ready again by itself") { try await fixture.get("/readyz", from: address) == 200 }
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_after_full"), to: address) == 202)
        try await daemon.stop()
        let reader = try EventLogReader(path: fixture.storePath)
        for id in acknowledged + ["evt_after_full"] {
            #expect(try reader.rowCount(id: EventID(id)) == 1, "\(id) was acknowledged but is not stored")
        }
    }
}
