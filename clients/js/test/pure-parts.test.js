// The client's socket-free parts: backoff, URL rotation, duplicate suppression, since, request ids.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  backoffDelay, urlForAttempt, normalizeUrls, fingerprint, DeliveryLedger, PendingRequests, StadiumError,
  ClientErrorCode,
} from "../stadium-client.js";

test("backoff doubles from initialMs and stops growing at maxMs", () => {
  const settings = { initialMs: 100, maxMs: 1000 };
  const highest = (attempt) => backoffDelay(attempt, settings, () => 1);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 60].map(highest), [100, 200, 400, 800, 1000, 1000, 1000]);
});

test("backoff jitter stays in the upper half of the ceiling", () => {
  const settings = { initialMs: 100, maxMs: 1000 };
  assert.equal(backoffDelay(3, settings, () => 0), 400);
  assert.equal(backoffDelay(3, settings, () => 0.5), 600);
  for (let draw = 0; draw < 200; draw++) {
    const delay = backoffDelay(2, settings);
    assert.ok(delay >= 200 && delay <= 400, `attempt 2 waited ${delay} ms, outside 200...400`);
  }
});

test("URLs are tried in turn and start over after the last", () => {
  const urls = ["ws://a/", "ws://b/", "ws://c/"];
  assert.deepEqual([0, 1, 2, 3, 4].map((index) => urlForAttempt(urls, index)),
    ["ws://a/", "ws://b/", "ws://c/", "ws://a/", "ws://b/"]);
});

test("urls may be one string or a list, and must be ws:// or wss://", () => {
  assert.deepEqual(normalizeUrls("ws://a/"), ["ws://a/"]);
  assert.deepEqual(normalizeUrls(["wss://a/", "ws://b:8080/"]), ["wss://a/", "ws://b:8080/"]);
  for (const bad of [[], "", "http://a/", ["ws://a/", 7], undefined]) {
    assert.throws(() => normalizeUrls(bad), TypeError, `accepted ${JSON.stringify(bad)}`);
  }
});

test("fingerprints are equal for equal data and differ for different data", () => {
  assert.equal(fingerprint({ id: "q-1", answers: [1, 2] }), fingerprint(JSON.parse('{"id":"q-1","answers":[1,2]}')));
  assert.notEqual(fingerprint({ id: "q-1" }), fingerprint({ id: "q-2" }));
  assert.notEqual(fingerprint("1"), fingerprint(1));
  assert.notEqual(fingerprint(null), fingerprint(""));
});

test("the ledger skips a message delivered before, the same seq with the same data", () => {
  const ledger = new DeliveryLedger();
  assert.equal(ledger.accept("/q", 5, { n: 5 }), true);
  assert.equal(ledger.accept("/q", 6, { n: 6 }), true);
  assert.equal(ledger.accept("/q", 5, { n: 5 }), false, "a replayed seq 5 was delivered twice");
  assert.equal(ledger.accept("/q", 6, { n: 6 }), false, "a replayed seq 6 was delivered twice");
  assert.equal(ledger.lastSeq("/q"), 6, "a skipped repeat moved since backwards");
  assert.equal(ledger.accept("/other", 5, { n: 5 }), true, "seqs of different subjects were mixed up");
});

test("the ledger delivers seqs that start over with new data (a new cluster, a restarted local gateway)", () => {
  const ledger = new DeliveryLedger();
  for (const seq of [0, 1, 2]) assert.equal(ledger.accept("/q", seq, { round: seq }), true);
  assert.equal(ledger.accept("/q", 0, { round: 10 }), true, "a new message under an old seq was dropped");
  assert.equal(ledger.lastSeq("/q"), 0, "since must follow the newest delivery, not the highest seq");
  assert.equal(ledger.accept("/q", 0, { round: 10 }), false);
});

test("the ledger delivers lower seqs with new data (a subject spread over partitions)", () => {
  const ledger = new DeliveryLedger();
  assert.equal(ledger.accept("/question", 40, { id: "a" }), true);
  assert.equal(ledger.accept("/question", 12, { id: "b" }), true);
  assert.equal(ledger.lastSeq("/question"), 12);
});

test("the ledger remembers at most `window` deliveries per subject", () => {
  const ledger = new DeliveryLedger(3);
  for (const seq of [1, 2, 3, 4]) ledger.accept("/q", seq, seq);
  assert.equal(ledger.accept("/q", 1, 1), true, "seq 1 fell out of a window of 3 and should count as new");
  assert.equal(ledger.accept("/q", 4, 4), false);
  assert.equal(ledger.subjects.get("/q").recent.size, 3);
});

