import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a command-line tool found on `PATH` and waits for it.
///
/// Spawned with `posix_spawn` and reaped with `waitpid` on the calling thread, not through Foundation's
/// `Process`, which learns of every child's exit on one shared monitor thread. That thread was seen
/// blocked in `waitpid` on a daemon still running, while tests blocked in `waitUntilExit` held both of
/// Swift's cooperative threads, so the test that would have stopped the daemon never ran.
///
/// - Parameters:
///   - input: written to its standard input, which is then closed.
///   - environment: added to this process's environment.
///   - directory: its working directory.
/// - Returns: its exit status (128 + N when signal N killed it) and everything it printed (standard
///   output and error together).
@discardableResult
public func runTool(
    _ arguments: [String],
    input: String? = nil,
    environment: [String: String] = [:],
    directory: URL? = nil
) throws -> (status: Int32, output: String) {
    var command = ["env"]
    if let directory { command.append("--chdir=\(directory.path)") }
    command += arguments
    let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0)=\($1)" }

    var inputPipe: [Int32] = [-1, -1]
    var outputPipe: [Int32] = [-1, -1]
    guard pipe(&inputPipe) == 0, pipe(&outputPipe) == 0 else {
        throw RelayProcess.Failure(description: "pipe failed: errno \(errno)")
    }
    for descriptor in inputPipe + outputPipe { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, inputPipe[0], 0)
    posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 2)
    // Nothing else this process has open: a tool that stays (pg_ctl's server) would otherwise hold the
    // descriptors by which Foundation and this function learn that other children have exited.
    closeFrom(3, in: &actions)

    var pid = pid_t()
    let spawned = withCStrings(command) { argv in
        withCStrings(variables) { envp in posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, envp) }
    }
    close(inputPipe[0])
    close(outputPipe[1])
    guard spawned == 0 else {
        close(inputPipe[1])
        close(outputPipe[0])
        throw RelayProcess.Failure(description: "could not start \(arguments.first ?? ""): errno \(spawned)")
    }
    let writer = FileHandle(fileDescriptor: inputPipe[1], closeOnDealloc: true)
    if let input { writer.write(Data(input.utf8)) }
    try writer.close()
    let printed = FileHandle(fileDescriptor: outputPipe[0], closeOnDealloc: true).readDataToEndOfFile()
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (exitStatus, String(decoding: printed, as: UTF8.self))
}

/// Adds glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's Glibc module
/// leaves out because it is a GNU extension.
private func closeFrom(_ first: Int32, in actions: inout posix_spawn_file_actions_t) {
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
    else { return }
    _ = unsafeBitCast(symbol, to: AddCloseFrom.self)(&actions, first)
}

/// Calls `body` with `strings` as a NULL-terminated array of C strings.
private func withCStrings<Result>(
    _ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> Result
) -> Result {
    var pointers = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return body(pointers)
}

/// A throwaway self-signed certificate for `127.0.0.1` and `localhost`, made with the openssl tool.
public func makeSelfSignedCertificate(certificate: String, key: String) throws {
    let (status, output) = try runTool([
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", key, "-out",
        certificate, "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ])
    guard status == 0 else {
        throw RelayProcess.Failure(description: "openssl could not make a certificate: \(output)")
    }
}
