import Foundation
import FuzzTargets

/// `abslrp-fuzz TARGET [FILE...]`: replays files through a ``FuzzTarget``
/// (printing each outcome), or, in the build of `scripts/fuzz.sh`
/// (`-sanitize=fuzzer -DFUZZING`), runs libFuzzer on it:
/// `abslrp-fuzz TARGET [libFuzzer flags] [CORPUS...]`.
@main
enum FuzzMain {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2, let target = FuzzTarget(rawValue: arguments[1]) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("usage: abslrp-fuzz TARGET [FILE... | libFuzzer flags and corpus]; targets: \(names)\n".utf8))
            exit(2)
        }
        #if FUZZING
        current = target
        var argv = [arguments[0]] + arguments.dropFirst(2)
        exit(runLibFuzzer(argv: &argv))
        #else
        for path in arguments.dropFirst(2) {
            guard let bytes = FileManager.default.contents(atPath: path) else {
                print("\(path): cannot read"); continue
            }
            print("\(path): " + (target.run(bytes).map { "refused: \($0)" } ?? "accepted"))
        }
        #endif
    }
}

#if FUZZING
/// The target libFuzzer's callback runs (set once, before the driver starts).
nonisolated(unsafe) private var current = FuzzTarget.safetensors

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    current.run(data.map { Data(bytes: $0, count: size) } ?? Data())
    return 0
}

/// libFuzzer's driver (`FuzzerDriver.cpp`), called from this program's own
/// `main` so that the target can be chosen by the first argument.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

private func runLibFuzzer(argv arguments: inout [String]) -> Int32 {
    var pointers: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    var argc = Int32(arguments.count)
    return pointers.withUnsafeMutableBufferPointer { buffer in
        var base: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
        return LLVMFuzzerRunDriver(&argc, &base, fuzzOneInput)
    }
}
#endif
