import ArgumentParser

/// `make bench`: Tributary next to the source's own limits, measured in the same run.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tributary-bench",
        abstract: "Benchmarks: the per-event path without I/O, and streaming next to pg_recvlogical.",
        subcommands: [Micro.self, Stream.self, Latency.self, ExactlyOnce.self, ProduceFloor.self])
}
