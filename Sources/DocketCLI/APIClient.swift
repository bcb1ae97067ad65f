import DocketAPI
import DocketCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A failure the CLI reports and exits on: the message, and the exit status.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32 = 1
    var description: String { message }
}

/// The CLI's client of the server's API: the AWS Batch operations and Docket's /docket/v1 paths.
struct APIClient {
    var endpoint: URL

    /// The endpoint from --endpoint, else $DOCKET_ENDPOINT, else the server's default address.
    static func resolve(_ option: String?) throws -> APIClient {
        let text = option ?? ProcessInfo.processInfo.environment["DOCKET_ENDPOINT"] ?? "http://127.0.0.1:8400"
        guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw CLIError(message: "error: endpoint '\(text)' is not a URL like http://127.0.0.1:8400; fix --endpoint or DOCKET_ENDPOINT.", exitCode: 64)
        }
        return APIClient(endpoint: url)
    }

    /// POST /v1/<operation> with a JSON body; returns the JSON answer or throws the server's message.
    func call(_ operation: String, _ body: JSONValue) async throws -> JSONValue {
        var request = URLRequest(url: endpoint.appendingPathComponent("v1/\(operation.lowercased())"))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONEncoder().encode(body)
        return try await send(request, operation: operation)
    }

    /// GET a Docket extension path ("docket/v1/plugins").
    func get(_ path: String, query: [URLQueryItem] = []) async throws -> JSONValue {
        var components = URLComponents(url: endpoint.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty { components.queryItems = query }
        return try await send(URLRequest(url: components.url!), operation: path)
    }

    /// Credentials to sign with: DOCKET_ACCESS_KEY_ID and DOCKET_SECRET_ACCESS_KEY, else the AWS
    /// variables the aws CLI reads; the region from DOCKET_REGION, AWS_REGION or
    /// AWS_DEFAULT_REGION, else "local" (the server's default).
    static var credentials: (id: String, secret: String, region: String)? {
        let environment = ProcessInfo.processInfo.environment
        func value(_ names: String...) -> String? { names.lazy.compactMap { environment[$0] }.first { !$0.isEmpty } }
        guard let id = value("DOCKET_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
              let secret = value("DOCKET_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY") else { return nil }
        return (id, secret, value("DOCKET_REGION", "AWS_REGION", "AWS_DEFAULT_REGION") ?? "local")
    }

    /// Adds a Signature Version 4 signature when credentials are set (a server with access keys
    /// refuses unsigned requests; one without ignores the signature).
    static func signed(_ request: URLRequest) -> URLRequest {
        guard let credentials, let url = request.url, let host = url.host else { return request }
        var signed = request
        let hostValue = url.port.map { "\(host):\($0)" } ?? host
        signed.setValue(hostValue, forHTTPHeaderField: "Host")
        var headers: [(name: String, value: String)] = [("host", hostValue)]
        if let type = request.value(forHTTPHeaderField: "Content-Type") { headers.append(("content-type", type)) }
        let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        for (name, value) in SigV4.sign(method: request.httpMethod ?? "GET", rawPath: components?.percentEncodedPath ?? url.path,
                                        rawQuery: components?.percentEncodedQuery ?? "", headers: headers,
                                        body: Array(request.httpBody ?? Data()), accessKeyID: credentials.id,
                                        secret: credentials.secret, region: credentials.region) {
            signed.setValue(value, forHTTPHeaderField: name)
        }
        return signed
    }

    private func send(_ unsigned: URLRequest, operation: String) async throws -> JSONValue {
        let request = Self.signed(unsigned)
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw CLIError(message: "error: cannot reach the docket server at \(endpoint.absoluteString) (\(error.localizedDescription)); start it with `docket server` or set --endpoint / DOCKET_ENDPOINT.", exitCode: 69)
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let json = (try? JSONDecoder().decode(JSONValue.self, from: data)) ?? .null
        guard (200..<300).contains(status) else {
            let type = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "x-amzn-ErrorType") ?? "HTTP \(status)"
            let message = json["message"]?.stringValue ?? json["Message"]?.stringValue ?? String(decoding: data, as: UTF8.self)
            throw CLIError(message: "error: \(type): \(message)")
        }
        return json
    }
}
