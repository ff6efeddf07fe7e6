/// What bots keep of the quiz records they read (QuizRecords decodes them), and the fan-out probe.
import QuizRecords
import StadiumProtocol

/// A question on /question: `{"id","question","answers":[...],"deadline_ms","points",...}`.
public struct QuestionOffer: Equatable, Sendable {
    /// The `id` value exactly as published (string or number), echoed back in answers.
    public let idJSON: [UInt8]
    public let text: String
    public let answerCount: Int
    /// Wall-clock milliseconds after which answers score nothing.
    public let deadlineMs: Int64
    /// When the processors published it (wall-clock ms), if they said.
    public let publishedMs: Int64?
    /// The quiz's round counter (one more per question), if the question carries it: a
    /// player who skips a number missed a question.
    public let round: Int64?

    public init(idJSON: [UInt8], text: String, answerCount: Int, deadlineMs: Int64, publishedMs: Int64?, round: Int64? = nil) {
        self.idJSON = idJSON
        self.text = text
        self.answerCount = answerCount
        self.deadlineMs = deadlineMs
        self.publishedMs = publishedMs
        self.round = round
    }

    /// Nil when the data is not a question record with answers.
    public init?(data bytes: RawSpan, range: Range<Int>) {
        let record = try? QuestionRecord(json: bytes, range: range)
        guard let record, !record.answers.isEmpty else { return nil }
        self.init(
            idJSON: jsonString(record.id), text: record.question, answerCount: record.answers.count,
            deadlineMs: record.deadlineMs, publishedMs: record.publishedMs, round: Int64(record.round))
    }
}

/// A result on /result/<user>: `{"question_id","answer","correct_answer","points","total"}`.
public struct ResultNotice: Equatable, Sendable {
    public let questionIDJSON: [UInt8]
    public let answer: Int64
    public let correctAnswer: Int64
    public let points: Int64
    public let total: Int64

    public init(questionIDJSON: [UInt8], answer: Int64, correctAnswer: Int64, points: Int64, total: Int64) {
        self.questionIDJSON = questionIDJSON
        self.answer = answer
        self.correctAnswer = correctAnswer
        self.points = points
        self.total = total
    }

    public init?(data bytes: RawSpan, range: Range<Int>) {
        guard let record = try? ResultRecord(json: bytes, range: range) else { return nil }
        self.init(
            questionIDJSON: jsonString(record.questionID), answer: Int64(record.answer),
            correctAnswer: Int64(record.correctAnswer), points: record.points, total: record.total)
    }

    public var isCorrect: Bool { answer == correctAnswer }
}

/// A fan-out probe published by `--mode fanout`:
/// `{"n":<index>,"scheduled_ms":<when it was due>,"sent_ms":<when it went out>}` (wall-clock ms).
public struct FanoutProbe: Equatable, Sendable {
    public let index: Int
    /// When the schedule said to send it: delivery latency counts from here.
    public let scheduledMs: Int64
    public let sentMs: Int64

    public init(index: Int, scheduledMs: Int64, sentMs: Int64) {
        self.index = index
        self.scheduledMs = scheduledMs
        self.sentMs = sentMs
    }

    /// Reads the probe's members up to the last of the three it needs: the envelope's parse has
    /// already checked the whole value, and a 1 KB probe's padding need not be scanned twice.
    public init?(data bytes: RawSpan, range: Range<Int>) {
        var index: Int64?
        var scheduled: Int64?
        var sent: Int64?
        var scanner = JSONScanner(bytes, range: range)
        do throws(JSONSyntaxError) {
            guard try scanner.beginObject() else { return nil }
            while index == nil || scheduled == nil || sent == nil, let member = try scanner.nextMember() {
                if member.name.isString("n", in: bytes) { index = member.value.int64(in: bytes) }
                else if member.name.isString("scheduled_ms", in: bytes) { scheduled = member.value.int64(in: bytes) }
                else if member.name.isString("sent_ms", in: bytes) { sent = member.value.int64(in: bytes) }
            }
        } catch {
            return nil
        }
        guard let index, index >= 0, let scheduled, let sent else { return nil }
        self.init(index: Int(index), scheduledMs: scheduled, sentMs: sent)
    }

    /// True for a probe due before `startMs`: one written for an earlier run, not to be counted in this one.
    public func wasScheduled(before startMs: Int64) -> Bool {
        scheduledMs < startMs
    }

    /// From the scheduled send to `receivedMs`: a publisher that fell behind its schedule
    /// adds its lateness to every delivery instead of hiding it (coordinated omission).
    public func deliveryLatencyMs(receivedMs: Int64) -> Int64 {
        receivedMs - scheduledMs
    }

    public var json: [UInt8] { json(paddingBytes: 0) }

    /// The probe with a `pad` member of `paddingBytes` filler characters (larger messages).
    public func json(paddingBytes: Int) -> [UInt8] {
        let fields = "{\"n\":\(index),\"scheduled_ms\":\(scheduledMs),\"sent_ms\":\(sentMs)"
        guard paddingBytes > 0 else { return Array((fields + "}").utf8) }
        return Array((fields + ",\"pad\":\"" + String(repeating: "x", count: paddingBytes) + "\"}").utf8)
    }
}

/// When each fan-out probe is due: the first when publishing starts, then one every interval.
/// Latencies count from these times rather than from the actual sends, as wrk2 does, so a
/// publisher held up by a late tick or a full queue cannot make the figures look better.
public struct ProbeSchedule: Equatable, Sendable {
    public let startMs: Int64
    public let intervalMs: Int64
    public let count: Int

    public init(startMs: Int64, intervalMs: Int64, count: Int) {
        self.startMs = startMs
        self.intervalMs = max(1, intervalMs)
        self.count = count
    }

    public func scheduledMs(ofProbe index: Int) -> Int64 {
        startMs + Int64(index) * intervalMs
    }

    /// The probes due `elapsedMs` after the start by a clock that is never stepped (the
    /// monotonic one), not published yet: what the publisher releases.
    public func due(elapsedMs: Int64, published: Int) -> Range<Int> {
        due(atMs: startMs + elapsedMs, published: published)
    }

    /// The probes due by `nowMs` that are not published yet (`published` went out already).
    public func due(atMs nowMs: Int64, published: Int) -> Range<Int> {
        guard nowMs >= startMs else { return published..<published }
        let dueCount = Int(min(Int64(count), (nowMs - startMs) / intervalMs + 1))
        return published..<max(published, dueCount)
    }
}

/// A question id as JSON, as an answer echoes it back: bots key their rounds by these bytes.
private func jsonString(_ text: String) -> [UInt8] {
    var json: [UInt8] = []
    json.appendJSON { $0.appendString(text) }
    return json
}
