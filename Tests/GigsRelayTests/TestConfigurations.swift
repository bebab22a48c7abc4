import GigsRelay
import GigsRelayTesting

/// Small configurations the unit tests share.
enum TestConfigurations {
    /// One webhook secret and one `exec` action named "a" with `actionKeys`, then `rest` (routes, …).
    static func execAction(_ actionKeys: String = "", then rest: String = "") throws(ConfigurationError)
        -> RelayConfiguration
    {
        try RelayConfiguration(
            toml: """
                [webhook]
                secrets = ["env:A"]
                [actions.a]
                kind = "exec"
                command = ["/bin/true"]
                \(actionKeys)
                \(rest)
                """
        )
    }
}

extension DaemonFixture {
    /// A daemon whose routes send `events` to one `http` action "backend" at `receiver`, signed with the
    /// secret in `ACTION_SECRET`, with fast retries (50–100 ms, `maxAttempts`).
    static func httpBackend(
        _ receiver: WebhookReceiver,
        action: String = "",
        dispatch: String = "",
        extra: String = "",
        events: String = #"["*"]"#,
        maxAttempts: Int = 20,
        backend: Backend = .sqlite,
        postgres: (url: String, password: String)? = nil
    ) throws -> DaemonFixture {
        let toml = """
            [dispatch]
            backoff_initial_ms = 50
            backoff_max_ms = 100
            max_attempts = \(maxAttempts)
            \(dispatch)
            [actions.backend]
            kind = "http"
            url = "\(receiver.url())"
            secret = "env:ACTION_SECRET"
            \(action)
            \(extra)
            [[routes]]
            events = \(events)
            actions = ["backend"]
            """
        // A given database (store copy's tests name theirs), else a fresh store of `backend`.
        if let postgres { return try DaemonFixture(extraTOML: toml, postgres: postgres) }
        return try DaemonFixture(backend: backend, extraTOML: toml)
    }
}
