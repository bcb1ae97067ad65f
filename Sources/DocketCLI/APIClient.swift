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

    /// The access key the CLI signs with: DOCKET_ACCESS_KEY_ID and DOCKET_SECRET_ACCESS_KEY, else
    /// the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY the aws CLI reads (a pair is never
    /// mixed); the region from DOCKET_REGION, AWS_REGION or AWS_DEFAULT_REGION, else "local"
    /// (the server's default). nil when neither pair is set.
    /// - Throws: `CLIError` (64) when only half of a pair is set, rather than send unsigned.
    static func credentials(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (id: String, secret: String, region: String)? {
        func value(_ names: String...) -> String? { names.lazy.compactMap { environment[$0] }.first { !$0.isEmpty } }
        let region = value("DOCKET_REGION", "AWS_REGION", "AWS_DEFAULT_REGION") ?? "local"
        for prefix in ["DOCKET_", "AWS_"] {
            let (idName, secretName) = ("\(prefix)ACCESS_KEY_ID", "\(prefix)SECRET_ACCESS_KEY")
            switch (value(idName), value(secretName)) {
            case let (id?, secret?): return (id, secret, region)
            case (nil, nil): continue
            case (_?, nil):
                throw CLIError(message: "error: \(idName) is set but \(secretName) is not; set both to sign requests, or unset \(idName).", exitCode: 64)
            case (nil, _?):
                throw CLIError(message: "error: \(secretName) is set but \(idName) is not; set both to sign requests, or unset \(secretName).", exitCode: 64)
            }
        }
        return nil
    }

    /// Adds a Signature Version 4 signature when credentials are set (a server with access keys
    /// refuses unsigned requests; one without ignores the signature). Signs host, content-type
    /// and x-amz-date; the Host header is set to the value signed so the two cannot differ.
    static func signed(_ request: URLRequest, credentials: (id: String, secret: String, region: String)?) -> URLRequest {
        guard let credentials, let url = request.url, let host = url.host else { return request }
        var signed = request
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        let hostValue = url.port.map { "\(bracketed):\($0)" } ?? bracketed
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
        let credentials = try Self.credentials()
        let request = Self.signed(unsigned, credentials: credentials)
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
            if type == "MissingAuthenticationTokenException" && credentials == nil {
                throw CLIError(message: "error: \(type): the docket server at \(endpoint.absoluteString) requires signed requests and no access key is set; set DOCKET_ACCESS_KEY_ID and DOCKET_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) to one of the server's access keys.")
            }
            throw CLIError(message: "error: \(type): \(message)")
        }
        return json
    }
}
