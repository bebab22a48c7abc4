import Foundation
import GigsRelayTesting
import Testing

/// The test harness's child processes, which every real-binary suite relies on.
@Suite("Test harness: child processes")
struct HarnessTests {
    @Test("A tool inherits no descriptor of the test process but its standard streams")
    func toolInheritsNothing() throws {
        let listed = try runTool(["sh", "-c", "ls /proc/$$/fd"])
        #expect(listed.status == 0)
        let descriptors = listed.output.split(separator: "\n").map(String.init).sorted()
        #expect(descriptors.joined(separator: " ") == "0 1 2", "\(listed.output)")
    }

    @Test("A binary's exit is seen while a process it left behind holds what it inherited")
    func exitSeenDespiteInheritor() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        // Exits 0 after a moment, leaving a sleep that holds every descriptor it had, Foundation's
        // exit-notification socket and the output pipe among them.
        let pidFile = directory.file("left-behind.pid")
        let child = try RelayProcess(
            arguments: [], directory: directory.path,
            launcher: ["sh", "-c", "sleep 30 & echo $! > \(pidFile); sleep 0.3", "child"])
        defer {
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
                let pid = Int32(text.filter(\.isNumber))
            {
                kill(pid, SIGKILL)
            }
        }
        // Well before the sleep left behind ends, however loaded the machine.
        let started = ContinuousClock.now
        #expect(try await child.waitForExit(timeout: .seconds(25)) == 0)
        #expect(ContinuousClock.now - started < .seconds(20))
    }
}
