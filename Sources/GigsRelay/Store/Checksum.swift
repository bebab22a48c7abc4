/// An order-sensitive 64-bit FNV-1a over every column of every row, the same for either backend.
struct Checksum {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01b3
        }
        value ^= 0xff
        value = value &* 0x0000_0100_0000_01b3
    }

    mutating func add(_ text: String?) {
        if let text { add(text.utf8) } else { add([0xfe]) }
    }

    mutating func add(_ number: Int64) {
        withUnsafeBytes(of: number.littleEndian) { add($0) }
    }

    mutating func add(_ row: EventRow) {
        add(row.sequence)
        add(row.id)
        add(row.type)
        add(row.project)
        add(row.eventTime)
        add(row.receivedAt)
        add(row.messageID)
        add(row.webhookTimestamp)
        add(row.signature)
        add(row.body)
        add(row.subject)
        add(row.user)
        add(row.erasedAt ?? -1)
        add(row.traceContext)
    }

    mutating func add(_ row: DeliveryRow) {
        add(row.id)
        add(row.eventSequence)
        add(row.action)
        add(row.status)
        add(row.attempts)
        add(row.nextAttemptAt)
        add(row.lastError)
        add(row.replay)
        add(row.createdAt)
        add(row.updatedAt)
        add(row.leaseExpirations)
        add(row.subject)
        add(row.orderAt)
        add(row.outOfOrder)
    }

    mutating func add(_ row: AttemptRow) {
        add(row.id)
        add(row.deliveryID)
        add(row.number)
        add(row.startedAt)
        add(row.durationMilliseconds)
        add(row.outcome)
        add(row.error)
        add(row.output)
    }
}
