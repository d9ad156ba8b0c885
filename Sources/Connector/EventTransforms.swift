import ChangeEvents

/// The connector file's `transforms`, applied in order to each event on the session's thread, then the value format
/// when it is not the plain envelope (CloudEvents, as Debezium's value converter runs after the transforms).
struct EventTransforms {
    /// Header transforms that read the envelope, before the envelope transform.
    private var changedFields: [ChangedFields] = []
    /// The envelope transform, first after those when there is one (the loader checks the order).
    private var unwrap: Unwrap?
    private var outbox: OutboxRouter?
    /// The transforms after the envelope one, in the file's order.
    private var stages: [Stage] = []

    private enum Stage {
        case regex(RegexRouter)
        case logicalTable(LogicalTableRouter)
        case insertHeader(InsertHeader)
        case headerFrom(HeaderFrom)
    }

    private var cloudEvents: CloudEvents?

    /// No transforms.
    init() {}

    init(_ configs: [TransformConfig], schemas: Bool, cloudEvents: CloudEvents.Options? = nil) throws(TransformError) {
        self.cloudEvents = cloudEvents.map { CloudEvents($0, schemas: schemas) }
        for config in configs {
            switch config {
            case .unwrap(let options): unwrap = try Unwrap(options, schemas: schemas)
            case .outbox(let options): outbox = try OutboxRouter(options, schemas: schemas)
            case .regexRouter(let regex, let replacement):
                stages.append(.regex(try RegexRouter(regex: regex, replacement: replacement)))
            case .logicalTableRouter(let options):
                stages.append(.logicalTable(try LogicalTableRouter(options, schemas: schemas)))
            case .insertHeader(let header, let literal):
                stages.append(.insertHeader(InsertHeader(name: header, literal: literal)))
            case .changedFields(let options):
                changedFields.append(ChangedFields(options))
            case .headerFrom(let options):
                stages.append(.headerFrom(try HeaderFrom(options, schemas: schemas)))
            }
        }
        if stages.contains(where: { if case .headerFrom = $0 { true } else { false } }) { unwrap?.keepsRowTable = true }
    }

    var isEmpty: Bool { changedFields.isEmpty && unwrap == nil && outbox == nil && stages.isEmpty && cloudEvents == nil }

    /// Why the last event was dropped, when the operator should hear of it.
    var warning: String? { outbox?.warning }

    /// The topic a record of `topic` ends up in after the routers (`regex_router`, `logical_table_router`), for the
    /// topics a replay reads back. Routes that depend on each row (the outbox router's, unwrap's `route_by_field`)
    /// are not worked out here.
    func routedTopic(_ topic: String) -> String {
        var current = topic
        for stage in stages {
            switch stage {
            case .regex(let router): current = router.rule.apply(current) ?? current
            case .logicalTable(let router): current = router.routedTopic(current) ?? current
            case .insertHeader, .headerFrom: break
            }
        }
        return current
    }

    /// Makes `event` what the transforms make of it, in place; false when one drops it.
    mutating func apply(_ event: inout ChangeEvent) throws(TransformError) -> Bool {
        for transform in changedFields { transform.apply(&event) }
        // Optional chaining changes each transform in place (`unwrap!` would copy it, and its caches, per event).
        if try unwrap?.apply(&event) == false { return false }
        if try outbox?.apply(&event) == false { return false }
        for index in stages.indices {
            switch stages[index] {
            case .regex(var router):
                router.apply(&event)
                stages[index] = .regex(router)
            case .logicalTable(var router):
                router.apply(&event)
                stages[index] = .logicalTable(router)
            case .insertHeader(let insert):
                insert.apply(&event)
            case .headerFrom(let headerFrom):
                try headerFrom.apply(&event)
            }
        }
        try cloudEvents?.apply(&event)
        return true
    }
}
