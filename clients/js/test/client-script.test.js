// StadiumClient against a scripted WebSocket: the test plays the gateway frame by frame, so
// what the client sends and delivers at each step is checked without timing luck.
import { test } from "node:test";
import assert from "node:assert/strict";
import { StadiumClient } from "../stadium-client.js";
import { EventLog } from "./support.js";

/** Builds a WebSocket class whose sockets the test opens, feeds and drops. */
function scriptedWebSockets() {
  const sockets = new EventLog("sockets");
  class ScriptedWebSocket extends EventTarget {
    constructor(url, protocol) {
      super();
      this.url = url;
      this.protocol = protocol;
      this.sent = new EventLog(`frames sent to ${url}`);
      this.closedByClient = false;
      sockets.push(this);
    }

    send(text) {
      this.sent.push(JSON.parse(text));
    }

    close() {
      this.closedByClient = true;
    }

    open() {
      this.dispatchEvent(new Event("open"));
    }

    receive(frame) {
      this.dispatchEvent(Object.assign(new Event("message"), { data: JSON.stringify(frame) }));
    }

    drop(code = 1006, reason = "") {
      this.dispatchEvent(Object.assign(new Event("close"), { code, reason }));
    }
  }
  return { ScriptedWebSocket, sockets };
}

function scriptedClient(options = {}) {
  const { ScriptedWebSocket, sockets } = scriptedWebSockets();
  const errors = [];
  const client = new StadiumClient({
    urls: ["ws://first/", "ws://second/"],
    WebSocket: ScriptedWebSocket,
    backoff: { initialMs: 2, maxMs: 2 },
    onError: (error) => errors.push(error),
    ...options,
  });
  return { client, sockets, errors };
}

const subs = (socket) => socket.sent.events.filter((frame) => frame.op === "sub");

test("after a drop it resubscribes each subject with its last seq and skips what it had", { timeout: 10000 }, async () => {
  const { client, sockets } = scriptedClient();
  const delivered = [];
  client.subscribe("/a", (data, info) => delivered.push([info.subject, info.seq, data]));
  client.subscribe("/b", (data, info) => delivered.push([info.subject, info.seq, data]));
  const first = await sockets.until("the first socket", (events) => events[0]);
  assert.equal(first.url, "ws://first/");
  assert.equal(first.protocol, "stadium.v1");
  first.open();
  assert.deepEqual(subs(first).map((frame) => [frame.subjects, frame.since]), [[["/a"], undefined], [["/b"], undefined]]);
  first.receive({ op: "msg", subject: "/a", seq: 5, data: "a5", retained: true });
  first.receive({ op: "msg", subject: "/b", seq: 9, data: "b9" });
  first.drop();

  const second = await sockets.until("a second socket", (events) => events[1]);
  assert.equal(second.url, "ws://second/", "the next attempt should go to the next URL");
  second.open();
  assert.deepEqual(subs(second).map((frame) => [frame.subjects, frame.since]),
    [[["/a"], { "/a": 5 }], [["/b"], { "/b": 9 }]]);
  assert.deepEqual(client.resumedFrom, { "/a": 5, "/b": 9 });
  second.receive({ op: "msg", subject: "/a", seq: 5, data: "a5" });
  second.receive({ op: "msg", subject: "/a", seq: 6, data: "a6" });
  second.receive({ op: "msg", subject: "/b", seq: 9, data: "b9" });
  assert.deepEqual(delivered, [["/a", 5, "a5"], ["/b", 9, "b9"], ["/a", 6, "a6"]]);
  client.close();
});

test("a pub waiting for its reply when the socket drops rejects with connection_lost", { timeout: 10000 }, async () => {
  const { client, sockets } = scriptedClient();
  const socket = await sockets.until("the first socket", (events) => events[0]);
  socket.open();
  const answered = client.publish("/answer/alice", { answer: 1 });
  const unanswered = client.publish("/answer/alice", { answer: 2 });
  const [firstPub] = socket.sent.events;
  socket.receive({ op: "ok", id: firstPub.id });
  assert.deepEqual(await answered, { op: "ok", id: firstPub.id });
  socket.drop();
  await assert.rejects(unanswered, (error) => error.code === "connection_lost");
  client.close();
});

