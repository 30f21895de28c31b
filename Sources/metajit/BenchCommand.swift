import ArgumentParser
import Foundation
import BenchKit
import JIT
import Lowering
import Runtime
import MetaLearning

/// `metajit bench`: MetaJIT and its peers (JAX, PyTorch) on the same meta-training steps,
/// in the same run, alternating; results as JSON + Markdown under `Benchmarks/results/`.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmark meta-training steps against JAX and PyTorch, side by side.",
        discussion: """
            Each measurement runs in its own process (so peak RSS is per workload): MetaJIT as \
            `metajit bench --single W`, peers as `Benchmarks/peers/peers.py`. Warm-up iterations are \
            excluded; the first call is reported as compile/trace time. Create the peers' virtualenv \
            first with `bash Benchmarks/peers/setup.sh`.
            """)

    @Option(help: "Comma-separated workloads (default: all): \(BenchWorkload.all.map(\.name).joined(separator: ", ")).")
    var workloads: String?
    @Option(help: "Warm-up iterations (the first is the compile/trace call).") var warmup = 2
    @Option(help: "Timed iterations per measurement.") var iterations = 5
    @Option(help: "Alternating rounds per workload (MetaJIT, then each peer, repeated); medians and ratios over them.") var rounds = 3
    @Option(help: "Peers: comma-separated torch:eager, torch:compile, jax:map, jax:vmap, or none.")
    var peers = "torch:eager,torch:eager-cl,torch:eager-ftz,torch:compile,jax:unroll,jax:unroll-nhwc,jax:map,jax:vmap,tf:function,tf:xla"
    @Option(help: "CPUs every runner is pinned to with taskset (default: the first --threads CPUs of this process).")
    var cpus: String?
    @Option(name: .customLong("write-inputs"), help: "Internal (with --single): write the initial parameters and batch here (safetensors).")
    var writeInputs: String?
    @Option(help: "Python of the peers' virtualenv.") var python = "Benchmarks/peers/.venv/bin/python"
    @Option(help: "Folder for results (JSON + Markdown).") var out = "Benchmarks/results"
    @Option(help: "Threads (MetaJIT kernels, PyTorch intra-op).") var threads = 2
    @Option(help: "How MetaJIT uses the threads: tasks (one share of the meta-batch per core) or kernels (each large kernel split between them).")
    var parallel: ParallelMode = .kernels
    @Flag(help: "Tiny workloads, MetaJIT only unless peers are given: CI's smoke run.") var smoke = false
    @Flag(name: .customLong("update-readme"), help: "Rewrite the README's benchmark table from the results.")
    var updateReadme = false
    @Option(help: "Internal: measure one MetaJIT workload in this process and print its JSON line.")
    var single: String?
    @Flag(help: "Measure matmul GFLOP/s (1 and 2 threads) against the NumPy sgemm peak instead of the workloads.")
    var matmul = false
    @Flag(name: .customLong("conv-kernels"), help: "Measure each lowering of Conv-4's convolutions on one thread (best call of 30, variants in turns) instead of the workloads.")
    var convKernels = false
    @Flag(name: .customLong("limits"), help: "Measure only the machine's limits: the FMA loop (AVX-512 or AVX2) and the best sgemm of NumPy, PyTorch and JAX at 4096³.")
    var limitsOnly = false

    func validate() throws {
        try FlagCheck.atLeast(0, warmup, "--warmup")
        for (flag, value) in [("--iterations", iterations), ("--rounds", rounds), ("--threads", threads)] {
            try FlagCheck.atLeast(1, value, flag)
        }
    }

    func run() throws {
        let catalog = smoke ? BenchWorkload.smoke : BenchWorkload.all
        if let single {
            guard let w = catalog.first(where: { $0.name == single }) else {
                throw ValidationError("unknown workload '\(single)'; available: \(catalog.map(\.name).joined(separator: ", "))")
            }
            let m = try w.measure(warmup: warmup, iterations: iterations, threads: threads, seed: 0, parallel: parallel,
                                  writeInputs: writeInputs.map { URL(fileURLWithPath: $0) })
            let data = try JSONEncoder.sorted.encode(m)
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let venv = FileManager.default.isExecutableFile(atPath: python) ? python : nil
        if limitsOnly {
            let pin = cpus ?? Self.firstCPUs(threads)
            let limits = MachineLimits.measure(python: venv, pin: pin)
            let md = "# Machine limits\n\nMachine: \(MachineInfo.current().cpu); pinned to CPUs \(pin).\n\n" + limits.markdown()
            print(md)
            let dir = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try Data(md.utf8).write(to: dir.appendingPathComponent("limits.md"), options: .atomic)
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try enc.encode(limits).write(to: dir.appendingPathComponent("limits.json"), options: .atomic)
            return
        }
        if convKernels {
            let rows = try ConvKernelBench.run()
            let md = "# Convolution kernels\n\nMachine: \(MachineInfo.current().cpu); vector unit \(VectorUnit.host).\n\n"
                + ConvKernelBench.markdown(rows)
            print(md)
            let dir = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try Data(md.utf8).write(to: dir.appendingPathComponent("conv-kernels.md"), options: .atomic)
            try JSONEncoder.sorted.encode(rows).write(to: dir.appendingPathComponent("conv-kernels.json"), options: .atomic)
            return
        }
        if matmul {
            let peak = MachineLimits.measure(python: venv, pin: cpus ?? Self.firstCPUs(threads), fma: false).sgemmPeak
            let rows = try MatmulBench.run()
            let md = MatmulBench.markdown(rows, peak: peak)
            print(md)
            let dir = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try Data(md.utf8).write(to: dir.appendingPathComponent("matmul.md"), options: .atomic)
            let json = try JSONSerialization.data(withJSONObject: [
                "machine": try JSONSerialization.jsonObject(with: JSONEncoder().encode(MachineInfo.current())),
                "sgemm_peak_gflops": peak,
                "rows": try JSONSerialization.jsonObject(with: JSONEncoder().encode(rows))], options: [.prettyPrinted, .sortedKeys])
            try json.write(to: dir.appendingPathComponent("matmul.json"), options: .atomic)
            return
        }
        let names = workloads.map { $0.split(separator: ",").map(String.init) } ?? catalog.map(\.name)
        for n in names where !catalog.contains(where: { $0.name == n }) {
            throw ValidationError("unknown workload '\(n)'; available: \(catalog.map(\.name).joined(separator: ", "))")
        }
        let peerList = peers == "none" ? [] : peers.split(separator: ",").map(String.init)
        let havePython = venv != nil
        if !peerList.isEmpty && !havePython {
            log("bench: \(python) not found; run `bash Benchmarks/peers/setup.sh` for the peers (measuring MetaJIT only)")
        }
        let pin = cpus ?? Self.firstCPUs(threads)
        var report = BenchReport(machine: MachineInfo.current(), iterations: iterations, warmup: warmup, rounds: rounds)
        report.threads = threads
        report.cpus = pin
        let inputsDir = URL(fileURLWithPath: out).appendingPathComponent("inputs")
        try FileManager.default.createDirectory(at: inputsDir, withIntermediateDirectories: true)
        log("bench: \(names.count) workloads × \(1 + (havePython ? peerList.count : 0)) runners × \(rounds) rounds, pinned to CPUs \(pin), \(threads) threads")
        log("bench: machine limits (FMA loop, sgemm 4096³ of NumPy, PyTorch, JAX)")
        let limits = MachineLimits.measure(python: havePython ? python : nil, pin: pin)
        report.limits = limits
        report.sgemm_peak_gflops = limits.sgemmPeak
        for name in names {
            var entry = BenchEntry(workload: name, summary: catalog.first { $0.name == name }?.summary ?? "")
            for round in 0..<rounds {
                log("bench: \(name) round \(round + 1)/\(rounds): metajit")
                let inputs = inputsDir.appendingPathComponent("\(name).safetensors")
                if let m = try runMetaJIT(name, pin: pin, writeInputs: round == 0 ? inputs : nil) { entry.metajit.append(m) }
                guard havePython else { continue }
                for p in peerList {
                    let parts = p.split(separator: ":").map(String.init)
                    log("bench: \(name) round \(round + 1)/\(rounds): \(p)")
                    let given = FileManager.default.fileExists(atPath: inputs.path) ? inputs : nil
                    if var r = runPeer(framework: parts[0], variant: parts.count > 1 ? parts[1] : nil, workload: name, pin: pin, inputs: given) {
                        r.round = round + 1
                        entry.peers.append(r)
                    }
                }
            }
            entry.summarise()
            report.workloads.append(entry)
            try report.write(to: URL(fileURLWithPath: out), smoke: smoke)  // partial results survive an interrupt
        }
        let md = report.markdown()
        print(md)
        if updateReadme && !smoke { try ReadmeTable.update(with: report.readmeTable()) }
        let bad = report.workloads.flatMap { w in w.disagreements.map { "\(w.workload): \($0)" } }
        if !bad.isEmpty {
            for b in bad { log("bench: first losses disagree (> \(LossAgreement.defaultTolerance) relative to MetaJIT): \(b)") }
            throw ExitCode(3)
        }
    }

    /// `0,1` for 2 threads: the first `n` CPUs this process may use.
    static func firstCPUs(_ n: Int) -> String {
        let list = cpuAffinity() ?? "0-\(max(n - 1, 0))"
        var cpus: [Int] = []
        for part in list.split(separator: ",") {
            let r = part.split(separator: "-").compactMap { Int($0) }
            if r.count == 2 { cpus += Array(r[0]...r[1]) } else if let c = r.first { cpus.append(c) }
        }
        return cpus.prefix(n).map(String.init).joined(separator: ",")
    }

    /// `taskset -c CPUS executable args…` when taskset exists, else the command unchanged.
    static func pinned(_ executable: String, _ args: [String], cpus: String) -> (String, [String]) {
        let taskset = "/usr/bin/taskset"
        guard FileManager.default.isExecutableFile(atPath: taskset) else { return (executable, args) }
        return (taskset, ["-c", cpus, executable] + args)
    }

    func runMetaJIT(_ name: String, pin: String, writeInputs: URL?) throws -> MetaJITMeasurement? {
        var args = ["bench", "--single", name, "--warmup", "\(warmup)", "--iterations", "\(iterations)", "--threads", "\(threads)",
                    "--parallel", parallel.rawValue]
        if smoke { args.append("--smoke") }
        if let writeInputs { args += ["--write-inputs", writeInputs.path] }
        let (exe, full) = Self.pinned(ProcessInfo.processInfo.arguments[0], args, cpus: pin)
        guard let line = Subprocess.lastJSONLine(executable: exe, full) else { return nil }
        return try? JSONDecoder().decode(MetaJITMeasurement.self, from: Data(line.utf8))
    }

    func runPeer(framework: String, variant: String?, workload: String, pin: String, inputs: URL?) -> PeerMeasurement? {
        var args = ["Benchmarks/peers/peers.py", "--framework", framework, "--workload", workload,
                    "--warmup", "\(warmup)", "--iterations", "\(iterations)", "--threads", "\(threads)", "--cpus", pin, "--json"]
        if let variant { args += ["--variant", variant] }
        if let inputs { args += ["--inputs", inputs.path] }
        let (exe, full) = Self.pinned(python, args, cpus: pin)
        guard let line = Subprocess.lastJSONLine(executable: exe, full),
              let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        return PeerMeasurement(json: obj)
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}

/// Runs a child process, passing its stderr through, and returns its last stdout line that
/// parses as a JSON object.
enum Subprocess {
    static func lastJSONLine(executable: String, _ args: [String], environment: [String: String]? = nil) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        if let environment { p.environment = environment }
        let pipe = Pipe()
        p.standardOutput = pipe
        do { try p.run() } catch {
            log("bench: cannot start \(executable): \(error)")
            return nil
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        guard let line = lines.last(where: { $0.hasPrefix("{") }) else {
            log("bench: \(executable) \(args.joined(separator: " ")) printed no result (exit \(p.terminationStatus))")
            return nil
        }
        return line
    }
}
