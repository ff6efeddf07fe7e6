// Delivery to one ring's subscribers: a sub's first messages (retained, or resumed from
// history or Kafka), live messages, lagging subscriptions fed from history as the socket
// drains, backlogs, and the slow-reader policy. Runs on the ring's thread only.
import StadiumProtocol
import UringIO
import WebSocket

extension GatewayRing {
    // MARK: - Subscriptions

    /// Joins the subjects of a `sub` this connection does not hold yet, unless that passes
    /// `limit` (nil); they wait in `joining` for `startDelivery`, after the sub's ok. Returns
    /// the positions of those without a key, per partition, for the ok.
    func subscribe(_ loop: RingLoop, slot: UInt32, _ names: [String], limit: Int) -> [String: [Int32: Int64]]? {
        joining.removeAll(keepingCapacity: true)
        let newCount = names.count { name in
            guard let subject = hub.subjects.existingID(for: name) else { return true }
            return !subscriptions.isSubscribed(slot, to: subject)
        }
        guard subscriptions.count(of: slot) + newCount <= limit else { return nil }
        var positions: [String: [Int32: Int64]] = [:]
        for name in names {
            let subject = hub.subjects.join(name, ring: loop.index)
            if subscriptions.add(slot, to: subject) {
                var positionsAt: UInt64?
                if let recovery = hub.recovery, let partitions = Self.cursorPartitions(of: name, recovery.planner) {
                    let snapshot = hub.subjects.positions(subject, partitions: partitions, startOffsets: recovery.planner.startOffsets)
                    positions[name] = snapshot.positions
                    positionsAt = snapshot.version
                }
                joining.append((subject, name, positionsAt))
            } else {
                hub.subjects.leave(subject)  // it held this one already
            }
        }
        metrics.subscriptions.increment(by: Double(joining.count))
        return positions
    }

    /// The partitions of a subject without a key whose topic this gateway reads; nil for a keyed one.
    static func cursorPartitions(of name: String, _ planner: RecoveryPlanner) -> Int32? {
        let (topic, key) = SubjectMapping.topicAndKey(for: name)
        guard key == nil, let partitions = planner.partitionCounts[topic], partitions > 0 else { return nil }
        return partitions
    }

    /// A reconnecting subscriber gets what it missed; a new one the latest message, marked retained.
    func startDelivery(_ loop: RingLoop, slot: UInt32, since: [String: Int64], cursors: [String: [Int32: Int64]]) {
        var resuming = false
        for (subject, name, positionsAt) in joining {
            if let cursor = cursors[name] {
                resumeCursor(loop, slot: slot, subject: subject, name: name, cursor: cursor)
                resuming = true
                continue
            }
            if let lastSeen = since[name] {
                let coverage = hub.subjects.memoryCoverage(subject)
                if !resumeFromKafka(loop, slot: slot, subject: subject, name: name, afterSeq: lastSeen, coverage: coverage) {
                    resumeFromHistory(
                        loop, slot: slot, subject: subject, name: name, afterSeq: lastSeen, learnedPartition: coverage.partition)
                }
                resuming = true
                continue
            }
            guard let retained = hub.subjects.retained(subject) else { continue }
            let version = retained.version
            if let positionsAt, version > positionsAt, hub.subjects.seq(subject, atVersion: positionsAt + 1) != nil {
                // Messages came after the ok's positions were taken: they follow from history, the
                // newest among them too, so it is not also sent as the retained message (twice).
                subscriptions.startLagging(slot, on: subject, after: positionsAt)
                resuming = true
            } else {
                enqueue(loop, slot: slot, retained.frame)
                subscriptions.noteRetainedSent(slot, subject: subject, version: version)
            }
        }
        joining.removeAll(keepingCapacity: true)
        if resuming, sendBacklog(loop, slot: slot) { feedFromHistory(loop, slot: slot) }
    }

    func unsubscribe(slot: UInt32, _ names: [String]) {
        for name in names {
            if let subject = hub.subjects.existingID(for: name), subscriptions.remove(slot, from: subject) {
                stopRecovering(slot, subject)
                setSeqFloor(slot, subject, nil)
                setCursorResume(slot, subject, nil)
                hub.subjects.leave(subject)
                metrics.subscriptions.decrement()
            }
        }
    }

