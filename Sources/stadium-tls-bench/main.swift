// Module-level figures for StadiumTLS (not the gateway): server handshakes per second of one
// core's CPU, what a connection keeps after its handshake, and sealing and opening rates.
// Usage: stadium-tls-bench CHAIN.pem KEY.pem CA.pem [handshakes] [kept-connections]
import Glibc
import StadiumTLS

let arguments = CommandLine.arguments
guard arguments.count >= 4 else {
    print("usage: stadium-tls-bench CHAIN.pem KEY.pem CA.pem [handshakes=2000] [kept=10000]")
    exit(2)
}
let handshakes = arguments.count > 4 ? Int(arguments[4]) ?? 2000 : 2000
let kept = arguments.count > 5 ? Int(arguments[5]) ?? 10000 : 10000

let serverContext = try TLSContext.server(TLSServerFiles(certificateChain: arguments[1], privateKey: arguments[2]))
let clientContext = try TLSContext.client(caFile: arguments[3])
let crypto = try TLSRecordCrypto()

/// CPU seconds this thread has used.
func threadCPU() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// Resident set size in bytes, from /proc/self/statm (its second field, in pages).
func residentBytes() -> Int {
    guard let file = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    guard fgets(&line, Int32(line.count), file) != nil else { return 0 }
    let fields = String(cString: line).split(separator: " ")
    guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// RSS growth per item while `count` items are made (and kept) by `make`.
func residentGrowth(_ count: Int, _ make: (Int) throws -> Void) throws -> Int {
    let before = residentBytes()
    for index in 0..<count { try make(index) }
    return (residentBytes() - before) / count
}

/// `value` with `digits` decimals, without Foundation.
func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    guard digits > 0 else { return String(scaled) }
    let whole = scaled / Int(scale)
    let fraction = String(scaled % Int(scale))
    return "\(whole)." + String(repeating: "0", count: digits - fraction.count) + fraction
}

/// One connection's handshake between two stages in memory, as the gateway and stadium-load
/// would hold them; the server side's CPU time is added to `serverCPU`.
func connect(tls12: Bool = false, serverCPU: inout Double) throws -> (client: TLSStage, server: TLSStage) {
    let clientHandshake = try TLSHandshake(context: clientContext, serverName: "localhost")
    if tls12, !clientHandshake.restrictToTLS12() { fatalError("cannot restrict the client to TLS 1.2") }
    var client = TLSStage(handshake: clientHandshake)
    var start = threadCPU()
    var server = TLSStage(handshake: try TLSHandshake(context: serverContext))
    serverCPU += threadCPU() - start
    var toServer: [UInt8] = []
    var toClient: [UInt8] = []
    try client.start(send: &toServer)
    var serverStatus = TLSStageStatus.handshaking
    while !toServer.isEmpty || !toClient.isEmpty {
        var input = toServer
        toServer = []
        start = threadCPU()
        serverStatus = try input.withUnsafeMutableBytes { try server.receive($0, crypto: crypto, send: &toClient) { _ in } }
        serverCPU += threadCPU() - start
        input = toClient
        toClient = []
        _ = try input.withUnsafeMutableBytes { try client.receive($0, crypto: crypto, send: &toServer) { _ in } }
    }
    guard serverStatus == .open else { fatalError("the handshake did not finish") }
    return (client, server)
}

// Handshakes: the server's CPU only (the client's runs on the same thread and is not counted).
var serverCPU = 0.0
let wallStart = threadCPU()
for _ in 0..<handshakes { _ = try connect(serverCPU: &serverCPU) }
let totalCPU = threadCPU() - wallStart
print("TLS 1.3 handshakes (X25519): \(handshakes)")
let serverRate = Double(handshakes) / serverCPU
let serverMicros = serverCPU / Double(handshakes) * 1e6
print("  server side: \(fixed(serverRate, 0)) handshakes per CPU second (\(fixed(serverMicros, 1)) us each)")
print("  client and server together: \(fixed(Double(handshakes) / totalCPU, 0)) per CPU second")

// Memory kept per connection after the handshake: a TLS 1.3 stage holds keys, no SSL.
print("MemoryLayout<TLS13RecordState>: size \(MemoryLayout<TLS13RecordState>.size), stride \(MemoryLayout<TLS13RecordState>.stride)")
print("MemoryLayout<TLSStage> (state, assembler, ALPN, version): stride \(MemoryLayout<TLSStage>.stride)")
var ignoredCPU = 0.0
var kept13: [TLSStage] = []
kept13.reserveCapacity(kept)
let perTLS13 = try residentGrowth(kept) { _ in kept13.append(try connect(serverCPU: &ignoredCPU).server) }
print("TLS 1.3: RSS grew \(perTLS13) bytes per kept server stage over \(kept) (the stage included)")

// TLS 1.2 keeps its SSL object (with SSL_MODE_RELEASE_BUFFERS): what OpenSSL holds per connection.
var kept12: [TLSStage] = []
kept12.reserveCapacity(kept / 10)
let perTLS12 = try residentGrowth(kept / 10) { _ in kept12.append(try connect(tls12: true, serverCPU: &ignoredCPU).server) }
print("TLS 1.2: RSS grew \(perTLS12) bytes per kept server stage over \(kept / 10)")

// Handshakes in flight: servers that answered a ClientHello and wait for the client's Finished.
var waiting: [TLSStage] = []
waiting.reserveCapacity(kept / 10)
let perWaiting = try residentGrowth(kept / 10) { _ in
    var client = TLSStage(handshake: try TLSHandshake(context: clientContext, serverName: "localhost"))
    var server = TLSStage(handshake: try TLSHandshake(context: serverContext))
    var hello: [UInt8] = []
    var reply: [UInt8] = []
    try client.start(send: &hello)
    _ = try hello.withUnsafeMutableBytes { try server.receive($0, crypto: crypto, send: &reply) { _ in } }
    waiting.append(server)
}
print("Handshakes in flight: RSS grew \(perWaiting) bytes per server awaiting Finished over \(kept / 10)")
waiting.removeAll()

// Records: a 100-byte message sealed by one end and opened by the other, through one crypto.
var (opener, sealer) = try connect(serverCPU: &ignoredCPU)
let message = [UInt8](repeating: 0x41, count: 100)
let recordLength = sealer.sealedLength(plaintextCount: message.count)
let records = 200_000
var wire = [UInt8](repeating: 0, count: records * recordLength)
var start = threadCPU()
try message.withUnsafeBytes { input in
    try wire.withUnsafeMutableBytes { buffer in
        for index in 0..<records {
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[(index * recordLength)..<((index + 1) * recordLength)])
            _ = try sealer.seal(input, into: slice, crypto: crypto)
        }
    }
}
let sealCPU = threadCPU() - start
var unused: [UInt8] = []
start = threadCPU()
try wire.withUnsafeMutableBytes { buffer in
    for index in 0..<records {
        let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[(index * recordLength)..<((index + 1) * recordLength)])
        _ = try opener.receive(slice, crypto: crypto, send: &unused) { _ in }
    }
}
let openCPU = threadCPU() - start
withExtendedLifetime((kept13, kept12)) {}
let sealRate = Double(records) / sealCPU / 1e6
let openRate = Double(records) / openCPU / 1e6
print("100-byte records (TLS_AES_128_GCM_SHA256, through TLSStage): seal \(fixed(sealRate, 2)) M/s, open \(fixed(openRate, 2)) M/s per core")
