// Elements by a serial number that is never reused, stored in a flat array whose freed places are
// reused: a dictionary from serial to element would cost each element twice its stride or more
// (its buckets stay between three eighths and three quarters full), the slab costs it once plus
// eight bytes per bucket of the serial-to-place map.

struct SerialSlab<Element> {
    private var elements: [Element?] = []
    /// Places freed by removals, reused before the array grows.
    private var freePlaces: [UInt32] = []
    private var placeBySerial: [UInt32: UInt32] = [:]

    var count: Int { placeBySerial.count }

    /// The element of `serial`; assigning nil removes it, assigning to an absent serial inserts it.
    /// Mutations through the subscript happen in place.
    subscript(serial: UInt32) -> Element? {
        // Read in place: reading one field of an element copies neither it nor what it references.
        _read {
            if let place = placeBySerial[serial] {
                yield elements[Int(place)]
            } else {
                yield nil
            }
        }
        _modify {
            if let place = placeBySerial[serial] {
                yield &elements[Int(place)]
                if elements[Int(place)] == nil {
                    placeBySerial[serial] = nil
                    freePlaces.append(place)
                }
            } else {
                var inserted: Element?
                yield &inserted
                if let inserted { insert(inserted, serial: serial) }
            }
        }
        set {
            if let place = placeBySerial[serial] {
                elements[Int(place)] = newValue
                if newValue == nil {
                    placeBySerial[serial] = nil
                    freePlaces.append(place)
                }
            } else if let newValue {
                insert(newValue, serial: serial)
            }
        }
    }

    /// Runs `body` on the element of `serial` in place, one lookup however many fields it
    /// reads or changes; nil when `serial` is absent.
    mutating func update<Result>(_ serial: UInt32, _ body: (inout Element) -> Result) -> Result? {
        guard let place = placeBySerial[serial] else { return nil }
        return body(&elements[Int(place)]!)
    }

    /// Removes the element of `serial` and gives it back (moved out, not copied).
    mutating func remove(_ serial: UInt32) -> Element? {
        guard let place = placeBySerial.removeValue(forKey: serial) else { return nil }
        freePlaces.append(place)
        return elements[Int(place)].take()
    }

    private mutating func insert(_ element: Element, serial: UInt32) {
        if let place = freePlaces.popLast() {
            elements[Int(place)] = element
            placeBySerial[serial] = place
        } else {
            placeBySerial[serial] = UInt32(elements.count)
            elements.append(element)
        }
    }

    /// Every element held, in no particular order.
    func forEach(_ body: (Element) -> Void) {
        for element in elements {
            if let element { body(element) }
        }
    }

    /// Places the array holds, used or free (what its memory is proportional to).
    var places: Int { elements.count }
}