test("on token_expiring it asks tokenProvider and sends auth on the same socket", { timeout: 10000 }, async () => {
  let issued = 0;
  const { client, sockets } = scriptedClient({ tokenProvider: async () => `token-${++issued}` });
  const socket = await sockets.until("the first socket", (events) => events[0]);
  socket.open();
  const firstAuth = await socket.sent.until("the first auth", (events) => events.find((frame) => frame.op === "auth"));
  assert.equal(firstAuth.token, "token-1");
  assert.equal(client.state, "connecting", "live before the token was accepted");
  socket.receive({ op: "ok", id: firstAuth.id });
  await client.whenLive({ timeoutMs: 5000 });
  socket.receive({ op: "err", code: "token_expiring", message: "token expires at 1 (in 30 s)" });
  const renewal = await socket.sent.until("the renewing auth",
    (events) => events.find((frame) => frame.op === "auth" && frame.token === "token-2"));
  socket.receive({ op: "ok", id: renewal.id });
  assert.equal(sockets.events.length, 1, "renewal must not reconnect");
  client.close();
});

test("a gap reaches the onGap of that subject's subscribers only", { timeout: 10000 }, async () => {
  const { client, sockets } = scriptedClient();
  const gaps = [];
  client.subscribe("/a", () => {}, { onGap: (gap) => gaps.push(["a1", gap]) });
  client.subscribe("/a", () => {}, { onGap: (gap) => gaps.push(["a2", gap]) });
  client.subscribe("/b", () => {}, { onGap: (gap) => gaps.push(["b", gap]) });
  const socket = await sockets.until("the first socket", (events) => events[0]);
  socket.open();
  socket.receive({ op: "gap", subject: "/a", from: 10, to: 41 });
  const gap = { subject: "/a", from: 10, to: 41 };
  assert.deepEqual(gaps, [["a1", gap], ["a2", gap]]);
  assert.equal(subs(socket).length, 2, "two subscribers of /a should share one sub");
  client.close();
});

test("a subscriber that throws does not keep the message from the others", { timeout: 10000 }, async () => {
  const { client, sockets, errors } = scriptedClient();
  const delivered = [];
  client.subscribe("/a", () => {
    throw new Error("broken subscriber");
  });
  client.subscribe("/a", (data) => delivered.push(data));
  const socket = await sockets.until("the first socket", (events) => events[0]);
  socket.open();
  socket.receive({ op: "msg", subject: "/a", seq: 1, data: "hello" });
  assert.deepEqual(delivered, ["hello"]);
  assert.deepEqual(errors.map((error) => error.message), ["broken subscriber"]);
  client.close();
});

test("close() stops reconnecting and closes the socket", { timeout: 10000 }, async () => {
  const statuses = [];
  const { client, sockets } = scriptedClient({ onStatus: (status) => statuses.push(status.state) });
  const socket = await sockets.until("the first socket", (events) => events[0]);
  socket.open();
  client.close();
  assert.equal(socket.closedByClient, true);
  socket.drop(1000);
  assert.deepEqual(statuses, ["connecting", "live", "closed"]);
  await assert.rejects(client.whenLive(), (error) => error.code === "client_closed");
  assert.equal(sockets.events.length, 1);
});

test("a subject without a key resumes with its cursor on the next gateway", { timeout: 10000 }, async () => {
  const { client, sockets } = scriptedClient();
  const delivered = [];
  client.subscribe("/question", (data, info) => delivered.push([info.partition, info.seq, data, info.retained]));
  const first = await sockets.until("the first socket", (events) => events[0]);
  first.open();
  const [sub] = subs(first);
  assert.equal(sub.since, undefined);
  first.receive({ op: "ok", id: sub.id, positions: { "/question": { 0: 40, 1: -1, 2: 17 } } });
  first.receive({ op: "msg", subject: "/question", seq: 40, partition: 0, data: "q40", retained: true });
  first.receive({ op: "msg", subject: "/question", seq: 0, partition: 1, data: "q-1-0" });
  first.receive({ op: "msg", subject: "/question", seq: 18, partition: 2, data: "q-2-18" });
  first.drop();

  const second = await sockets.until("a second socket", (events) => events[1]);
  second.open();
  assert.deepEqual(subs(second).map((frame) => frame.since), [{ "/question": { 0: 40, 1: 0, 2: 18 } }]);
  assert.deepEqual(client.resumedFrom, { "/question": { 0: 40, 1: 0, 2: 18 } });
  second.receive({ op: "ok", id: subs(second)[0].id, positions: { "/question": { 0: 50, 1: 9, 2: 30 } } });
  second.receive({ op: "msg", subject: "/question", seq: 41, partition: 0, data: "q41" });
  second.drop();

  const third = await sockets.until("a third socket", (events) => events[2]);
  third.open();
  assert.deepEqual(subs(third).map((frame) => frame.since), [{ "/question": { 0: 41, 1: 0, 2: 18 } }],
    "the resume's ok positions replaced the cursor");
  assert.deepEqual(delivered, [[0, 40, "q40", true], [1, 0, "q-1-0", false], [2, 18, "q-2-18", false], [0, 41, "q41", false]]);
  client.close();
});
