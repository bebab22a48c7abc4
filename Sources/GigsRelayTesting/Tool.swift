import Foundation

/// Runs a command-line tool found on `PATH` and waits for it.
///
/// - Parameters:
///   - input: written to its standard input, which is then closed.
///   - environment: added to this process's environment.
/// - Returns: its exit status and everything it printed (standard output and error together).
@discardableResult
public func runTool(
    _ arguments: [String],
    input: String? = nil,
    environment: [String: String] = [:],
    directory: URL? = nil
) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    if let directory { process.currentDirectoryURL = directory }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    let stdin = Pipe()
    process.standardInput = input == nil ? FileHandle.nullDevice : stdin
    try process.run()
    if let input {
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
    }
    let printed = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: printed, as: UTF8.self))
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
