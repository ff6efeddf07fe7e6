// StadiumClient against the real gateway without Kafka (pubs go straight to local subscribers,
// seqs count from 0 per subject): pubs and their errors, subscriptions, gaps, failover.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { StadiumClient } from "../stadium-client.js";
import { startGateway, startProxy, unusedPort, observe, webRoot } from "./support.js";

const testTimeout = { timeout: 60000 };
const fastBackoff = { initialMs: 40, maxMs: 400 };
const cleanups = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function gateway(args = []) {
  const started = await startGateway(args);
  cleanups.push(() => started.stop());
  return started;
}

function client(name, options) {
  const seen = observe(name);
  const stadium = new StadiumClient({
    backoff: fastBackoff,
    onStatus: (status) => seen.statuses.push(status),
    onError: (error) => seen.errors.push({ code: error.code, message: error.message }),
    ...options,
  });
  cleanups.push(() => stadium.close());
  return { stadium, seen };
}

function collect(seen) {
  return (data, info) => seen.messages.push({ data, ...info });
}

test("publish resolves on ok; subscribers get the message, a late one as retained", testTimeout, async () => {
  const local = await gateway();
  const { stadium: writer } = client("writer", { urls: [local.url] });
  await writer.whenLive({ timeoutMs: 20000 });
  const reply = await writer.publish("/room/1", { text: "first", n: 0 });
  assert.equal(reply.op, "ok");
  const { stadium: reader, seen } = client("reader", { urls: local.url });
  reader.subscribe("/room/1", collect(seen));
  // The retained message arrives after the sub's ok: from then on the reader gets live messages.
  const [retained] = await seen.messages.until("the retained message", (events) => events.length >= 1 && events);
  assert.deepEqual(retained, { data: { text: "first", n: 0 }, seq: 0, subject: "/room/1", retained: true });
  await writer.publish("/room/1", { text: "hello", n: 1 });
  const live = await seen.messages.until("the live message", (events) => events.length >= 2 && events[1]);
  assert.deepEqual(live, { data: { text: "hello", n: 1 }, seq: 1, subject: "/room/1", retained: false });

  // A second subscriber of a subject the client holds gets the client's copy of the latest message.
  const second = observe("second subscriber");
  reader.subscribe("/room/1", collect(second));
  const [copy] = await second.messages.until("the latest message", (events) => events.length >= 1 && events);
  assert.deepEqual(copy, { data: { text: "hello", n: 1 }, seq: 1, subject: "/room/1", retained: true });
  await writer.publish("/room/1", { text: "both", n: 2 });
  await second.messages.until("the next message", (events) => events.length >= 2);
  await seen.messages.until("the next message", (events) => events.length >= 3);
  assert.deepEqual(seen.messages.events.map((event) => event.seq), [0, 1, 2]);
  assert.deepEqual(second.messages.events.map((event) => event.seq), [1, 2]);
});

test("publish errors reject with the gateway's code", testTimeout, async () => {
  const limited = await gateway(["--pub-rate", "0.01", "--pub-burst", "1"]);
  const { stadium } = client("publisher", { urls: limited.url });
  await stadium.whenLive({ timeoutMs: 20000 });
  await assert.rejects(stadium.publish("/room/a b", 1), (error) => error.code === "bad_subject" &&
    error.subject === "/room/a b" && /invalid subject/.test(error.message));
  await assert.rejects(stadium.publish("/room/1", undefined), (error) => error.code === "bad_request");
  await stadium.publish("/room/1", 1);
  await assert.rejects(stadium.publish("/room/1", 2), (error) => error.code === "rate_limited");
});

test("publish while not live rejects with not_connected and sends nothing", testTimeout, async () => {
  const port = await unusedPort();
  const { stadium } = client("offline", { urls: `ws://127.0.0.1:${port}/` });
  await assert.rejects(stadium.publish("/room/1", 1), (error) => error.code === "not_connected");
  stadium.close();
  await assert.rejects(stadium.publish("/room/1", 1), (error) => error.code === "client_closed");
});

test("a pub in flight when the connection drops rejects with connection_lost", testTimeout, async () => {
  const frozen = await gateway();
  const { stadium, seen } = client("publisher", { urls: frozen.url });
  await stadium.whenLive({ timeoutMs: 20000 });
  // Stopped, the gateway cannot answer: the pub is surely in flight when the connection ends.
  await frozen.freeze();
  const reply = stadium.publish("/room/1", { n: 1 });
  await frozen.kill();
  await assert.rejects(reply, (error) => error.code === "connection_lost" && /may or may not/.test(error.message));
  await seen.statuses.until("reconnecting after the drop", (events) => events.at(-1).state !== "live");
});

test("a refused subscription reaches the subscriber's onError and is dropped", testTimeout, async () => {
  const local = await gateway();
  const { stadium, seen } = client("subscriber", { urls: local.url });
  const refusals = [];
  const refused = new Promise((resolve) => {
    stadium.subscribe("/room//1", () => assert.fail("a refused subject delivered"), {
      onError: (error) => {
        refusals.push(error);
        resolve();
      },
    });
  });
  stadium.subscribe("/room/2", collect(seen));
  await refused;
  assert.equal(refusals[0].code, "bad_subject");
  assert.equal(refusals[0].subject, "/room//1");
  assert.equal(stadium.subscriptions.has("/room//1"), false);
  // The refusal of one subject did not take the other with it.
  await stadium.publish("/room/2", "still here");
  await seen.messages.until("the message on /room/2", (events) => events.some((event) => event.data === "still here"));
});

