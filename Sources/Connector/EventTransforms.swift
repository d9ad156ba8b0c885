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

    /// Makes `event` what the transforms make of it, in place; false when one drops it.
    mutating func apply(_ event: inout ChangeEvent) throws(TransformError) -> Bool {
        if unwrap != nil, try !unwrap!.apply(&event) { return false }
        return true
    }
}
