/// What a connector needs of the server itself: logical decoding, and a role that may stream.
///
/// One list for both users: `tributary check` prints every finding with its fix, and a session stops at the first
/// that fails, with the same words.
public struct ServerPrerequisites: Sendable, Equatable {
    public var walLevel: String
    public var role: String
    /// REPLICATION, or a superuser.
    public var mayReplicate: Bool
    public var isSuperuser: Bool

    public init(walLevel: String, role: String, mayReplicate: Bool, isSuperuser: Bool) {
        self.walLevel = walLevel
        self.role = role
        self.mayReplicate = mayReplicate
        self.isSuperuser = isSuperuser
    }

    /// One prerequisite met, or not with what to do.
    public struct Finding: Sendable, Equatable {
        public var what: String
        /// nil when the prerequisite is met.
        public var fix: String?

        public var passed: Bool { fix == nil }
    }

    public var findings: [Finding] {
        [
            walLevel == "logical"
                ? Finding(what: "wal_level is logical")
                : Finding(
                    what: "wal_level is '\(walLevel)' on the server",
                    fix: "set wal_level = logical in postgresql.conf (or ALTER SYSTEM SET wal_level = logical) and restart "
                        + "PostgreSQL"),
            mayReplicate
                ? Finding(what: "role \(role) may replicate")
                : Finding(
                    what: "role \(role) lacks the REPLICATION privilege needed to stream changes",
                    fix: "run ALTER ROLE \(role) WITH REPLICATION as a superuser, or connect as a role that has it"),
        ]
    }

    /// Throws the first prerequisite not met, as a configuration error that says what to change.
    public func require() throws(PostgresError) {
        guard let failed = findings.first(where: { !$0.passed }) else { return }
        throw PostgresError(.configuration, "\(failed.what); \(failed.fix ?? "")")
    }
}
