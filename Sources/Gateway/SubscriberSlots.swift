// One subject's subscriber slots on one ring, in order of arrival except where a removal moved
// the last into the gap. Most subjects are a player's own, with one subscriber: that one is held
// inline (8 bytes in all), and only a subject with more pays for an array on the heap.

struct SubscriberSlots {
    private enum Storage {
        case none
        case one(UInt32)
        case many([UInt32])
    }

    private var storage = Storage.none

    var count: Int {
        switch storage {
        case .none: 0
        case .one: 1
        case .many(let slots): slots.count
        }
    }

    var isEmpty: Bool { count == 0 }

    subscript(position: Int) -> UInt32 {
        switch storage {
        case .none: preconditionFailure("no subscriber at \(position)")
        case .one(let slot):
            precondition(position == 0, "one subscriber, not \(position + 1)")
            return slot
        case .many(let slots): return slots[position]
        }
    }

    mutating func append(_ slot: UInt32) {
        switch storage {
        case .none: storage = .one(slot)
        case .one(let first): storage = .many([first, slot])
        case .many(var slots):
            storage = .none  // the array's only reference is now `slots`: appended in place
            slots.append(slot)
            storage = .many(slots)
        }
    }

    /// Removes the slot at `position` by moving the last one into its place; returns the slot
    /// moved (nil when the removed one was last).
    mutating func swapRemove(at position: Int) -> UInt32? {
        switch storage {
        case .none: preconditionFailure("no subscriber at \(position)")
        case .one:
            precondition(position == 0, "one subscriber, not \(position + 1)")
            storage = .none
            return nil
        case .many(var slots):
            storage = .none
            let last = slots.removeLast()
            var moved: UInt32?
            if position < slots.count {
                slots[position] = last
                moved = last
            }
            storage = slots.count == 1 ? .one(slots[0]) : .many(slots)
            return moved
        }
    }

    /// Calls `body` with each slot in order.
    @inline(__always)
    func forEach(_ body: (UInt32) -> Void) {
        switch storage {
        case .none: break
        case .one(let slot): body(slot)
        case .many(let slots):
            for slot in slots { body(slot) }
        }
    }
}
