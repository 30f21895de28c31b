import BenchKit
import Foundation
import JIT
import Lowering
import Runtime

/// A peer's measurement as `peers.py` prints it.
struct PeerMeasurement: Codable {
    var framework: String
    var variant: String
    var iterations_per_s: Double?
    var seconds_per_iteration: Double?
    var compile_s: Double?
    var peak_rss_bytes: Int?
    var skipped: Bool
    var reason: String?
    var versions: [String: String]
    /// The round (1-based) this measurement belongs to.
    var round: Int?
    var loss_first: Double?
    /// Threads as the peer set them (intra-op, inter-op, XLA flags).
    var threads: [String: String]?
    /// The CPUs the peer process ran on.
    var affinity: String?
    /// How the peer handles subnormals (probed: smallest normal × 0.5 in the framework).
    var denormals: String?

    init(json o: [String: Any]) {
        framework = o["framework"] as? String ?? "?"
        variant = o["variant"] as? String ?? "?"
        iterations_per_s = o["iterations_per_s"] as? Double
        seconds_per_iteration = o["seconds_per_iteration"] as? Double
        compile_s = o["compile_s"] as? Double
        peak_rss_bytes = (o["peak_rss_bytes"] as? NSNumber)?.intValue
        skipped = o["skipped"] as? Bool ?? false
        reason = o["reason"] as? String
        versions = (o["versions"] as? [String: Any] ?? [:]).mapValues { "\($0)" }
        loss_first = (o["loss_first"] as? NSNumber)?.doubleValue
        threads = (o["threads"] as? [String: Any])?.mapValues { "\($0)" }
        affinity = o["affinity"] as? String
        denormals = o["denormals"] as? String
    }

    var label: String { "\(framework) \(variant)" }
}

/// One workload's results: every round of MetaJIT and each peer, and the ratios.
struct BenchEntry: Codable {
    var workload: String
    var summary: String
    var metajit: [MetaJITMeasurement] = []
    var peers: [PeerMeasurement] = []
    /// MetaJIT's median round.
    var metajit_iterations_per_s: Double?
    /// Median over rounds of each runner (`metajit`, `torch eager`, …) and its best round.
    var runners: [String: RoundSummary] = [:]
    /// Fastest peer variant by median, per framework and overall.
    var jax_iterations_per_s: Double?
    var torch_iterations_per_s: Double?
    var tf_iterations_per_s: Double?
    var best_peer: String?
    /// MetaJIT median / peer median.
    var ratio_vs_jax: Double?
    var ratio_vs_torch: Double?
    var ratio_vs_tf: Double?
    var ratio_vs_best_peer: Double?
    /// Each peer's first loss (first round) against MetaJIT's.
    var loss_checks: [LossCheck] = []

    /// The runners whose first loss disagrees with MetaJIT's, one line each.
    var disagreements: [String] {
        guard let ref = metajit.first?.loss_first else { return [] }
        return LossAgreement.disagreements(loss_checks, reference: ref)
    }

    mutating func summarise() {
        runners = [:]
        if let m = RoundSummary(rounds: metajit.map(\.iterations_per_s)) { runners["metajit"] = m }
        var byLabel: [String: [Double]] = [:]
        for p in peers where !p.skipped { if let r = p.iterations_per_s { byLabel[p.label, default: []].append(r) } }
        for (l, r) in byLabel { if let s = RoundSummary(rounds: r) { runners[l] = s } }
        metajit_iterations_per_s = runners["metajit"]?.median
        func top(_ prefix: String?) -> (label: String, median: Double)? {
            BenchStatistics.fastest(runners.filter { entry in
                entry.key != "metajit" && (prefix.map { entry.key.hasPrefix($0 + " ") } ?? true)
            }.mapValues(\.median))
        }
        jax_iterations_per_s = top("jax")?.median
        torch_iterations_per_s = top("torch")?.median
        tf_iterations_per_s = top("tf")?.median
        let best = top(nil)
        best_peer = best?.label
        if let m = metajit_iterations_per_s {
            ratio_vs_jax = jax_iterations_per_s.map { m / $0 }
            ratio_vs_torch = torch_iterations_per_s.map { m / $0 }
            ratio_vs_tf = tf_iterations_per_s.map { m / $0 }
            ratio_vs_best_peer = best.map { m / $0.median }
        }
        if let ref = metajit.first?.loss_first {
            var seen = Set<String>(), firsts: [(label: String, loss: Double?)] = []
            for p in peers where !seen.contains(p.label) && !p.skipped {
                seen.insert(p.label)
                firsts.append((p.label, p.loss_first))
            }
            loss_checks = LossAgreement.check(reference: ref, runners: firsts)
        }
    }
}

