import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// GETs a URL and returns the status code and body; throws when nothing answers.
public func httpGet(_ url: String) async throws -> (status: Int, body: String) {
    var request = URLRequest(url: URL(string: url)!)
    request.timeoutInterval = 5
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
}