    /// A closed connection's subscriptions, backlog, recoveries and floors.
    func forgetDelivery(_ slot: UInt32) {
        let count = subscriptions.count(of: slot)
        if count > 0 { metrics.subscriptions.decrement(by: Double(count)) }
        dropBacklog(slot)
        recovering[slot] = nil
        seqFloors[slot] = nil
        cursorResumes[slot] = nil
        for subject in subscriptions.removeAll(slot) { hub.subjects.leave(subject) }
    }

    // MARK: - Resume with since

    /// The gap (if messages after `afterSeq` are gone), then a position in the subject's history
    /// from which the held messages after it stream at the socket's pace, before the live ones.
    func resumeFromHistory(
        _ loop: RingLoop, slot: UInt32, subject: SubjectID, name: String, afterSeq: Int64, learnedPartition: Int32?
    ) {
        stopRecovering(slot, subject)
        let (gap, after) = hub.subjects.resumePoint(subject, afterSeq: afterSeq)
        if let gap {
            metrics.count(.historyGap)
            guard let frame = encodeOrClose(loop, slot: slot, .gap(subject: name, from: gap.lowerBound, to: gap.upperBound))
            else { return }
            enqueue(loop, slot: slot, frame)
        }
        subscriptions.startLagging(slot, on: subject, after: after)
        // This gateway has not read as far as the client has: what comes up to its since is not news.
        var floor: Int64?
        if let recovery = hub.recovery,
           let partition = recovery.planner.partition(of: name, learned: learnedPartition),
           let next = recovery.nextToDeliver(partition), next <= afterSeq {
            floor = afterSeq
        }
        setSeqFloor(slot, subject, floor)
    }

    func setSeqFloor(_ slot: UInt32, _ subject: SubjectID, _ floor: Int64?) {
        Self.set(&seqFloors, slot, subject, floor)
    }

    /// Sets or clears a connection's value for a subject; a connection with none left costs nothing.
    static func set<Value>(_ table: inout [UInt32: [UInt32: Value]], _ slot: UInt32, _ subject: SubjectID, _ value: Value?) {
        if let value {
            table[slot, default: [:]][subject.rawValue] = value
        } else if table[slot] != nil {
            table[slot]![subject.rawValue] = nil
            if table[slot]!.isEmpty { table[slot] = nil }
        }
    }

    /// When this gateway's memory does not reach back to `afterSeq` (it started later, another
    /// instance served the client, or its history let go), asks Kafka for the records in
    /// between; the subscription waits for them, then goes on from history. False: memory has all.
    func resumeFromKafka(
        _ loop: RingLoop, slot: UInt32, subject: SubjectID, name: String, afterSeq: Int64,
        coverage: (partition: Int32?, evictedThrough: Int64?)
    ) -> Bool {
        guard let recovery = hub.recovery else { return false }
        guard let plan = recovery.planner.plan(
            subject: name, afterSeq: afterSeq, learnedPartition: coverage.partition, evictedThrough: coverage.evictedThrough,
            forgottenThrough: hub.subjects.forgottenThrough)
        else { return false }
        subscriptions.startLagging(slot, on: subject, after: 0)
        recovering[slot, default: [:]][subject.rawValue] = nextRecoveryRequest
        recovery.submit(KafkaRecovery.Request(
            plan: plan, subject: subject, subjectName: name, ring: index, slot: slot, connection: connectionIDs[Int(slot)],
            id: nextRecoveryRequest))
        nextRecoveryRequest += 1
        return true
    }

