/// Compares what the Gigs API's state implies Gigs sent with the events the store holds (``ReconcileRule``).
///
/// Each list is read newest first, a page at a time, until its items were created before the window or
/// it ends. A page that fails is asked again with backoff (honouring `Retry-After`); one that keeps
/// failing ends the run with a partial result, never one that says nothing is missing. Every store lookup
/// is by subject and type, which the store indexes.
public struct Reconciler: Sendable {
    private let api: GigsAPIClient
    private let store: any StoreConsole
    private let rules: [ReconcileRule]
    private let maximumPages: Int
    private let attemptsPerPage: Int
    private let sleep: @Sendable (Duration) async -> Void

    /// - Parameters:
    ///   - maximumPages: pages read per list at most; a list longer than that within the window makes the
    ///     result incomplete.
    ///   - attemptsPerPage: tries of one page before the run gives up on the API.
    public init(
        api: GigsAPIClient,
        store: any StoreConsole,
        rules: [ReconcileRule] = ReconcileRule.all,
        maximumPages: Int = 1000,
        attemptsPerPage: Int = 3,
        sleep: @escaping @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) }
    ) {
        self.api = api
        self.store = store
        self.rules = rules
        self.maximumPages = max(maximumPages, 1)
        self.attemptsPerPage = max(attemptsPerPage, 1)
        self.sleep = sleep
    }

    /// Page size asked of the API (its maximum).
    static let pageSize = 200
    /// The longest wait before asking a failed page again, whatever `Retry-After` says.
    static let longestWait = Duration.seconds(30)

    /// Reconciles the resources created and the states reached at or after `since` (Unix ms).
    ///
    /// - Parameter forEmit: keep each missing event's resource (``Reconciliation/Missing/data``), which
    ///   ``emit(_:project:routes:settings:now:)`` needs; without it a run's memory does not grow with what
    ///   it finds missing.
    public func run(since: Int64, forEmit: Bool = false) async throws(StoreError) -> Reconciliation {
        var result = Reconciliation(since: Timestamp.iso8601(milliseconds: since))
        var collections: [String] = []
        for rule in rules where !collections.contains(rule.collection) { collections.append(rule.collection) }
        for collection in collections {
            let applicable = rules.filter { $0.collection == collection }
            var cursor: String?
            var pages = 0
            listing: while true {
                guard pages < maximumPages else {
                    result.incomplete = "stopped after \(pages) pages of \(collection): the window holds more"
                    break listing
                }
                let page: GigsAPIClient.Page
                do {
                    page = try await self.page(collection, after: cursor, errors: &result.apiErrors)
                } catch {
                    result.incomplete = "\(collection): \(error.message)"
                    break listing
                }
                pages += 1
                for item in page.items {
                    if let created = item["createdAt"]?.string.flatMap(EventTime.milliseconds), created < since {
                        break listing
                    }
                    result.resourcesRead += 1
                    for rule in applicable {
                        try await check(item, against: rule, since: since, keeping: forEmit, into: &result)
                    }
                }
                guard let next = page.moreItemsAfter, !page.items.isEmpty else { break listing }
                cursor = next
            }
            if result.incomplete != nil { break }
        }
        return result
    }

    /// Stores a stand-in (``StandIn``) for each event in `result.missing` (of a run `forEmit`), routed by
    /// `routes` like a webhook, and counts them in `result`: stored now, or by an earlier run (the same id).
    public func emit(
        _ result: inout Reconciliation, project: String, routes: [RouteConfiguration],
        settings: [String: ActionConfiguration], now: Int64
    ) async throws(StoreError) {
        let events = result.missing.compactMap { missing -> (event: VerifiedEvent, deliveries: [NewDelivery])? in
            guard let data = missing.data,
                let event = StandIn.event(for: missing, data: data, project: project, madeAt: now)
            else { return nil }
            return (event, routes.deliveries(for: event, settings: settings))
        }
        result.emitted = try await store.appendStandIns(events).filter { $0 }.count
    }

    /// One page, asked again after a retryable failure.
    private func page(_ collection: String, after cursor: String?, errors: inout Int) async throws(GigsAPIError)
        -> GigsAPIClient.Page
    {
        var wait = Duration.seconds(1)
        var attempt = 1
        while true {
            do {
                return try await api.list(collection, limit: Self.pageSize, after: cursor)
            } catch {
                errors += 1
                guard error.isRetryable, attempt < attemptsPerPage else { throw error }
                await sleep(min(error.retryAfter ?? wait, Self.longestWait))
                wait = min(wait * 2, Self.longestWait)
                attempt += 1
            }
        }
    }

    /// Counts the event `rule` implies for `item`, when it does, as found or missing.
    private func check(
        _ item: JSONValue, against rule: ReconcileRule, since: Int64, keeping keepsData: Bool,
        into result: inout Reconciliation
    ) async throws(StoreError) {
        // Gigs ids are at most 64 characters: anything much longer is not one.
        guard let id = item["id"]?.string, id.utf8.count <= 255, let time = rule.stateTime(of: item), time >= since
        else { return }
        result.expected += 1
        if try await isStored(rule, resource: id, item: item) {
            result.found += 1
            return
        }
        let state = item["status"]?.string.map { "is \($0)" } ?? "changed"
        let at = Timestamp.iso8601(milliseconds: time)
        result.missing.append(
            Reconciliation.Missing(
                resource: id, type: rule.impliedType, time: at,
                reason: "\(rule.resource) \(id) \(state) since \(at); no \(rule.impliedType) event about it is stored",
                data: keepsData ? item : nil))
    }

    /// Whether the store holds the event `rule` implies for the resource.
    private func isStored(_ rule: ReconcileRule, resource id: String, item: JSONValue) async throws(StoreError) -> Bool
    {
        switch rule.match {
        case .subject:
            return try await !store.events(EventFilter(type: rule.impliedType, subject: id, limit: 1)).isEmpty
        case .dataID(let field):
            guard let subject = item[field]?.string ?? item[field]?["id"]?.string else { return false }
            // Every event of the type about that subject, a page at a time (newest first: the likeliest).
            var filter = EventFilter(type: rule.impliedType, subject: subject, limit: 100)
            while true {
                let candidates = try await store.events(filter)
                for candidate in candidates {
                    guard let stored = try await store.event(id: candidate.id),
                        let payload = JSONValue(parsing: stored.body)
                    else { continue }
                    if payload["data"]?["id"]?.string == id { return true }
                }
                guard candidates.count == filter.limit, let last = candidates.last else { return false }
                filter.before = last.sequence
            }
        }
    }
}
