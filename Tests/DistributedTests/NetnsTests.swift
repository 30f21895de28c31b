import Foundation
import Runtime
import TestSupport
import Testing

/// Two "hosts" made of network namespaces on this machine, joined by a veth pair.
///
/// Each namespace has only its loopback and its end of the pair, with an address from a
/// private /30; nothing is routed anywhere else. `mpirun` runs in the first namespace and
/// starts the second host's daemon through `--mca plm_rsh_agent`, a small script that runs
/// the command with `ip netns exec` (there is no ssh); MPI traffic goes over TCP only
/// (`--mca btl tcp,self`, both `*_if_include` set to the /30).
struct TwoHosts {
    let names: (a: String, b: String)
    let addresses = (a: "10.231.7.1", b: "10.231.7.2")
    let subnet = "10.231.7.0/30"
    let agent: URL, agentLog: URL, folder: URL

    /// Whether this process may create network namespaces (root with CAP_SYS_ADMIN, `ip`
    /// installed), and why not when it may not.
    static let permission: (ok: Bool, why: String) = {
        let probe = "mjprobe\(getpid())"
        let r = ip(["netns", "add", probe])
        guard r.status == 0 else { return (false, "`ip netns add` is not permitted here (\(r.output.trimmingCharacters(in: .whitespacesAndNewlines)))") }
        _ = ip(["netns", "del", probe])
        return (true, "")
    }()
    static var permitted: Bool { permission.ok }
    static var notPermitted: Comment { Comment(rawValue: "multi-host test skipped: \(permission.why)") }

    /// Runs `ip args…`; status and combined output.
    @discardableResult
    static func ip(_ args: [String]) -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ipPath)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return (-1, "cannot run ip: \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Creates both namespaces and the link; on any failure removes what was made and throws.
    init() throws {
        let tag = "mj\(getpid() % 1_000_000)"
        names = ("\(tag)a", "\(tag)b")
        folder = try TestPaths.makeTemporaryFolder(prefix: "netns")
        agent = folder.appendingPathComponent("netns-agent.sh")
        agentLog = folder.appendingPathComponent("agent.log")
        let steps: [[String]] = [
            ["netns", "add", names.a], ["netns", "add", names.b],
            ["link", "add", "\(tag)va", "type", "veth", "peer", "name", "\(tag)vb"],
            ["link", "set", "\(tag)va", "netns", names.a], ["link", "set", "\(tag)vb", "netns", names.b],
            ["-n", names.a, "addr", "add", "\(addresses.a)/30", "dev", "\(tag)va"],
            ["-n", names.b, "addr", "add", "\(addresses.b)/30", "dev", "\(tag)vb"],
            ["-n", names.a, "link", "set", "lo", "up"], ["-n", names.b, "link", "set", "lo", "up"],
            ["-n", names.a, "link", "set", "\(tag)va", "up"], ["-n", names.b, "link", "set", "\(tag)vb", "up"],
        ]
        for s in steps {
            let r = Self.ip(s)
            guard r.status == 0 else {
                remove()
                throw TwoHostsError(message: "ip \(s.joined(separator: " ")) failed: \(r.output)")
            }
        }
        // mpirun calls `agent HOST COMMAND…` the way it would call ssh.
        let script = """
            #!/bin/sh
            # plm_rsh_agent for the two-namespace test: run the daemon's command in HOST's namespace.
            host="$1"; shift
            echo "$host $*" >> '\(agentLog.path)'
            case "$host" in
              \(addresses.a)) ns='\(names.a)' ;;
              \(addresses.b)) ns='\(names.b)' ;;
              *) echo "netns agent: unknown host $host" >&2; exit 1 ;;
            esac
            exec ip netns exec "$ns" sh -c "$*"

            """
        try Data(script.utf8).write(to: agent)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: agent.path)
    }

    /// Deletes both namespaces (and with them the veth pair) and the scratch folder.
    func remove() {
        Self.ip(["netns", "del", names.a])
        Self.ip(["netns", "del", names.b])
        try? FileManager.default.removeItem(at: folder)
    }

    /// `ip netns exec A mpirun …` with one rank on each host.
    func mpirunArguments() -> [String] {
        ["netns", "exec", names.a, MPI.mpirun ?? "mpirun", "--host", "\(addresses.a),\(addresses.b)", "-np", "2",
         "--mca", "plm_rsh_agent", agent.path, "--mca", "btl", "tcp,self",
         "--mca", "btl_tcp_if_include", subnet, "--mca", "oob_tcp_if_include", subnet]
    }
}

struct TwoHostsError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

@Suite("Distributed training across two hosts (network namespaces, TCP)",
       .enabled(if: MPI.available, MPI.unavailable), .enabled(if: TwoHosts.permitted, TwoHosts.notPermitted))
struct NetnsTests {
    @Test("one rank per namespace over TCP ends with the one-process parameters")
    func twoHosts() throws {
        let hosts = try TwoHosts()
        defer { hosts.remove() }
        let single = hosts.folder.appendingPathComponent("single"), spread = hosts.folder.appendingPathComponent("spread")
        for d in [single, spread] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        let iterations = 4
        let s = try MPI.single(MPI.trainArguments(out: single, iterations: iterations))
        try #require(s.status == 0, "\(s.log)")
        guard let metajit = MPI.metajit else { throw CLIMissing() }
        let r = try MPI.Running(TwoHosts.ipPath, hosts.mpirunArguments() + [metajit]
            + MPI.trainArguments(out: spread, iterations: iterations) + ["--distributed", "mpi"]).wait(timeout: 240)
        try #require(r.status == 0, "\(r.log)")
        #expect(r.err.contains("on 2 MPI ranks"), "\(r.log)")
        // The second host's daemon really was started in the second namespace.
        let launched = (try? String(contentsOf: hosts.agentLog, encoding: .utf8)) ?? ""
        #expect(launched.hasPrefix(hosts.addresses.b) && launched.contains("orted"), "agent log: \(launched)")
        let w = MPI.difference(try MPI.checkpoint(single).tensors, try MPI.checkpoint(spread).tensors)
        #expect(w < 1e-4, "largest relative parameter difference across hosts \(w)")
    }
}

extension TwoHosts {
    /// The `ip` binary.
    static let ipPath = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/ip"
}
