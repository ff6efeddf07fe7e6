/// Header names and values laid out in two contiguous buffers, so they can be lent to C at once.
struct HeaderBlock {
    private var names: [CChar] = []
    private var values: [UInt8] = []
    private var spans: [(nameStart: Int, valueStart: Int, valueCount: Int)] = []

    init(_ headers: [KafkaHeader]) {
        for header in headers {
            let nameStart = names.count
            names.append(contentsOf: header.name.utf8CString)
            spans.append((nameStart, values.count, header.value.count))
            values.append(contentsOf: header.value)
        }
    }

    /// Pointers valid only inside `body`.
    func withCHeaders<Result>(
        _ body: ([(name: UnsafePointer<CChar>, value: UnsafeRawBufferPointer)]) -> Result
    ) -> Result {
        names.withUnsafeBufferPointer { nameBytes in
            values.withUnsafeBytes { valueBytes in
                let headers = spans.map { span in
                    (
                        name: nameBytes.baseAddress! + span.nameStart,
                        value: UnsafeRawBufferPointer(rebasing: valueBytes[span.valueStart..<span.valueStart + span.valueCount])
                    )
                }
                return body(headers)
            }
        }
    }
}
