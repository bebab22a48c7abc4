extension StoreConsole {
    /// Deliveries as operators list them: `filter`, or with `onlyBlocked` the pending and failed ones a
    /// dead delivery holds (ordered subjects), newest first, with the dead delivery holding each one.
    ///
    /// - Parameter blocksOnDead: the actions whose dead deliveries hold their subject (`on_dead = "block"`).
    public func listDeliveries(
        _ filter: DeliveryFilter,
        onlyBlocked: Bool = false,
        blocksOnDead: Set<String>
    ) async throws(StoreError) -> (deliveries: [StoredDelivery], blockers: [DeliveryID: DeliveryID]) {
        var deliveries: [StoredDelivery]
        if onlyBlocked {
            // Blocked ones are pending or failed: read both, newest first.
            var waiting = filter
            waiting.status = .pending
            deliveries = try await self.deliveries(waiting)
            waiting.status = .failed
            deliveries += try await self.deliveries(waiting)
            deliveries.sort { $0.id.rawValue > $1.id.rawValue }
        } else {
            deliveries = try await self.deliveries(filter)
        }
        let candidates = deliveries.filter {
            $0.subject != nil && DeliveryStatus.waiting.contains($0.status) && blocksOnDead.contains($0.action)
        }
        let blockers = candidates.isEmpty ? [:] : try await self.blockers(of: candidates.map(\.id))
        if onlyBlocked {
            deliveries = Array(deliveries.filter { blockers[$0.id] != nil }.prefix(filter.limit))
        }
        return (deliveries, blockers)
    }
}
