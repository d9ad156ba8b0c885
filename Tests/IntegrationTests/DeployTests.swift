import Foundation
import KafkaSink
import TestSupport
import Testing
import Yams

/// deploy/ cannot be run here (no Docker, no Kubernetes, no systemd), so these tests hold every
/// command, port, path, probe, mount and metric in it against what the binary really does: each
/// tributary command line found there is run (with only the connector directory swapped for one
/// pointing at a throwaway PostgreSQL and the embedded Kafka), and its probes are asked.
@Suite(.serialized) struct DeployTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// Runs the built binary with extra environment variables.
    static func tributary(
        _ arguments: [String], environment: [String: String] = [:]
    ) throws -> (
        status: Int32, output: String
    ) {
        try runCommand(
            "/usr/bin/env", environment.map { "\($0.key)=\($0.value)" } + [TributaryProcess.executablePath] + arguments)
    }

    /// Runs a `tributary run …` command line from deploy/ with the connector directory `mountPath` swapped
    /// for a real connector's, and checks that it streams and serves its health endpoint where it says.
    /// Returns the running process and the health port.
    static func runAsDeployed(
        _ arguments: [String], connectorsAt mountPath: String, harness: Harness, _ context: String
    ) async throws -> (TributaryProcess, Int) {
        #expect(arguments.first == "run", "\(context): the command is tributary run")
        #expect(arguments.contains(mountPath), "\(context): tributary run reads \(mountPath), where the connectors are mounted")
        let values = try checkTributaryOptions(arguments, context)
        let port = Int(values["--health-port"] ?? "8083") ?? -1
        let directory = URL(fileURLWithPath: harness.configPath).deletingLastPathComponent().path
        let swapped = arguments.dropFirst().map { $0 == mountPath ? directory : $0 }
        let process = try TributaryProcess(["run"] + swapped)
        try await process.waitForLog("streaming")
        let live = try await httpGet("http://127.0.0.1:\(port)/health/live")
        #expect(live.status == 200, "\(context): /health/live on port \(port)")
        return (process, port)
    }

    /// Asks a probe path of a running tributary: it must be a route the endpoint serves.
    static func probe(_ path: String, port: Int, _ context: String, expect statuses: Set<Int> = [200]) async throws {
        let answer = try await httpGet("http://127.0.0.1:\(port)\(path)")
        #expect(statuses.contains(answer.status), "\(context): GET \(path) answered \(answer.status)")
    }

    /// `${env:NAME}` references of a connector file.
    static func environmentReferences(_ text: String) -> Set<String> {
        var names: Set<String> = []
        var rest = Substring(text)
        while let start = rest.range(of: "${env:") {
            rest = rest[start.upperBound...]
            guard let end = rest.firstIndex(of: "}") else { break }
            names.insert(String(rest[..<end]))
        }
        return names
    }

    /// Validates a connector file's text with the binary, the given variables set.
    static func validate(_ text: String, name: String, environment: Set<String>, _ context: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-deploy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let missing = environmentReferences(text).subtracting(environment)
        #expect(missing.isEmpty, "\(context): \(name) reads \(missing.sorted()), which the deployment does not set")
        let result = try tributary(
            ["validate", path], environment: Dictionary(uniqueKeysWithValues: environment.map { ($0, "value") }))
        #expect(result.status == 0, "\(context): tributary validate \(name): \(result.output)")
    }

    // MARK: Docker

    struct Dockerfile {
        var instructions: [(keyword: String, argument: String)] = []

        init(_ text: String) {
            var current = ""
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("#") || (trimmed.isEmpty && current.isEmpty) { continue }
                if trimmed.hasSuffix("\\") {
                    current += trimmed.dropLast() + " "
                    continue
                }
                current += trimmed
                if let space = current.firstIndex(of: " ") {
                    instructions.append((current[..<space].uppercased(), current[space...].trimmingCharacters(in: .whitespaces)))
                }
                current = ""
            }
        }

        func all(_ keyword: String) -> [String] { instructions.filter { $0.keyword == keyword }.map(\.argument) }

        /// The instructions of the last stage (the image that runs).
        var runtime: Dockerfile {
            var stage = self
            if let last = instructions.lastIndex(where: { $0.keyword == "FROM" }) {
                stage.instructions = Array(instructions[last...])
            }
            return stage
        }

        static func execForm(_ argument: String) -> [String]? {
            guard let data = argument.data(using: .utf8) else { return nil }
            return try? JSONSerialization.jsonObject(with: data) as? [String]
        }
    }

    @Test func theDockerfileBuildsWhatTheBinaryNeedsAndRunsWhatItAccepts() async throws {
        let dockerfile = Dockerfile(try Self.text("deploy/docker/Dockerfile"))
        let runtime = dockerfile.runtime
        // Built with the toolchain this repository is built and tested with (major.minor).
        let version = try runCommand("/usr/bin/env", ["swift", "--version"]).output
        let release = version.firstMatch(of: /Swift version (\d+\.\d+)/).map { String($0.1) } ?? "?"
        #expect(
            dockerfile.all("FROM").first?.hasPrefix("swift:\(release)-") == true,
            "built with the Swift \(release) toolchain image: \(dockerfile.all("FROM"))")
        #expect(runtime.all("FROM").first?.contains("-slim") == true, "runs on a slim Debian image")
        for copied in dockerfile.all("COPY") where !copied.hasPrefix("--from") {
            let source = copied.split(separator: " ").first.map(String.init) ?? ""
            #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(source).path), "COPY \(source)")
        }
        #expect(dockerfile.all("RUN").contains { $0.contains("--static-swift-stdlib") }, "the Swift runtime is linked in")

        // The runtime packages are those that hold the libraries the binary links, and nothing else but CA certificates.
        let installed = Set(
            runtime.all("RUN").flatMap { command -> [String] in
                guard let install = command.range(of: "apt-get install") else { return [] }
                return command[install.upperBound...].split(separator: " ").prefix { $0 != "&&" }.map(String.init)
                    .filter { !$0.hasPrefix("-") }
            })
        let linked = try runCommand("/usr/bin/ldd", [TributaryProcess.executablePath]).output
        var needed: Set<String> = ["ca-certificates"]
        for library in ["libpq.so", "librdkafka.so"] {
            guard let line = linked.split(separator: "\n").first(where: { $0.contains(library) }),
                let path = line.split(separator: " ").first(where: { $0.hasPrefix("/") })
            else {
                Issue.record("the binary does not link \(library)")
                continue
            }
            let file = String(path.split(separator: "/").last ?? "")
            let owner = try runCommand("/usr/bin/dpkg", ["-S", file]).output
            needed.insert(String(owner.split(separator: ":").first ?? ""))
        }
        #expect(installed == needed, "runtime packages \(installed.sorted()) against the binary's \(needed.sorted())")

        let user = runtime.all("USER").last ?? "root"
        #expect(user != "root" && user != "0", "runs as a non-root user")
        let workdir = runtime.all("WORKDIR").last
        #expect(runtime.all("VOLUME").contains { $0.contains(workdir ?? "?") }, "the working directory (state) is a volume")
        #expect(runtime.all("STOPSIGNAL") == ["SIGTERM"])
        let entrypoint = Dockerfile.execForm(runtime.all("ENTRYPOINT").last ?? "") ?? []
        let command = Dockerfile.execForm(runtime.all("CMD").last ?? "") ?? []
        #expect(entrypoint == ["tributary"])
        #expect(runtime.all("COPY").contains { $0.hasSuffix("/usr/local/bin/tributary") }, "tributary is on the PATH")

        let harness = try Harness(database: "deploy_docker")
        let (process, port) = try await Self.runAsDeployed(
            command, connectorsAt: "/etc/tributary/connectors", harness: harness, "Dockerfile CMD")
        #expect(runtime.all("EXPOSE") == ["\(port)"], "EXPOSE is the health port")
        let healthcheck = try #require(runtime.all("HEALTHCHECK").first)
        let cmd = try #require(healthcheck.range(of: "CMD "))
        let probe = try #require(Dockerfile.execForm(String(healthcheck[cmd.upperBound...])))
        #expect(probe.first == "tributary")
        let values = try checkTributaryOptions(Array(probe.dropFirst()), "HEALTHCHECK")
        #expect(values["--port"] == "\(port)", "the HEALTHCHECK asks the health port")
        #expect(values["--path"] == "/health/live")
        let asked = try Self.tributary(Array(probe.dropFirst()))
        #expect(asked.status == 0, "the HEALTHCHECK command against the running process: \(asked.output)")
        #expect(try await process.terminate() == 0)
        let stopped = try Self.tributary(Array(probe.dropFirst()))
        #expect(stopped.status != 0, "the HEALTHCHECK fails once the process is gone")
    }

    @Test func composeRunsTheImageWithFilesAndPortsThatFit() async throws {
        let compose = try #require(try Yams.load(yaml: try Self.text("deploy/docker/compose.yaml")) as? [String: Any])
        let services = try #require(compose["services"] as? [String: Any])
        let postgres = try #require(services["postgres"] as? [String: Any])
        let kafka = try #require(services["kafka"] as? [String: Any])
        let tributary = try #require(services["tributary"] as? [String: Any])
        #expect((postgres["command"] as? [String] ?? []).contains("wal_level=logical"))

        // The image is built from this repository's Dockerfile.
        let build = try #require(tributary["build"] as? [String: Any])
        let context = Self.root.appendingPathComponent("deploy/docker").appendingPathComponent(build["context"] as? String ?? "")
        #expect(
            FileManager.default.fileExists(
                atPath: context.appendingPathComponent(build["dockerfile"] as? String ?? "").standardized.path))

        // Mounted host paths exist; the connectors are mounted where the command reads them.
        var mounts: [String: String] = [:]
        for volume in tributary["volumes"] as? [String] ?? [] {
            let parts = volume.split(separator: ":").map(String.init)
            mounts[parts[1]] = parts[0]
            if parts[0].hasPrefix(".") {
                #expect(
                    FileManager.default.fileExists(
                        atPath: Self.root.appendingPathComponent("deploy/docker").appendingPathComponent(parts[0]).path),
                    "\(parts[0]) is in deploy/docker")
            }
        }
        for volume in postgres["volumes"] as? [String] ?? [] where volume.hasPrefix(".") {
            let host = String(volume.split(separator: ":")[0])
            #expect(
                FileManager.default.fileExists(
                    atPath: Self.root.appendingPathComponent("deploy/docker").appendingPathComponent(host).path))
        }
        let command = try #require(tributary["command"] as? [String])
        let connectorsPath = try #require(command.dropFirst().first)
        let connectorsHost = try #require(mounts[connectorsPath], "the connector directory is mounted")

        // Each connector file is valid with the service's environment, and points at the other services.
        let environment = Set((tributary["environment"] as? [String: Any] ?? [:]).keys)
        let directory = Self.root.appendingPathComponent("deploy/docker").appendingPathComponent(connectorsHost)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }
        #expect(!files.isEmpty)
        let initSQL = try Self.text("deploy/docker/init.sql")
        for file in files {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            try Self.validate(text, name: file, environment: environment, "compose")
            let connector = try #require(try Yams.load(yaml: text) as? [String: Any])
            let pg = connector["postgres"] as? [String: Any] ?? [:]
            let url = try #require(URLComponents(string: pg["url"] as? String ?? ""))
            #expect(url.host == "postgres" && (url.port ?? 5432) == 5432, "the url names the postgres service")
            #expect(url.path == "/" + ((postgres["environment"] as? [String: Any])?["POSTGRES_DB"] as? String ?? "?"))
            #expect(initSQL.contains("CREATE ROLE \(url.user ?? "?") WITH LOGIN REPLICATION"), "init.sql makes the role")
            for table in pg["tables"] as? [String] ?? [] {
                #expect(initSQL.contains("CREATE TABLE \(table) "), "init.sql creates \(table)")
            }
            let advertised = (kafka["environment"] as? [String: Any])?["KAFKA_ADVERTISED_LISTENERS"] as? String ?? ""
            let servers = (connector["kafka"] as? [String: Any])?["bootstrap_servers"] as? String ?? "?"
            #expect(advertised.contains("//\(servers)"), "bootstrap_servers is the broker's advertised listener")
            let state = (connector["snapshot"] as? [String: Any])?["state_directory"] as? String ?? "state"
            #expect(mounts.keys.contains { state.hasPrefix($0) }, "the snapshot state is on a volume")
        }
        if let password = (tributary["environment"] as? [String: Any])?["PGPASSWORD"] as? String {
            #expect(initSQL.contains("PASSWORD '\(password)'"), "PGPASSWORD is the role's password")
        }

        let harness = try Harness(database: "deploy_compose")
        let (process, port) = try await Self.runAsDeployed(
            command, connectorsAt: connectorsPath, harness: harness, "compose tributary")
        let ports = tributary["ports"] as? [String] ?? []
        #expect(ports.contains { $0.hasSuffix(":\(port)") }, "the health port is published")
        #expect(try await process.terminate() == 0)
    }

    // MARK: Kubernetes

    static func documents(_ path: String) throws -> [[String: Any]] {
        try Yams.load_all(yaml: try text(path)).compactMap { $0 as? [String: Any] }
    }

    @Test(arguments: ["deploy/kubernetes/sidecar.yaml", "deploy/kubernetes/standalone.yaml"])
    func kubernetesProbesMountsAndSecretsFitTheBinary(path: String) async throws {
        let documents = try Self.documents(path)
        func named(_ kind: String, _ name: String) -> [String: Any]? {
            documents.first { $0["kind"] as? String == kind && ($0["metadata"] as? [String: Any])?["name"] as? String == name }
        }
        let deployment = try #require(documents.first { $0["kind"] as? String == "Deployment" })
        let template = try #require((deployment["spec"] as? [String: Any])?["template"] as? [String: Any])
        let annotations = (template["metadata"] as? [String: Any])?["annotations"] as? [String: Any] ?? [:]
        let podSpec = try #require(template["spec"] as? [String: Any])
        let containers = try #require(podSpec["containers"] as? [[String: Any]])
        let container = try #require(containers.first { ($0["image"] as? String ?? "").hasPrefix("tributary") })
        let volumes = podSpec["volumes"] as? [[String: Any]] ?? []
        #expect((podSpec["terminationGracePeriodSeconds"] as? Int ?? 30) > 30, "longer than the 30 s drain")

        // Mounts: the connector directory is a ConfigMap; the state directory is writable and kept.
        let mounts = container["volumeMounts"] as? [[String: Any]] ?? []
        let arguments = try #require(container["args"] as? [String])
        let connectorsPath = try #require(arguments.dropFirst().first)
        let connectorMount = try #require(mounts.first { $0["mountPath"] as? String == connectorsPath })
        let connectorVolume = try #require(volumes.first { $0["name"] as? String == connectorMount["name"] as? String })
        let configMapName = try #require((connectorVolume["configMap"] as? [String: Any])?["name"] as? String)
        let configMap = try #require(named("ConfigMap", configMapName), "ConfigMap \(configMapName) is in the file")

        // Secrets: every variable is set, from a Secret key that exists.
        var environment: Set<String> = []
        for variable in container["env"] as? [[String: Any]] ?? [] {
            guard let name = variable["name"] as? String else { continue }
            environment.insert(name)
            if let reference = ((variable["valueFrom"] as? [String: Any])?["secretKeyRef"]) as? [String: Any] {
                let secret = try #require(named("Secret", reference["name"] as? String ?? ""), "Secret for \(name)")
                let keys = Set(((secret["stringData"] ?? secret["data"]) as? [String: Any] ?? [:]).keys)
                #expect(keys.contains(reference["key"] as? String ?? ""), "\(name): the Secret has the key")
            }
        }
        let files = configMap["data"] as? [String: String] ?? [:]
        #expect(!files.isEmpty)
        let readOnlyRoot = (container["securityContext"] as? [String: Any])?["readOnlyRootFilesystem"] as? Bool ?? false
        for (file, text) in files {
            #expect(file.hasSuffix(".yaml"))
            try Self.validate(text, name: file, environment: environment, path)
            let connector = try #require(try Yams.load(yaml: text) as? [String: Any])
            let state = (connector["snapshot"] as? [String: Any])?["state_directory"] as? String ?? "state"
            let stateMount = mounts.first { state.hasPrefix($0["mountPath"] as? String ?? "?") }
            #expect(stateMount != nil || !readOnlyRoot, "\(file): the snapshot state is on a volume")
            if let stateMount, let volume = volumes.first(where: { $0["name"] as? String == stateMount["name"] as? String }) {
                #expect(volume["persistentVolumeClaim"] != nil, "\(file): the snapshot state survives a new pod")
            }
            if path.contains("sidecar") {
                let url = try #require(URLComponents(string: (connector["postgres"] as? [String: Any])?["url"] as? String ?? ""))
                #expect(["127.0.0.1", "localhost"].contains(url.host ?? ""), "the sidecar reaches the database in its pod")
                let database = try #require(containers.first { ($0["image"] as? String ?? "").hasPrefix("postgres") })
                #expect((database["args"] as? [String] ?? []).contains("wal_level=logical"))
                let databasePorts = (database["ports"] as? [[String: Any]] ?? []).compactMap { $0["containerPort"] as? Int }
                #expect(databasePorts.contains(url.port ?? 5432))
            }
        }
        let resources = container["resources"] as? [String: Any] ?? [:]
        #expect((resources["requests"] as? [String: Any])?["memory"] != nil, "memory is requested")
        #expect((resources["limits"] as? [String: Any])?["memory"] != nil, "memory is limited")

        // Run the container's command line; ask its probes and the scrape path.
        let harness = try Harness(database: path.contains("sidecar") ? "deploy_sidecar" : "deploy_standalone")
        let (process, port) = try await Self.runAsDeployed(arguments, connectorsAt: connectorsPath, harness: harness, path)
        let containerPorts = (container["ports"] as? [[String: Any]] ?? []).compactMap { $0["containerPort"] as? Int }
        #expect(containerPorts.contains(port), "the container declares the health port")
        for (probeName, expected) in [("livenessProbe", Set([200])), ("readinessProbe", Set([200]))] {
            let probe = try #require(container[probeName] as? [String: Any], "\(probeName)")
            let get = try #require(probe["httpGet"] as? [String: Any])
            #expect(get["port"] as? Int == port, "\(probeName) asks the health port")
            try await Self.probe(get["path"] as? String ?? "?", port: port, "\(path) \(probeName)", expect: expected)
        }
        #expect(annotations["prometheus.io/scrape"] as? String == "true")
        #expect(annotations["prometheus.io/port"] as? String == "\(port)")
        let metricsPath = annotations["prometheus.io/path"] as? String ?? "/metrics"
        try await Self.probe(metricsPath, port: port, "\(path) prometheus.io/path")
        #expect(try await process.terminate() == 0)
    }

    // MARK: systemd

    @Test func theSystemdUnitRunsWhatTheBinaryAcceptsAndIsHardened() async throws {
        var settings: [String: [String]] = [:]
        for line in try Self.text("deploy/systemd/tributary.service").split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.hasPrefix("#"), !trimmed.hasPrefix("["), let equals = trimmed.firstIndex(of: "=") else { continue }
            settings[String(trimmed[..<equals]), default: []].append(String(trimmed[trimmed.index(after: equals)...]))
        }
        func value(_ key: String) -> String? { settings[key]?.last }
        #expect(value("KillSignal") == "SIGTERM")
        #expect(Int(value("TimeoutStopSec") ?? "0") ?? 0 > 30, "longer than the 30 s drain")
        #expect(value("Restart") == "on-failure")
        #expect(value("NoNewPrivileges") == "yes")
        #expect(value("ProtectSystem") == "strict")
        let user = try #require(value("User"))
        #expect(user != "root")
        let workingDirectory = try #require(value("WorkingDirectory"))
        #expect(value("ReadWritePaths")?.split(separator: " ").contains { $0 == workingDirectory } == true)

        // The exit statuses that must not restart are the binary's own for a bad connector file.
        let noRestart = Set((value("RestartPreventExitStatus") ?? "").split(separator: " ").compactMap { Int32($0) })
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-bad-\(UUID().uuidString).yaml").path
        try "name: Bad Name\n".write(toFile: bad, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: bad) }
        let validated = try Self.tributary(["validate", bad])
        #expect(noRestart.contains(validated.status), "validate exits \(validated.status) for a bad file")
        let ran = try Self.tributary(["run", bad, "--health-port", "\(try PostgresServer.freePort())"])
        #expect(noRestart.contains(ran.status), "run exits \(ran.status) for a bad file")

        let binary = "/usr/local/bin/tributary"
        for pre in settings["ExecStartPre"] ?? [] {
            let words = pre.split(separator: " ").map(String.init)
            #expect(words.first == binary)
            _ = try checkTributaryOptions(Array(words.dropFirst()), "ExecStartPre")
        }
        let start = try #require(value("ExecStart")).split(separator: " ").map(String.init)
        #expect(start.first == binary)
        let harness = try Harness(database: "deploy_systemd")
        let (process, _) = try await Self.runAsDeployed(
            Array(start.dropFirst()), connectorsAt: "/etc/tributary/connectors", harness: harness, "ExecStart")
        #expect(try await process.terminate() == 0, "SIGTERM stops it cleanly")
    }

    // MARK: Prometheus

    @Test func everyAlertAsksForAMetricTributaryServes() async throws {
        let rules = try #require(try Yams.load(yaml: try Self.text("deploy/prometheus/alerts.yaml")) as? [String: Any])
        var expressions: [(String, String)] = []
        for group in rules["groups"] as? [[String: Any]] ?? [] {
            for rule in group["rules"] as? [[String: Any]] ?? [] {
                expressions.append((rule["alert"] as? String ?? "?", rule["expr"] as? String ?? ""))
            }
        }
        #expect(expressions.count >= 5)
        let harness = try Harness(database: "deploy_alerts", extra: "heartbeat: {interval: 1s}")
        let port = try PostgresServer.freePort()
        let connector = try await harness.startConnector(healthPort: port)
        try harness.db.execute("CREATE TABLE t (id int PRIMARY KEY)")
        try harness.db.execute("INSERT INTO t VALUES (1)")
        _ = try await harness.records(["it.public.t"], atLeast: 1)
        // Slot health is read every few seconds; wait for it to be there.
        var metrics = ""
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            metrics = try await httpGet("http://127.0.0.1:\(port)/metrics").body
            if metrics.contains("tributary_slot_wal_status") { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(try await connector.terminate() == 0)
        let served = Set(
            metrics.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap {
                $0.split(whereSeparator: { $0 == "{" || $0 == " " }).first.map(String.init)
            })
        for (alert, expression) in expressions {
            var rest = Substring(expression)
            while let start = rest.range(of: "tributary_") {
                let name = rest[start.lowerBound...].prefix { $0.isLetter || $0 == "_" || $0.isNumber }
                #expect(served.contains(String(name)), "\(alert) asks for \(name), which /metrics does not serve")
                rest = rest[start.upperBound...]
            }
            for label in ["state=\"failed\"", "state=\"reconnecting\""] where expression.contains(label) {
                #expect(metrics.contains(label), "\(alert): /metrics has \(label)")
            }
            if expression.contains("status=~") {
                for status in ["unreserved", "lost"] { #expect(metrics.contains("status=\"\(status)\"")) }
            }
        }
    }
}
