import AsyncHTTPClient

/// A short description of a client error without URLs or payloads, for attempt errors and logs.
func shortDescription(of error: any Error) -> String {
    if let error = error as? HTTPClientError { return error.shortDescription }
    return String(describing: type(of: error)) + ": " + String(describing: error).bounded(200)
}
