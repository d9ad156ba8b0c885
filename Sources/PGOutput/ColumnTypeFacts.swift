/// The catalog's description of a column type (`pg_type`), for mapping types whose OID is not fixed.
public struct ColumnTypeFacts: Sendable, Equatable {
    public var name: String
    /// `typtype`: b base, e enum, d domain, c composite, r range, m multirange, p pseudo.
    public var kind: Character
    public var enumLabels: [String]
    public var baseOID: UInt32
    public var baseModifier: Int32
    public var elementOID: UInt32
    public var elementName: String
    public var elementKind: Character
    /// The column's DEFAULT expression as `pg_get_expr` prints it (`true`, `'abc'::text`, `now()`), if any.
    public var defaultExpression: String?

    public init(
        name: String, kind: Character, enumLabels: [String] = [], baseOID: UInt32 = 0, baseModifier: Int32 = -1,
        elementOID: UInt32 = 0, elementName: String = "", elementKind: Character = " ", defaultExpression: String? = nil
    ) {
        self.defaultExpression = defaultExpression
        self.name = name
        self.kind = kind
        self.enumLabels = enumLabels
        self.baseOID = baseOID
        self.baseModifier = baseModifier
        self.elementOID = elementOID
        self.elementName = elementName
        self.elementKind = elementKind
    }
}