/// The machine the numbers were measured on.
struct MachineInfo: Codable {
    var cpu: String
    var cores: Int
    var memory_gib: Double
    var llvm: String
    var llvm_cpu: String
    /// The register file the dense kernels' tiles were sized to (`avx512`, `avx2`); absent
    /// in reports from before it was recorded.
    var vector_unit: String?
    var date: String

    static func current() -> MachineInfo {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" } ?? "unknown"
        let iso = ISO8601DateFormatter().string(from: Date())
        return MachineInfo(cpu: model, cores: ProcessInfo.processInfo.activeProcessorCount,
                           memory_gib: Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30),
                           llvm: LLVMInfo.version, llvm_cpu: LLVMInfo.hostCPUName,
                           vector_unit: "\(VectorUnit.host)", date: iso)
    }
}

/// One framework's best sgemm at n³ (`Benchmarks/peers/sgemm.py`).
struct SgemmMeasurement: Codable {
    var framework: String
    var n: Int
    var threads: Int
    var gflops_best: Double
    var gflops_median: Double
    /// NumPy: the BLAS library and kernel threadpoolctl reports (JSON text).
    var blas: String?
}

/// The machine's limits (`metajit bench --limits`, and the head of every bench report): the
/// best sgemm of NumPy, PyTorch and JAX at 4096³ on 1 and 2 threads, pinned like the
/// workloads, and the AVX-512 FMA throughput of a JIT-compiled loop (`FMAThroughput`).
struct MachineLimits: Codable {
    var sgemm: [SgemmMeasurement] = []
    /// FMA-loop GFLOP/s by thread count (`threads_1`, `threads_2`).
    var fma_gflops: [String: Double] = [:]

    /// The best sgemm over the frameworks, by thread count (`threads_1`, `threads_2`).
    var sgemmPeak: [String: Double] {
        var out: [String: Double] = [:]
        for m in sgemm { out["threads_\(m.threads)", default: 0] = max(out["threads_\(m.threads)", default: 0], m.gflops_best) }
        return out
    }

    /// `fma: false` skips the FMA loop (`--matmul` wants only the sgemm peak).
    static func measure(python: String?, pin: String, n: Int = 4096, fma: Bool = true) -> MachineLimits {
        var limits = MachineLimits()
        for threads in [1, 2] where fma {
            if let g = try? FMAThroughput.measure(threads: threads) { limits.fma_gflops["threads_\(threads)"] = g }
        }
        guard let python, FileManager.default.isExecutableFile(atPath: python) else { return limits }
        let script = "Benchmarks/peers/sgemm.py"
        for threads in [1, 2] {
            let cpus = pin.split(separator: ",").prefix(threads).joined(separator: ",")
            for framework in ["numpy", "torch", "jax"] {
                var env = ProcessInfo.processInfo.environment
                // Older OpenBLAS core-type overrides slow a current NumPy: unset for this measurement only.
                env["OPENBLAS_CORETYPE"] = nil
                env["OPENBLAS_L2_SIZE"] = nil
                let (exe, args) = BenchCommand.pinned(python, [script, "--framework", framework, "--n", "\(n)", "--threads", "\(threads)"],
                                                      cpus: cpus)
                guard let line = Subprocess.lastJSONLine(executable: exe, args, environment: env),
                      let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let best = obj["gflops_best"] as? Double, let median = obj["gflops_median"] as? Double else {
                    log("bench: sgemm \(framework) on \(threads) thread(s) did not report")
                    continue
                }
                let blas = obj["blas"].flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed]) }
                    .map { String(decoding: $0, as: UTF8.self) }
                limits.sgemm.append(SgemmMeasurement(framework: framework, n: n, threads: threads, gflops_best: best,
                                                     gflops_median: median, blas: blas))
            }
        }
        return limits
    }

    func markdown() -> String {
        var s = "| limit | 1 thread GFLOP/s | 2 threads GFLOP/s |\n| --- | --- | --- |\n"
        s += "| FMA loop (JIT, \(FMAThroughput.accumulators) independent <16 x float> FMAs, \(LLVMInfo.hostHasAVX512 ? "AVX-512" : "AVX2: two ymm each")) | \(BenchReport.f(fma_gflops["threads_1"], "%.1f")) | \(BenchReport.f(fma_gflops["threads_2"], "%.1f")) |\n"
        for f in ["numpy", "torch", "jax"] {
            let one = sgemm.first { $0.framework == f && $0.threads == 1 }, two = sgemm.first { $0.framework == f && $0.threads == 2 }
            guard one != nil || two != nil else { continue }
            s += "| sgemm \((one ?? two)!.n)³ \(f) | \(BenchReport.f(one?.gflops_best, "%.1f")) | \(BenchReport.f(two?.gflops_best, "%.1f")) |\n"
        }
        if let blas = sgemm.first(where: { $0.framework == "numpy" })?.blas { s += "\nNumPy BLAS (threadpoolctl): `\(blas)`\n" }
        return s
    }
}

