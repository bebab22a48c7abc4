import Foundation
import Logging

extension RelayConfiguration {
    /// The configuration in effect, defaults included, as TOML (`gigs-relay config check`).
    ///
    /// Secrets appear only as their references (`env:NAME`, `file:PATH`, `credential:NAME`), never as
    /// values: the file holds no secret values, and this output does not read any.
    public var effectiveTOML: String {
        var lines: [String] = []
        func section(_ name: String, _ keys: [(String, String?)]) {
            lines.append("[\(name)]")
            for (key, value) in keys {
                lines.append(value.map { "\(key) = \($0)" } ?? "# \(key) is not set")
            }
            lines.append("")
        }
        let quoted = TOMLText.quoted
        let list = TOMLText.list
        func retryKeys(_ policy: RetryPolicy) -> [(String, String?)] {
            [
                ("max_attempts", "\(policy.maxAttempts)"),
                ("backoff_initial_ms", "\(policy.backoffInitialMilliseconds)"),
                ("backoff_max_ms", "\(policy.backoffMaxMilliseconds)"),
            ]
        }

        section(
            "server",
            [
                ("listen", quoted("\(server.listen)")), ("max_body_bytes", "\(server.maxBodyBytes)"),
                ("max_body_bytes_in_flight", "\(server.maxBodyBytesInFlight)"),
                ("idle_timeout_seconds", "\(server.idleTimeoutSeconds)"),
                ("header_timeout_seconds", "\(server.headerTimeoutSeconds)"),
                ("body_timeout_seconds", "\(server.bodyTimeoutSeconds)"),
                ("max_connections", "\(server.maxConnections)"),
                ("trusted_proxies", list(server.trustedProxies.map(\.description))),
                ("max_failed_verifications", "\(server.maxFailedVerifications)"),
                ("failed_verification_window_seconds", "\(server.failedVerificationWindowSeconds)"),
            ])
        if let url = store.url {
            section(
                "store",
                [
                    ("url", quoted(url.description)), ("password", store.password.map { quoted($0.description) }),
                    ("pool_size", "\(store.poolSize)"), ("retention_days", "\(store.retentionDays)"),
                ])
        } else {
            section("store", [("path", quoted(store.path)), ("retention_days", "\(store.retentionDays)")])
        }
        section(
            "webhook",
            [
                ("path", quoted(webhook.path)), ("tolerance_seconds", "\(webhook.toleranceSeconds)"),
                ("secrets", list(webhook.secrets.map(\.description))),
            ])
        section("log", [("level", quoted(log.level.rawValue)), ("format", quoted(log.format.rawValue))])
        section(
            "admin",
            [
                ("listen", admin.listen.map { quoted("\($0)") }), ("token", admin.token.map { quoted($0.description) }),
                ("redact", list(admin.redact.map(\.description))),
            ])
        section(
            "ready",
            [
                ("max_pending", ready.maxPending.map(String.init)),
                ("max_oldest_pending_seconds", ready.maxOldestPendingSeconds.map(String.init)),
                ("max_blocked_seconds", String(ready.maxBlockedSeconds ?? 0)),
            ])
        section(
            "dispatch",
            [
                ("workers", "\(dispatch.workers)"), ("lease_seconds", "\(dispatch.leaseSeconds)"),
                ("shutdown_grace_seconds", "\(dispatch.shutdownGraceSeconds)"),
            ] + retryKeys(dispatch.retry))
        if let gigs {
            section(
                "gigs",
                [
                    ("api_url", quoted(gigs.apiURL.absoluteString)), ("allow_insecure", "\(gigs.allowInsecure)"),
                    ("project", quoted(gigs.project)),
                    ("token", quoted(gigs.token.description)),
                ])
        }
        if let smtp {
            section(
                "smtp",
                [
                    ("host", quoted(smtp.host)), ("port", "\(smtp.port)"), ("starttls", quoted(smtp.starttls.rawValue)),
                    ("username", smtp.username.map(quoted)), ("password", smtp.password.map { quoted($0.description) }),
                    ("from", quoted(smtp.from.description)), ("ca_file", smtp.caFile.map(quoted)),
                    ("helo_name", smtp.heloName.map(quoted)),
                ])
        }
        for route in routes {
            var keys: [(String, String?)] = [("events", list(route.events.map(\.description)))]
            if !route.filters.isEmpty {
                keys.append(("where", "{ " + route.filters.map(\.description).joined(separator: ", ") + " }"))
            }
            keys.append(("actions", list(route.actions)))
            section("[routes]", keys)
        }
        for name in actions.keys.sorted() {
            guard let action = actions[name] else { continue }
            var keys: [(String, String?)] =
                [("kind", quoted(action.kindName))]
                + action.settings.effectiveKeys.map { ($0.key, $0.value) }
            keys += [
                ("timeout_seconds", "\(action.timeoutSeconds)"),
                ("max_concurrency", action.maxConcurrency.map(String.init)),
                ("rate_per_second", action.rate.map { FilterValue.number($0.perSecond).description }),
                ("rate_burst", action.rate.map { String($0.burst) }),
                ("circuit_failures", String(action.circuit?.failures ?? 0)),
                ("circuit_cooldown_seconds", action.circuit.map { String($0.cooldownSeconds) }),
                ("ordering", quoted(action.ordering == nil ? "none" : "subject")),
            ]
            if let ordering = action.ordering {
                keys += [
                    ("subject", list(ordering.subject.map(\.description))),
                    ("reorder_window_ms", String(ordering.reorderWindowMilliseconds)),
                    ("on_dead", quoted(ordering.deadBlocks ? "block" : "continue")),
                ]
            }
            section("actions.\(name)", keys + retryKeys(action.retry))
        }
        return lines.joined(separator: "\n")
    }
}