    /// A subject without a key resumed with a cursor: per partition, what memory does not hold
    /// after the cursor is read from Kafka first (all partitions before history), then the
    /// subscription reads history passing over what the client has, and goes live once nothing
    /// still to come lies at or below its cursor.
    func resumeCursor(_ loop: RingLoop, slot: UInt32, subject: SubjectID, name: String, cursor: [Int32: Int64]) {
        stopRecovering(slot, subject)
        guard let recovery = hub.recovery, let partitions = Self.cursorPartitions(of: name, recovery.planner) else {
            // Without Kafka (or its topic) there are no partitions to place the cursor in.
            appendGap(loop, slot: slot, subject: name, 0...Int64.max)
            subscriptions.startLagging(slot, on: subject, after: hub.subjects.positions(subject, partitions: 0, startOffsets: [:]).version)
            return
        }
        let coverage = hub.subjects.cursorCoverage(subject, partitions: partitions, startOffsets: recovery.planner.startOffsets)
        let (plans, floors) = recovery.planner.cursorPlan(
            subject: name, cursor: cursor, positions: coverage.positions, evictedThrough: coverage.evictedThrough,
            forgottenThrough: hub.subjects.forgottenThrough)
        subscriptions.startLagging(slot, on: subject, after: 0)
        setCursorResume(slot, subject, CursorResume(floors: floors, waiting: plans.count))
        guard !plans.isEmpty else {
            continueCursor(loop, slot: slot, subject: subject, name: name)
            return
        }
        recovering[slot, default: [:]][subject.rawValue] = nextRecoveryRequest
        for plan in plans {
            recovery.submit(KafkaRecovery.Request(
                plan: plan, subject: subject, subjectName: name, ring: index, slot: slot, connection: connectionIDs[Int(slot)],
                id: nextRecoveryRequest))
        }
        nextRecoveryRequest += 1
    }

    /// After a cursor's reads from Kafka: gaps for what history let go of past the floors, and the
    /// subscription's place in history.
    func continueCursor(_ loop: RingLoop, slot: UInt32, subject: SubjectID, name: String) {
        guard let resume = cursorResumes[slot]?[subject.rawValue] else { return }
        let (gaps, after) = hub.subjects.cursorContinuation(subject, floors: resume.floors)
        for (partition, gap) in gaps.sorted(by: { $0.key < $1.key }) {
            appendGap(loop, slot: slot, subject: name, partition: partition, gap)
        }
        subscriptions.advance(slot, on: subject, to: after)
    }

    func setCursorResume(_ slot: UInt32, _ subject: SubjectID, _ resume: CursorResume?) {
        Self.set(&cursorResumes, slot, subject, resume)
    }

    /// Records read back from Kafka go out first (after a gap for any Kafka no longer has), then
    /// the subscription reads on from history right after the last offset Kafka gave.
    func continueAfterRecovery(_ loop: RingLoop, _ delivery: KafkaRecovery.Delivery) {
        let slot = delivery.slot
        // An answer for a connection or subscription that is gone, or superseded by a newer sub.
        let current = connectionIDs[Int(slot)] == delivery.connection
            && recovering[slot]?[delivery.subject.rawValue] == delivery.id
        // A cursor waits for one read per partition; it goes on from history after the last.
        var cursor = cursorResumes[slot]?[delivery.subject.rawValue]
        if current, cursor != nil {
            cursor!.waiting -= 1
            setCursorResume(slot, delivery.subject, cursor)
        }
        let readsLeft = cursor?.waiting ?? 0
        if current && readsLeft == 0 { stopRecovering(slot, delivery.subject) }
        guard current, loop.isOpen(slot: slot), subscriptions.isLagging(slot, on: delivery.subject) else {
            for frame in delivery.frames { hub.frames.release(frame) }
            return
        }
        let name = hub.subjects.name(of: delivery.subject) ?? ""
        if let gap = delivery.gap { appendGap(loop, slot: slot, subject: name, partition: cursor.map { _ in delivery.partition }, gap) }
        for frame in delivery.frames { appendToBacklog(slot, OwnedFrame(adopting: frame, from: hub.frames)) }
        metrics.messagesReplayed.increment(by: Int64(delivery.frames.count))
        if cursor != nil {
            guard readsLeft == 0 else { return }
            continueCursor(loop, slot: slot, subject: delivery.subject, name: name)
        } else {
            let (gap, after) = hub.subjects.continuation(delivery.subject, afterSeq: delivery.through)
            if let gap { appendGap(loop, slot: slot, subject: name, gap) }
            subscriptions.advance(slot, on: delivery.subject, to: after)
        }
        if sendBacklog(loop, slot: slot) { feedFromHistory(loop, slot: slot) }
    }

    func stopRecovering(_ slot: UInt32, _ subject: SubjectID) {
        guard recovering[slot] != nil else { return }
        recovering[slot]![subject.rawValue] = nil
        if recovering[slot]!.isEmpty { recovering[slot] = nil }
    }

