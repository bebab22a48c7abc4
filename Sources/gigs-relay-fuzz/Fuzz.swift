import Foundation
import GigsRelay

/// libFuzzer's entry point: one input, through ``FuzzTargets``.
///
/// Built with `-sanitize=fuzzer,address -DFUZZING` by `Tests/Fuzz/run.sh`, libFuzzer provides `main`.
/// In a normal build the `main` below replays files instead, so a crash input saved by the fuzzer can be
/// rerun as a plain regression check: `gigs-relay-fuzz FILE…`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTargets.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

#if FUZZING
    /// libFuzzer's driver, for an entry point of our own: SwiftPM links executables with `main` aliased to
    /// `gigs_relay_fuzz_main`, so libFuzzer's `main` is not used and this one starts the fuzzer.
    @_silgen_name("LLVMFuzzerRunDriver")
    func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    @_cdecl("gigs_relay_fuzz_main")
    func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        var count = argc
        var arguments = argv
        return runFuzzerDriver(&count, &arguments) { data, size in
            guard let data else { return 0 }
            return fuzzOneInput(data, size)
        }
    }
#else
    @main
    enum Replay {
        static func main() throws {
            var count = 0
            for path in CommandLine.arguments.dropFirst() {
                let files =
                    (try? FileManager.default.contentsOfDirectory(atPath: path))?.map { "\(path)/\($0)" } ?? [path]
                for file in files.sorted() {
                    guard let data = FileManager.default.contents(atPath: file) else { continue }
                    FuzzTargets.run(Array(data))
                    count += 1
                }
            }
            FileHandle.standardOutput.write(Data("replayed \(count) inputs\n".utf8))
        }
    }
#endif
