import ChangeEvents

/// The connector file's `transforms`, applied in order to each event on the session's thread.
struct EventTransforms {
    /// The envelope transform, first when there is one (the loader checks the order).
    private var unwrap: Unwrap?

    /// No transforms.
    init() {}

    init(_ configs: [TransformConfig], schemas: Bool) throws(TransformError) {
        for config in configs {
            switch config {
            case .unwrap(let options): unwrap = try Unwrap(options, schemas: schemas)
            }
        }
    }

    var isEmpty: Bool { unwrap == nil }

    /// The event the transforms make, or nil when one drops it.
    mutating func apply(_ event: ChangeEvent) throws(TransformError) -> ChangeEvent? {
        var current = event
        if unwrap != nil {
            guard let next = try unwrap!.apply(current) else { return nil }
            current = next
        }
        return current
    }
}