    func appendGap(_ loop: RingLoop, slot: UInt32, subject: String, partition: Int32? = nil, _ gap: ClosedRange<Int64>) {
        metrics.count(.historyGap)
        let reply = Reply.gap(subject: subject, partition: partition, from: gap.lowerBound, to: gap.upperBound)
        guard let frame = encodeOrClose(loop, slot: slot, reply)
        else { return }
        appendToBacklog(slot, frame)
    }

    /// Puts a frame at the end of the connection's backlog, which releases it once sent or dropped.
    func appendToBacklog(_ slot: UInt32, _ frame: consuming OwnedFrame) {
        backlogs[slot, default: Backlog()].frames.append(frame.handOver())
    }

    // MARK: - Lagging subscriptions

    /// Live messages fill at most half the send queue; the rest is kept for replies.
    var liveQueueFrames: Int { max(1, configuration.sendQueueFrames / 2) }
    var liveQueueBytes: Int { configuration.sendQueueBytes / 2 }

    /// Queues a live message, or returns false when the connection's share of its queue is
    /// taken: the subscription then reads on from the subject's history as the socket drains.
    func offerLive(_ loop: RingLoop, slot: UInt32, _ frame: borrowing OwnedFrame) -> Bool {
        guard loop.isOpen(slot: slot) else { return true }
        if loop.queuedFrames(slot: slot) >= liveQueueFrames || loop.queuedBytes(slot: slot) >= liveQueueBytes
            || hasBacklog(slot) {
            metrics.subscriptionsFellBehind.increment()
            loop.notifyWhenDrained(slot: slot)
            return false
        }
        enqueue(loop, slot: slot, frame)
        return true
    }

    /// Tops up a lagging connection's queue from the histories of the subjects it lags on, in
    /// order from each one's position; a subscription that reaches the newest message goes live.
    func feedFromHistory(_ loop: RingLoop, slot: UInt32) {
        guard loop.isOpen(slot: slot), !hasBacklog(slot) else { return }
        for (subject, after) in historyPositions(of: slot) {
            let roomFrames = liveQueueFrames - loop.queuedFrames(slot: slot)
            let roomBytes = liveQueueBytes - loop.queuedBytes(slot: slot)
            guard roomFrames > 0, roomBytes > 0 else { break }
            let floor = seqFloors[slot]?[subject.rawValue]
            let read: SubjectHistory<FrameHandle>.Read
            // A cursor reader goes live only once nothing still to come lies at or below its cursor.
            var settled = true
            if let floors = cursorResumes[slot]?[subject.rawValue]?.floors, let recovery = hub.recovery {
                (read, settled) = hub.subjects.read(
                    subject, after: after, maxFrames: roomFrames, maxBytes: roomBytes, cursorFloors: floors,
                    startOffsets: recovery.planner.startOffsets)
                if settled { setCursorResume(slot, subject, nil) }
            } else {
                read = hub.subjects.read(subject, after: after, maxFrames: roomFrames, maxBytes: roomBytes, skipThroughSeq: floor)
            }
            switch read {
            case .caughtUp:
                // With a floor this gateway has not yet read up to the client's since: wait on history.
                if floor == nil && settled { subscriptions.caughtUp(slot, on: subject, version: after) }
            case .outOfHistory:
                dropFellOutOfHistory(loop, slot: slot)
                return
            case .frames(let frames, let through, let caughtUp):
                metrics.messagesReplayed.increment(by: Int64(frames.count))
                for held in frames {
                    enqueue(loop, slot: slot, OwnedFrame(adopting: held, from: hub.frames))
                }
                var pastFloor = settled
                if let floor {
                    pastFloor = (hub.subjects.seq(subject, atVersion: through) ?? .min) >= floor
                    if pastFloor { setSeqFloor(slot, subject, nil) }
                }
                if caughtUp && pastFloor {
                    subscriptions.caughtUp(slot, on: subject, version: through)
                } else {
                    subscriptions.advance(slot, on: subject, to: through)
                }
            }
        }
        if loop.isOpen(slot: slot) && !historyPositions(of: slot).isEmpty {
            loop.notifyWhenDrained(slot: slot)
        }
    }