test("since names the last seq of each subject that has one, or is null", () => {
  const ledger = new DeliveryLedger();
  assert.equal(ledger.since(["/a", "/b"]), null);
  ledger.accept("/a", 41, "x");
  ledger.accept("/c", 7, "y");
  assert.deepEqual(ledger.since(["/a", "/b", "/c"]), { "/a": 41, "/c": 7 });
  ledger.forget("/a");
  assert.deepEqual(ledger.since(["/a", "/c"]), { "/c": 7 });
  assert.equal(ledger.accept("/a", 41, "x"), true, "a forgotten subject still skipped its old message");
});

test("messages without a seq are always delivered", () => {
  const ledger = new DeliveryLedger();
  assert.equal(ledger.accept("/q", undefined, "x"), true);
  assert.equal(ledger.accept("/q", undefined, "x"), true);
  assert.equal(ledger.since(["/q"]), null);
});

test("replies settle the request with their id, and only that one", async () => {
  const pending = new PendingRequests();
  const first = pending.nextId();
  const second = pending.nextId();
  assert.notEqual(first, second);
  const firstReply = pending.register(first, { subject: "/a" });
  const secondReply = pending.register(second, { subject: "/b" });
  assert.equal(pending.settle({ op: "err", id: second, code: "forbidden", message: "may not publish to /b" }), true);
  await assert.rejects(secondReply, (error) => error instanceof StadiumError && error.code === "forbidden" &&
    error.subject === "/b" && error.requestId === second && /may not publish/.test(error.message));
  assert.equal(pending.size, 1);
  assert.equal(pending.settle({ op: "ok", id: first }), true);
  assert.deepEqual(await firstReply, { op: "ok", id: first });
  assert.equal(pending.settle({ op: "ok", id: first }), false, "a second reply to one id settled something");
  assert.equal(pending.settle({ op: "err", code: "token_expiring" }), false, "a reply without id settled something");
  assert.equal(pending.settle({ op: "ok", id: 999 }), false);
});

test("ids keep growing, so a reply can never answer a later request", () => {
  const pending = new PendingRequests();
  const ids = Array.from({ length: 5 }, () => pending.nextId());
  assert.deepEqual(ids, [1, 2, 3, 4, 5]);
});

test("failAll rejects every waiting request with the given code", async () => {
  const pending = new PendingRequests();
  const replies = [1, 2].map((id) => pending.register(id, { subject: `/s${id}` }));
  pending.failAll(ClientErrorCode.connectionLost, "dropped");
  for (const reply of replies) {
    await assert.rejects(reply, (error) => error.code === "connection_lost");
  }
  assert.equal(pending.size, 0);
});

test("an err without a code is treated as internal", async () => {
  const pending = new PendingRequests();
  const reply = pending.register(1);
  pending.settle({ op: "err", id: 1 });
  await assert.rejects(reply, (error) => error.code === "internal");
});

test("a subject without a key keeps a cursor: the ok's positions, then each live message's partition and seq", () => {
  const ledger = new DeliveryLedger();
  ledger.adoptPositions("/question", { 0: 40, 1: -1, 2: 17 });
  assert.equal(ledger.accept("/question", 40, { id: "q40" }, 0, true), true);
  assert.deepEqual(ledger.cursor("/question"), { 0: 40, 1: -1, 2: 17 }, "a retained message moved the cursor");
  assert.equal(ledger.accept("/question", 3, { id: "q3" }, 1), true);
  assert.equal(ledger.accept("/question", 41, { id: "q41" }, 0), true);
  assert.deepEqual(ledger.since(["/question"]), { "/question": { 0: 41, 1: 3, 2: 17 } });
  ledger.adoptPositions("/question", { 0: 90, 1: 90, 2: 90 });
  assert.deepEqual(ledger.cursor("/question"), { 0: 41, 1: 3, 2: 17 }, "a resume's ok replaced the cursor it resumed from");
});

test("the same offset in two partitions is two records, and a live repeat of the retained one moves the cursor", () => {
  const ledger = new DeliveryLedger();
  ledger.adoptPositions("/question", { 0: 4, 1: 4 });
  assert.equal(ledger.accept("/question", 5, { same: true }, 0, true), true);
  assert.equal(ledger.accept("/question", 5, { same: true }, 1), true, "offset 5 of partition 1 was taken for partition 0's");
  assert.equal(ledger.accept("/question", 5, { same: true }, 0), false);
  assert.deepEqual(ledger.cursor("/question"), { 0: 5, 1: 5 });
});

test("since mixes cursors and seqs, and the cursor is a copy", () => {
  const ledger = new DeliveryLedger();
  ledger.adoptPositions("/question", { 0: 1 });
  ledger.accept("/result/al", 7, "r");
  const since = ledger.since(["/question", "/result/al"]);
  assert.deepEqual(since, { "/question": { 0: 1 }, "/result/al": 7 });
  since["/question"][0] = 99;
  assert.deepEqual(ledger.cursor("/question"), { 0: 1 });
});
