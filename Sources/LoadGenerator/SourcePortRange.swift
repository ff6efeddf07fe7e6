// Which source ports the load generator binds by itself. A port bound explicitly is skipped by
// the kernel's ephemeral port search for every other socket on the host, so binding ports
// inside net.ipv4.ip_local_port_range starves every other client (a broker connection fails
// with EADDRNOTAVAIL). The load generator takes the larger side outside that range.
import Foundation

public enum SourcePortRange {
    /// Ports below 1024 need privileges and belong to services.
    static let lowestPort: UInt16 = 1024
    /// Fewer ports than this per address and the range is not worth keeping clear of.
    static let smallestUsefulCount = 1000

    /// The larger run of ports outside the ephemeral range given as `/proc`'s "LOW HIGH" text;
    /// nil when the text is unreadable or too little room is left outside it.
    public static func outsideEphemeral(procText: String) -> ClosedRange<UInt16>? {
        let numbers = procText.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        guard numbers.count == 2, numbers[0] <= numbers[1] else { return nil }
        let below = numbers[0] - 1 >= Int(lowestPort) ? Int(lowestPort)...(numbers[0] - 1) : nil
        let above = numbers[1] + 1 <= Int(UInt16.max) ? (numbers[1] + 1)...Int(UInt16.max) : nil
        let best = [below, above].compactMap { $0 }.max { $0.count < $1.count }
        guard let best, best.count >= smallestUsefulCount else { return nil }
        return UInt16(best.lowerBound)...UInt16(best.upperBound)
    }

    /// This host's choice, falling back to `fallback` when the ephemeral range leaves no room.
    public static func forThisHost(fallback: ClosedRange<UInt16>) -> ClosedRange<UInt16> {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        return outsideEphemeral(procText: text) ?? fallback
    }
}
