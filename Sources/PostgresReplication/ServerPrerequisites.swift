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
    /// `server_version_num`, such as 160014.
    public var serverVersion: Int
    /// The server is a standby (in recovery): decoding there needs PostgreSQL 16 and `hot_standby_feedback`.
    public var isStandby: Bool
    public var hotStandbyFeedback: Bool

    public init(
        walLevel: String, role: String, mayReplicate: Bool, isSuperuser: Bool, serverVersion: Int = 150000,
        isStandby: Bool = false, hotStandbyFeedback: Bool = false
    ) {
        self.walLevel = walLevel
        self.role = role
        self.mayReplicate = mayReplicate
        self.isSuperuser = isSuperuser
        self.serverVersion = serverVersion
        self.isStandby = isStandby
        self.hotStandbyFeedback = hotStandbyFeedback
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
        ] + standbyFindings
    }

    /// A standby decodes only from PostgreSQL 16, and keeps the catalog rows its slot needs only while it tells the
    /// primary's vacuum about them (`hot_standby_feedback`); without it the primary removes them and PostgreSQL
    /// invalidates the slot (`rows_removed`).
    private var standbyFindings: [Finding] {
        guard isStandby else { return [] }
        guard serverVersion >= 160000 else {
            return [
                Finding(
                    what: "the server is a standby of PostgreSQL \(serverVersion / 10000), which cannot decode changes "
                        + "(a standby can from PostgreSQL 16)",
                    fix: "point postgres.url at the primary, or upgrade the standby and its primary to PostgreSQL 16 or later")
            ]
        }
        return [
            hotStandbyFeedback
                ? Finding(what: "the server is a standby with hot_standby_feedback on")
                : Finding(
                    what: "the server is a standby with hot_standby_feedback off, so the primary's vacuum removes catalog "
                        + "rows the slot needs and PostgreSQL invalidates it (rows_removed)",
                    fix: "set hot_standby_feedback = on on the standby (ALTER SYSTEM SET hot_standby_feedback = on; "
                        + "SELECT pg_reload_conf()), and use a physical slot for it on the primary (primary_slot_name)")
        ]
    }

    /// Throws the first prerequisite not met, as a configuration error that says what to change.
    public func require() throws(PostgresError) {
        guard let failed = findings.first(where: { !$0.passed }) else { return }
        throw PostgresError(.configuration, "\(failed.what); \(failed.fix ?? "")")
    }
}