test("after unsubscribe no more messages of the subject arrive", testTimeout, async () => {
  const local = await gateway();
  const { stadium, seen } = client("subscriber", { urls: local.url });
  const stop = stadium.subscribe("/room/1", collect(seen));
  stadium.subscribe("/room/2", collect(seen));
  await stadium.whenLive({ timeoutMs: 20000 });
  await stadium.publish("/room/1", "before");
  await seen.messages.until("the first message", (events) => events.some((event) => event.data === "before"));
  stop();
  await stadium.publish("/room/1", "after");
  // The gateway answers in order on one connection: once /room/2's message is here, /room/1's would be too.
  await stadium.publish("/room/2", "marker");
  await seen.messages.until("the marker", (events) => events.some((event) => event.data === "marker"));
  assert.deepEqual(seen.messages.events.map((event) => event.data), ["before", "marker"]);
});

test("a reconnect resumes with since: what was published while away arrives once, in order", testTimeout, async () => {
  const local = await gateway();
  const proxy = await startProxy(local.port);
  cleanups.push(() => proxy.close());
  const { stadium: writer } = client("writer", { urls: local.url });
  await writer.whenLive({ timeoutMs: 20000 });
  await writer.publish("/room/1", 0);
  const { stadium: reader, seen } = client("reader", { urls: proxy.url });
  reader.subscribe("/room/1", collect(seen));
  await seen.messages.until("message 0", (events) => events.length === 1);
  proxy.cut();
  await seen.statuses.until("the reader to notice the drop", (events) => events.at(-1).state === "reconnecting");
  for (const n of [1, 2, 3]) await writer.publish("/room/1", n);
  proxy.restore();
  await seen.messages.until("messages 1 to 3", (events) => events.length >= 4);
  assert.deepEqual(reader.resumedFrom, { "/room/1": 0 });
  assert.deepEqual(seen.messages.events.map((event) => [event.seq, event.data, event.retained]),
    [[0, 0, true], [1, 1, false], [2, 2, false], [3, 3, false]]);
  await writer.publish("/room/1", 4);
  await seen.messages.until("message 4", (events) => events.length >= 5);
  assert.deepEqual(seen.messages.events.map((event) => event.data), [0, 1, 2, 3, 4]);
});

test("messages that fell out of the gateway's history are reported as a gap", testTimeout, async () => {
  const local = await gateway(["--history-messages", "2"]);
  const proxy = await startProxy(local.port);
  cleanups.push(() => proxy.close());
  const { stadium: writer } = client("writer", { urls: local.url });
  await writer.whenLive({ timeoutMs: 20000 });
  await writer.publish("/room/1", 0);
  const { stadium: reader, seen } = client("reader", { urls: proxy.url });
  reader.subscribe("/room/1", collect(seen), { onGap: (gap) => seen.gaps.push(gap) });
  await seen.messages.until("message 0", (events) => events.length === 1);
  proxy.cut();
  await seen.statuses.until("the reader to notice the drop", (events) => events.at(-1).state === "reconnecting");
  for (const n of [1, 2, 3, 4, 5]) await writer.publish("/room/1", n);
  proxy.restore();
  await seen.messages.until("the last two messages", (events) => events.length >= 3);
  // History keeps 2 messages: 4 and 5 come back, 1 to 3 are gone and said to be.
  assert.deepEqual(seen.gaps.events, [{ subject: "/room/1", from: 1, to: 3 }]);
  assert.deepEqual(seen.messages.events.map((event) => event.data), [0, 4, 5]);
});

test("when its gateway goes away or the first URL is dead, the client goes on to the next URL", testTimeout, async () => {
  const first = await gateway();
  const second = await gateway();
  const { stadium, seen } = client("failover", { urls: [first.url, second.url] });
  stadium.subscribe("/room/1", collect(seen));
  await stadium.whenLive({ timeoutMs: 20000 });
  assert.equal(stadium.url, first.url);
  await first.stop();
  await seen.statuses.until("live on the second URL",
    (events) => events.some((status) => status.state === "live" && status.url === second.url));
  await stadium.publish("/room/1", "via the second gateway");
  await seen.messages.until("the message through the second gateway",
    (events) => events.some((event) => event.data === "via the second gateway"));
  const deadPort = await unusedPort();
  const { stadium: starter, seen: starterSeen } = client("starter", { urls: [`ws://127.0.0.1:${deadPort}/`, second.url] });
  await starter.whenLive({ timeoutMs: 20000 });
  assert.equal(starter.url, second.url);
  assert.deepEqual(starterSeen.statuses.events.map((status) => status.state).slice(0, 4),
    ["connecting", "reconnecting", "connecting", "live"]);
});

test("the gateway serves the library to the web UI as JavaScript", testTimeout, async () => {
  const local = await gateway(["--web-root", webRoot]);
  const response = await fetch(`http://127.0.0.1:${local.port}/stadium-client.js`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type"), /^text\/javascript/);
  const served = await response.text();
  const library = readFileSync(fileURLToPath(new URL("../stadium-client.js", import.meta.url)), "utf8");
  assert.equal(served, library);
});