    /// The subjects `slot` reads from history now, with its position in each: those waiting for
    /// records from Kafka come after them and are left out until the records are in its backlog.
    func historyPositions(of slot: UInt32) -> [(subject: SubjectID, after: UInt64)] {
        let positions = subscriptions.lagPositions(of: slot)
        guard let waitingForKafka = recovering[slot] else { return positions }
        return positions.filter { waitingForKafka[$0.subject.rawValue] == nil }
    }

    /// Once a second: closes lagging connections that are too far behind (a client that stopped
    /// reading ends here), and feeds any whose drain notice did not come.
    func sweepLagging(_ loop: RingLoop) {
        let policy = SlowReaderPolicy(configuration)
        let now = hub.subjects.now
        // Connections reading from history, and those with a backlog (replies, records from Kafka).
        let behind = Set(subscriptions.laggingSlots).union(backlogs.keys)
        for slot in behind where loop.isOpen(slot: slot) {
            var lag = ReaderLag(pendingBytes: loop.queuedBytes(slot: slot) + backlogBytes(slot))
            for (subject, after) in historyPositions(of: slot) {
                guard let subjectLag = hub.subjects.lag(subject, after: after) else {
                    lag.noteMissedHistory()
                    break
                }
                lag.add(bytes: subjectLag.bytes, oldestAt: subjectLag.oldestAt)
            }
            switch policy.judge(lag, now: now) {
            case .drop(let kind, let reason):
                metrics.count(kind)
                closeBehind(loop, slot: slot, reason: reason)
            case .keep:
                if loop.queuedFrames(slot: slot) <= loop.drainLowWater, sendBacklog(loop, slot: slot) {
                    feedFromHistory(loop, slot: slot)
                }
            }
        }
    }

    func dropFellOutOfHistory(_ loop: RingLoop, slot: UInt32) {
        metrics.count(.fellOutOfHistory)
        closeBehind(loop, slot: slot, reason: SlowReaderPolicy.fellOutOfHistoryReason)
    }

    /// What it has not read is lost to it (it may resume with since); the close frame goes
    /// next, so a client that reads again learns why it was dropped.
    func closeBehind(_ loop: RingLoop, slot: UInt32, reason: String) {
        loop.discardQueued(slot: slot)
        var sink = RingSink(ring: self, loop: loop, slot: slot)
        sink.closeWebSocket(code: .policyViolation, reason: reason, writer: rules.writer)
    }

    /// A frame `encode` builds for this connection, or nil when it could not be (and the connection is closed).
    func encodeOrClose(_ loop: RingLoop, slot: UInt32, _ reply: Reply) -> OwnedFrame? {
        var sink = RingSink(ring: self, loop: loop, slot: slot)
        return sink.encodeOrClose(reply, writer: rules.writer)
    }

    // MARK: - Sending

    /// Moves the backlog into the send queue while it has room; true when none is left.
    func sendBacklog(_ loop: RingLoop, slot: UInt32) -> Bool {
        guard var backlog = backlogs.removeValue(forKey: slot) else { return true }
        while backlog.head < backlog.frames.count,
              loop.send(slot: slot, frame: wireForm(backlog.frames[backlog.head], slot: slot)) == .queued {
            hub.frames.release(backlog.frames[backlog.head])
            backlog.head += 1
        }
        if backlog.head == backlog.frames.count { return true }
        if backlog.head > 1024 && backlog.head * 2 > backlog.frames.count {
            backlog.frames.removeFirst(backlog.head)
            backlog.head = 0
        }
        backlog.replies = min(backlog.replies, backlog.frames.count - backlog.head)
        backlogs[slot] = backlog
        loop.notifyWhenDrained(slot: slot)
        return false
    }

    /// Bytes waiting in a connection's backlog (counted against --max-lag-bytes).
    func backlogBytes(_ slot: UInt32) -> Int {
        guard let backlog = backlogs[slot] else { return 0 }
        return backlog.waiting.reduce(0) { $0 + hub.frames.bytes($1).count }
    }

    func dropBacklog(_ slot: UInt32) {
        guard let backlog = backlogs.removeValue(forKey: slot) else { return }
        for frame in backlog.waiting { hub.frames.release(frame) }
    }
}