/// Everything one `metajit bench` run measured.
struct BenchReport: Codable {
    var machine: MachineInfo
    var iterations: Int
    var warmup: Int
    var rounds: Int
    /// Threads every runner was given, and the CPUs every runner was pinned to.
    var threads: Int?
    var cpus: String?
    var sgemm_peak_gflops: [String: Double] = [:]
    /// The machine's limits measured in the same run.
    var limits: MachineLimits?
    var workloads: [BenchEntry] = []

    func write(to dir: URL, smoke: Bool) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let stem = smoke ? "smoke" : "latest"
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(self).write(to: dir.appendingPathComponent("\(stem).json"), options: .atomic)
        try Data(markdown().utf8).write(to: dir.appendingPathComponent("\(stem).md"), options: .atomic)
    }

    static func f(_ v: Double?, _ fmt: String = "%.3f") -> String { v.map { String(format: fmt, $0) } ?? "–" }

    /// The README's table.
    func readmeTable() -> String {
        var s = "| workload | MetaJIT it/s | PyTorch it/s | JAX it/s | TF it/s | fastest peer | vs fastest peer | MetaJIT first step | MetaJIT peak RSS |\n"
        s += "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
        for w in workloads {
            let m = w.metajit.max { $0.iterations_per_s < $1.iterations_per_s }
            s += "| \(w.workload) | \(Self.f(w.metajit_iterations_per_s)) | \(Self.f(w.torch_iterations_per_s)) | \(Self.f(w.jax_iterations_per_s)) | \(Self.f(w.tf_iterations_per_s)) "
            s += "| \(w.best_peer ?? "–") | \(Self.f(w.ratio_vs_best_peer, "%.2f×")) "
            s += "| \(Self.f(m?.time_to_first_step_s, "%.1f s")) | \(Self.f(m.map { Double($0.peak_rss_bytes) / Double(1 << 30) }, "%.2f GiB")) |\n"
        }
        return s
    }

    func markdown() -> String {
        var s = "# MetaJIT benchmark\n\n"
        s += "Machine: \(machine.cpu), \(machine.cores) cores, \(String(format: "%.0f", machine.memory_gib)) GiB; LLVM \(machine.llvm) (\(machine.llvm_cpu)\(machine.vector_unit.map { ", \($0) tiles" } ?? "")); \(machine.date).\n"
        s += "Warm-up \(warmup), timed iterations \(iterations), rounds \(rounds), alternating; it/s are medians over rounds, ratios from medians. "
        s += "Every runner pinned to CPUs \(cpus ?? "?") with \(threads.map(String.init) ?? "?") threads.\n"
        if let limits { s += "\n" + limits.markdown() + "\n" }
        if !sgemm_peak_gflops.isEmpty {
            s += "Best sgemm (NumPy, PyTorch, JAX at 4096³): "
            s += sgemm_peak_gflops.sorted { $0.key < $1.key }.map { "\($0.key.replacingOccurrences(of: "_", with: " ")): \(String(format: "%.1f", $0.value)) GFLOP/s" }.joined(separator: ", ")
            s += ".\n"
        }
        s += "\n" + readmeTable() + "\n"
        for w in workloads {
            s += "## \(w.workload)\n\n\(w.summary)\n\n"
            s += "| runner | median it/s | best it/s | rounds |\n| --- | --- | --- | --- |\n"
            for (l, r) in w.runners.sorted(by: { $0.value.median > $1.value.median }) {
                s += "| \(l) | \(Self.f(r.median)) | \(Self.f(r.best)) | \(r.rounds.map { Self.f($0) }.joined(separator: ", ")) |\n"
            }
            if let ref = w.metajit.first?.loss_first {
                s += "\nFirst losses (MetaJIT \(String(format: "%.6g", ref))): "
                s += w.loss_checks.map { "\($0.runner) \($0.loss.map { String(format: "%.6g", $0) } ?? "–") (\($0.relative_difference.map { String(format: "%.1e", $0) } ?? "–")\($0.agrees ? "" : ", DISAGREES"))" }.joined(separator: "; ")
                s += ".\n"
            }
            s += "\n| runner | round | it/s | s/it | compile/first call | peak RSS | denormals |\n| --- | --- | --- | --- | --- | --- | --- |\n"
            for m in w.metajit {
                s += "| MetaJIT | | \(Self.f(m.iterations_per_s)) | \(Self.f(m.seconds_per_iteration)) | \(Self.f(m.time_to_first_step_s, "%.1f s")) (build \(Self.f(m.build_s, "%.1f")) s, LLVM \(Self.f(m.compile_s, "%.1f")) s\(m.compile_cached ? ", cached" : "")) | \(Self.f(Double(m.peak_rss_bytes) / Double(1 << 30), "%.2f GiB")) | \(m.denormals ?? "–") |\n"
            }
            for p in w.peers {
                if p.skipped {
                    s += "| \(p.label) | \(p.round.map(String.init) ?? "") | skipped: \(p.reason ?? "?") | | | | |\n"
                } else {
                    s += "| \(p.label) | \(p.round.map(String.init) ?? "") | \(Self.f(p.iterations_per_s)) | \(Self.f(p.seconds_per_iteration)) | \(Self.f(p.compile_s, "%.1f s")) | \(Self.f(p.peak_rss_bytes.map { Double($0) / Double(1 << 30) }, "%.2f GiB")) | \(p.denormals ?? "–") |\n"
                }
            }
            if let m = w.metajit.first {
                let peak = sgemm_peak_gflops["threads_2"]
                s += "\nMetaJIT: \(m.kernels) kernels (\(m.distinct_functions) distinct functions), arena \(m.arena_bytes / (1 << 20)) MiB, "
                s += "\(Self.f(m.step_gflop, "%.2f")) GFLOP per step (dense ops), \(Self.f(m.achieved_gflops, "%.1f")) GFLOP/s achieved"
                if let peak { s += " (\(String(format: "%.0f", 100 * m.achieved_gflops / peak))% of the best 2-thread sgemm" }
                if let fma = limits?.fma_gflops["threads_2"] { s += (peak == nil ? " (" : ", ") + "\(String(format: "%.0f", 100 * m.achieved_gflops / fma))% of the 2-thread FMA peak" }
                if peak != nil || limits?.fma_gflops["threads_2"] != nil { s += ")" }
                s += ".\nHottest kernels:\n\n" + m.hottest_kernels.map { "- `\($0)`" }.joined(separator: "\n") + "\n"
            }
            s += "\n"
        }
        return s
    }
}

/// Rewrites the block between `<!-- bench:start -->` and `<!-- bench:end -->` in README.md.
enum ReadmeTable {
    static func update(with table: String, path: String = "README.md") throws {
        var text = try String(contentsOfFile: path, encoding: .utf8)
        guard let a = text.range(of: "<!-- bench:start -->"), let b = text.range(of: "<!-- bench:end -->"), a.upperBound <= b.lowerBound else {
            log("bench: README.md has no <!-- bench:start --> … <!-- bench:end --> block; not updated")
            return
        }
        text.replaceSubrange(a.upperBound..<b.lowerBound, with: "\n" + table)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
