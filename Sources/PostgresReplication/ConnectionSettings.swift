/// How to reach the database: a libpq URI or key=value string, and an optional password kept apart from it.
public struct ConnectionSettings: Sendable {
    public var conninfo: String
    public var password: String?
    public var applicationName: String

    public init(conninfo: String, password: String? = nil, applicationName: String = "tributary") {
        self.conninfo = conninfo
        self.password = password
        self.applicationName = applicationName
    }

    /// Session settings that make the text output of every type predictable for the decoder.
    static let sessionOptions =
        "-c datestyle=ISO -c intervalstyle=postgres -c timezone=UTC -c extra_float_digits=3 -c bytea_output=hex -c lc_monetary=C"

    func overrides(replication: Bool) -> [(String, String)] {
        var list: [(String, String)] = [
            ("application_name", applicationName),
            ("options", Self.sessionOptions),
        ]
        if replication { list.append(("replication", "database")) }
        if let password { list.append(("password", password)) }
        return list
    }
}
