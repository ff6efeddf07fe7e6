// The 64-bit user_data of every request: operation, connection slot, slot generation, extra.
//
//  63      56 55           32 31        24 23           0
//  [   op   ] [    extra     ] [   gen    ] [    slot    ]
// `extra` is 24 bits: a send's byte count or a timer's sequence; it never needs more.

enum Operation: UInt8 {
    case accept = 1
    case receive
    case send
    case cancel
    case close
    case wake
    case tick
    case cancelAccept
    case peerAddress
    /// Another ring of the loop has completions (extra: which ring).
    case ringReady
}

struct UserData: Equatable {
    let operation: Operation
    let slot: UInt32
    let generation: UInt8
    let extra: UInt32

    init(_ operation: Operation, slot: UInt32 = 0, generation: UInt8 = 0, extra: UInt32 = 0) {
        self.operation = operation
        self.slot = slot & 0xFF_FFFF
        self.generation = generation
        self.extra = extra & 0xFF_FFFF
    }

    init?(raw: UInt64) {
        guard let operation = Operation(rawValue: UInt8(truncatingIfNeeded: raw >> 56)) else { return nil }
        self.operation = operation
        self.extra = UInt32(truncatingIfNeeded: raw >> 32) & 0xFF_FFFF
        self.generation = UInt8(truncatingIfNeeded: raw >> 24)
        self.slot = UInt32(truncatingIfNeeded: raw) & 0xFF_FFFF
    }

    var raw: UInt64 {
        UInt64(operation.rawValue) << 56 | UInt64(extra) << 32 | UInt64(generation) << 24 | UInt64(slot)
    }
}
