// Stadium client for browsers and Node (protocol v1, docs/PROTOCOL.md): one WebSocket kept open
// across gateway restarts and failover, subscriptions resumed with `since`, each message delivered
// once, pubs answered by promise, tokens renewed on `token_expiring`. No dependencies, no build step.

export const SUBPROTOCOL = "stadium.v1";

/** Error codes the client produces itself; the gateway's codes (docs/PROTOCOL.md) pass through. */
export const ClientErrorCode = Object.freeze({
  // The connection dropped before the reply: the pub may or may not have been written.
  connectionLost: "connection_lost",
  // Nothing was sent: the client was not live (connecting, reconnecting).
  notConnected: "not_connected",
  // Nothing was sent: close() was called.
  clientClosed: "client_closed",
  // tokenProvider threw or returned no token.
  tokenUnavailable: "token_unavailable",
  // The WebSocket could not even be created (reported to onError; the client retries).
  connectFailed: "connect_failed",
  // The gateway sent a frame that is not JSON (reported to onError and ignored).
  badFrame: "bad_frame",
});

export const defaultBackoff = Object.freeze({ initialMs: 500, maxMs: 30000 });

/** An `err` from the gateway, or one of ClientErrorCode; `code` is what programs branch on. */
export class StadiumError extends Error {
  constructor(code, message, details = {}) {
    super(message || code);
    this.name = "StadiumError";
    this.code = code;
    if (details.requestId !== undefined) this.requestId = details.requestId;
    if (details.subject !== undefined) this.subject = details.subject;
  }
}

// ---------------------------------------------------------------------------------------------
// Pure parts: no socket, no timers; unit-tested on their own.

/**
 * Milliseconds to wait before reconnect attempt `attempt` (0 for the first after a drop):
 * doubling from initialMs up to maxMs, then a random point in the upper half of that, so a
 * stadium of clients dropped by one gateway restart does not come back in one wave.
 */
export function backoffDelay(attempt, { initialMs, maxMs } = defaultBackoff, random = Math.random) {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 52));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** The URL for attempt number `index`: the list in turn, starting over after the last. */
export function urlForAttempt(urls, index) {
  return urls[index % urls.length];
}

/** `urls` as given (one string or a list) as a non-empty array of strings. */
export function normalizeUrls(urls) {
  const list = typeof urls === "string" ? [urls] : Array.isArray(urls) ? [...urls] : [];
  if (list.length === 0 || !list.every((url) => typeof url === "string" && /^wss?:\/\/./.test(url))) {
    throw new TypeError("StadiumClient: `urls` must be a ws:// or wss:// URL or a non-empty list of them");
  }
  return list;
}

/** 32-bit FNV-1a of a value's JSON text: tells a repeated message from a new one with the same seq. */
export function fingerprint(data) {
  const text = data === undefined ? "" : JSON.stringify(data);
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * Per subject: the last seq delivered (the `since` of the next resubscribe) and the recent
 * (seq, fingerprint) pairs delivered, so a message seen again is skipped. A subject without a
 * key (its messages carry `partition`) keeps a cursor instead: the last offset per partition,
 * from the sub's ok `positions` on, so it resumes on any gateway even over several partitions.
 *
 * A message is a repeat only when both its seq and its data match one already delivered: a
 * restarted gateway replays records a client already has (same seq, same data), while seqs
 * that start over (a new Kafka cluster, a gateway without Kafka restarted) bring new data
 * under old numbers, and those must be delivered. Seqs are not compared by size: a subject
 * without a key spread over several partitions has seqs that do not grow.
 */
export class DeliveryLedger {
  constructor(window = 1024) {
    // Larger than the gateway's --replay-last (100 records per partition), which is what comes back twice.
    this.window = window;
    this.subjects = new Map();
  }

  /**
   * Records a delivery and returns true, or returns false for a repeat of one already delivered.
   * `partition` (a subject without a key) moves the cursor, unless the message is `retained`:
   * a replay of one from before the subscription's positions.
   */
  accept(subject, seq, data, partition, retained = false) {
    if (typeof seq !== "number") return true;
    const print = fingerprint(data);
    // The same offset in two partitions is two records.
    const key = typeof partition === "number" ? `${partition}:${seq}` : seq;
    let entry = this.subjects.get(subject);
    if (entry === undefined) {
      entry = { lastSeq: seq, recent: new Map(), cursor: null };
      this.subjects.set(subject, entry);
    }
    // Even a repeat moves the cursor: a live message first seen as the retained one is past it.
    if (typeof partition === "number" && !retained && entry.cursor !== null) entry.cursor[String(partition)] = seq;
    if (entry.recent.get(key) === print) return false;
    entry.lastSeq = seq;
    entry.recent.delete(key);
    entry.recent.set(key, print);
    if (entry.recent.size > this.window) entry.recent.delete(entry.recent.keys().next().value);
    return true;
  }

  lastSeq(subject) {
    return this.subjects.get(subject)?.lastSeq;
  }

  /** The cursor of a subject without a key (partition -> last offset), or undefined. */
  cursor(subject) {
    const cursor = this.subjects.get(subject)?.cursor;
    return cursor ? { ...cursor } : undefined;
  }

  /**
   * The positions a sub's ok gave for a subject without a key start its cursor; a resume's ok
   * does not replace the cursor it resumed from.
   */
  adoptPositions(subject, positions) {
    let entry = this.subjects.get(subject);
    if (entry === undefined) {
      entry = { lastSeq: undefined, recent: new Map(), cursor: null };
      this.subjects.set(subject, entry);
    }
    if (entry.cursor === null) entry.cursor = { ...positions };
  }

  forget(subject) {
    this.subjects.delete(subject);
  }

  /**
   * The `since` member for a sub of these subjects: the cursor of those that have one, the last
   * seq of the others with a delivery; null when none has either.
   */
  since(subjects) {
    const since = {};
    let any = false;
    for (const subject of subjects) {
      const last = this.cursor(subject) ?? this.lastSeq(subject);
      if (last === undefined) continue;
      since[subject] = last;
      any = true;
    }
    return any ? since : null;
  }
}

/**
 * The requests waiting for their `ok` or `err`, by id. Ids are never reused, not even across
 * connections, so a reply always finds the request it answers.
 */
export class PendingRequests {
  constructor() {
    this.byId = new Map();
    this.lastId = 0;
  }

  nextId() {
    this.lastId += 1;
    return this.lastId;
  }

  /** A promise settled by the reply to `id`; `context` (e.g. the subject) goes into its error. */
  register(id, context = {}) {
    return new Promise((resolve, reject) => {
      this.byId.set(id, { resolve, reject, context });
    });
  }

  /** Settles the request an `ok` or `err` frame answers; false when no request has its id. */
  settle(frame) {
    if (typeof frame.id !== "number") return false;
    const waiting = this.byId.get(frame.id);
    if (waiting === undefined) return false;
    this.byId.delete(frame.id);
    if (frame.op === "ok") {
      waiting.resolve(frame);
    } else {
      waiting.reject(new StadiumError(frame.code || "internal", frame.message,
        { requestId: frame.id, subject: waiting.context.subject }));
    }
    return true;
  }

  /** Rejects everything still waiting with `code` (the connection is gone). */
  failAll(code, message) {
    const waiting = [...this.byId.entries()];
    this.byId.clear();
    for (const [id, request] of waiting) {
      request.reject(new StadiumError(code, message, { requestId: id, subject: request.context.subject }));
    }
  }

  get size() {
    return this.byId.size;
  }
}

// ---------------------------------------------------------------------------------------------
// The client.

/**
 * States reported to onStatus: "connecting" (opening a socket or authenticating), "live"
 * (requests flow), "reconnecting" (waiting `retryAt` before the next attempt), "closed"
 * (close() was called).
 */
export class StadiumClient {
  constructor(options = {}) {
    this.urls = normalizeUrls(options.urls);
    this.staticToken = options.token;
    this.tokenProvider = options.tokenProvider;
    this.onStatus = options.onStatus;
    this.onError = options.onError;
    this.backoff = { ...defaultBackoff, ...(options.backoff || {}) };
    // Bounds opening the socket and authenticating: a host that swallows SYNs is given up on.
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10000;
    this.WebSocket = options.WebSocket || globalThis.WebSocket;
    if (typeof this.WebSocket !== "function") {
      throw new TypeError("StadiumClient: no WebSocket here; Node 20 needs --experimental-websocket " +
        "(Node 22 has it built in), or pass options.WebSocket");
    }
    this.random = options.random || Math.random;

    this.pending = new PendingRequests();
    this.ledger = new DeliveryLedger(options.duplicateWindow);
    // subject -> Set of { onMessage, onGap, onError } registered by subscribe().
    this.subscriptions = new Map();
    // subject -> { data, seq }: handed to a second subscriber of a subject already held.
    this.latest = new Map();
    this.liveWaiters = new Set();
    this.state = "connecting";
    this.socket = null;
    this.url = null;
    this.attemptCount = 0;
    this.failedAttempts = 0;
    this.retryTimer = null;
    this.connectTimer = null;
    this.resumedFrom = null;
    this.closed = false;
    // Connecting after the constructor returns: no callback runs before `new` has given the client.
    queueMicrotask(() => this.open());
  }

  /**
   * Calls onMessage(data, {seq, subject, retained}) for every message of `subject`, once each,
   * across reconnects. options.onGap({subject, from, to}) hears of messages that may be lost;
   * options.onError(error) of a refused subscription (then it is dropped). Returns a function
   * that unsubscribes.
   */
  subscribe(subject, onMessage, options = {}) {
    if (typeof subject !== "string") throw new TypeError("StadiumClient.subscribe: subject must be a string");
    if (typeof onMessage !== "function") throw new TypeError("StadiumClient.subscribe: onMessage must be a function");
    const subscriber = { onMessage, onGap: options.onGap, onError: options.onError };
    let subscribers = this.subscriptions.get(subject);
    if (subscribers === undefined) {
      subscribers = new Set();
      this.subscriptions.set(subject, subscribers);
      if (this.state === "live") this.sendSub(subject);
    } else {
      // The gateway sent the retained message once, to the first subscriber: a later one gets our copy.
      const latest = this.latest.get(subject);
      if (latest !== undefined) {
        queueMicrotask(() => {
          if (this.subscriptions.get(subject)?.has(subscriber)) {
            this.callSubscriber(subscriber.onMessage, latest.data, { seq: latest.seq, subject, retained: true });
          }
        });
      }
    }
    subscribers.add(subscriber);
    return () => this.unsubscribe(subject, subscriber);
  }

  /** Resolves with the gateway's `ok` once Kafka has the record; rejects with a StadiumError. */
  publish(subject, data) {
    if (this.closed) return Promise.reject(new StadiumError(ClientErrorCode.clientClosed, "the client is closed", { subject }));
    if (this.state !== "live") {
      return Promise.reject(new StadiumError(ClientErrorCode.notConnected, `not connected (${this.state}); nothing was sent`, { subject }));
    }
    const id = this.pending.nextId();
    const reply = this.pending.register(id, { subject });
    this.send({ op: "pub", id, subject, data });
    return reply;
  }

  /** Resolves when the client is live (at once if it is); rejects after timeoutMs or on close(). */
  whenLive({ timeoutMs } = {}) {
    if (this.state === "live") return Promise.resolve();
    if (this.closed) return Promise.reject(new StadiumError(ClientErrorCode.clientClosed, "the client is closed"));
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject, timer: null };
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          this.liveWaiters.delete(waiter);
          reject(new StadiumError(ClientErrorCode.notConnected, `not live within ${timeoutMs} ms (${this.state})`));
        }, timeoutMs);
      }
      this.liveWaiters.add(waiter);
    });
  }

  /** Closes the connection for good: no reconnect; pubs still waiting reject with connection_lost. */
  close() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.connectTimer);
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) {
      try {
        socket.close(1000, "client closed");
      } catch (error) {
        // Already closing: nothing more to do.
      }
    }
    this.pending.failAll(ClientErrorCode.connectionLost, "the client was closed before the reply; the request may or may not have taken effect");
    for (const waiter of this.liveWaiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new StadiumError(ClientErrorCode.clientClosed, "the client is closed"));
    }
    this.liveWaiters.clear();
    this.setState("closed", {});
  }

  // --- connection ------------------------------------------------------------------------------

  open() {
    this.retryTimer = null;
    if (this.closed) return;
    const url = urlForAttempt(this.urls, this.attemptCount);
    this.attemptCount += 1;
    this.url = url;
    this.setState("connecting", { url });
    let socket;
    try {
      socket = new this.WebSocket(url, SUBPROTOCOL);
    } catch (error) {
      this.report(new StadiumError(ClientErrorCode.connectFailed, `cannot open ${url}: ${error && error.message}`));
      this.scheduleReconnect({});
      return;
    }
    this.socket = socket;
    this.connectTimer = setTimeout(() => {
      if (this.state !== "live") this.socketEnded(socket, { closeReason: `not live within ${this.connectTimeoutMs} ms` });
    }, this.connectTimeoutMs);
    socket.addEventListener("open", () => this.opened(socket));
    socket.addEventListener("message", (event) => {
      if (socket === this.socket) this.received(event.data);
    });
    socket.addEventListener("close", (event) => this.socketEnded(socket, { closeCode: event.code, closeReason: event.reason }));
    // Node 20's WebSocket reports a refused connection with error and no close: an error ends the socket.
    socket.addEventListener("error", () => this.socketEnded(socket, { closeCode: 1006, closeReason: "connection failed" }));
  }

  opened(socket) {
    if (socket !== this.socket) return;
    if (this.tokenProvider === undefined && this.staticToken === undefined) {
      this.goLive();
      return;
    }
    this.authenticateThenGoLive(socket);
  }

  async authenticateThenGoLive(socket) {
    let token;
    try {
      token = await this.currentToken();
    } catch (error) {
      if (socket !== this.socket) return;
      this.report(new StadiumError(ClientErrorCode.tokenUnavailable, `tokenProvider failed: ${error && error.message}`));
      this.socketEnded(socket, { closeReason: "no token" });
      return;
    }
    if (socket !== this.socket) return;
    try {
      await this.authenticate(token);
    } catch (error) {
      // A token that does not verify closes the socket (1008), and the close reconnects.
      if (socket === this.socket) this.report(error);
      return;
    }
    if (socket === this.socket) this.goLive();
  }

  async currentToken() {
    if (this.tokenProvider) {
      const token = await this.tokenProvider();
      if (typeof token !== "string" || token.length === 0) throw new Error("it returned no token");
      return token;
    }
    return this.staticToken;
  }

  authenticate(token) {
    const id = this.pending.nextId();
    const reply = this.pending.register(id);
    this.send({ op: "auth", id, token });
    return reply;
  }

  goLive() {
    clearTimeout(this.connectTimer);
    this.failedAttempts = 0;
    // Everything subscribed is asked for again, each from the last seq delivered.
    const subjects = [...this.subscriptions.keys()];
    this.resumedFrom = this.ledger.since(subjects);
    this.setState("live", { url: this.url });
    for (const subject of subjects) this.sendSub(subject);
    for (const waiter of this.liveWaiters) {
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
    this.liveWaiters.clear();
  }

  // The one way a connection ends (closed, failed, given up on): the next attempt goes to the next URL.
  socketEnded(socket, details) {
    if (socket !== this.socket) return;
    this.socket = null;
    clearTimeout(this.connectTimer);
    try {
      socket.close();
    } catch (error) {
      // Already closed or closing.
    }
    this.pending.failAll(ClientErrorCode.connectionLost,
      "the connection dropped before the reply; the request may or may not have taken effect");
    if (this.closed) return;
    this.scheduleReconnect(details);
  }

  scheduleReconnect(details) {
    const delay = backoffDelay(this.failedAttempts, this.backoff, this.random);
    this.failedAttempts += 1;
    this.setState("reconnecting", { ...details, url: this.url, retryAt: Date.now() + delay });
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  send(frame) {
    this.socket.send(JSON.stringify(frame));
  }

  sendSub(subject) {
    const id = this.pending.nextId();
    const request = { op: "sub", id, subjects: [subject] };
    const since = this.ledger.since([subject]);
    if (since !== null) request.since = since;
    // One subject per sub: a refused subject then refuses only itself.
    this.pending.register(id, { subject }).catch((error) => this.subscriptionRefused(subject, error));
    this.send(request);
  }

  subscriptionRefused(subject, error) {
    // A dropped connection is not a refusal: the next connection subscribes again.
    if (error.code === ClientErrorCode.connectionLost) return;
    const subscribers = this.subscriptions.get(subject);
    if (subscribers === undefined) return;
    this.subscriptions.delete(subject);
    this.ledger.forget(subject);
    this.latest.delete(subject);
    let told = false;
    for (const subscriber of subscribers) {
      if (subscriber.onError) {
        told = true;
        this.callSubscriber(subscriber.onError, error);
      }
    }
    if (!told) this.report(error);
  }

  unsubscribe(subject, subscriber) {
    const subscribers = this.subscriptions.get(subject);
    if (subscribers === undefined || !subscribers.delete(subscriber) || subscribers.size > 0) return;
    this.subscriptions.delete(subject);
    this.ledger.forget(subject);
    this.latest.delete(subject);
    if (this.state !== "live") return;
    const id = this.pending.nextId();
    this.pending.register(id, { subject }).catch(() => {});
    this.send({ op: "unsub", id, subjects: [subject] });
  }

  // --- incoming ----------------------------------------------------------------------------------

  received(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch (error) {
      this.report(new StadiumError(ClientErrorCode.badFrame, `ignoring a frame that is not JSON: ${String(text).slice(0, 80)}`));
      return;
    }
    switch (frame.op) {
      case "msg":
        this.deliver(frame);
        return;
      case "gap":
        this.gap(frame);
        return;
      case "ok":
        // A sub's ok: where its subjects without a key start, per partition.
        if (frame.positions !== null && typeof frame.positions === "object") {
          for (const [subject, positions] of Object.entries(frame.positions)) {
            if (this.subscriptions.has(subject)) this.ledger.adoptPositions(subject, positions);
          }
        }
        this.pending.settle(frame);
        return;
      case "err":
        if (this.pending.settle(frame)) return;
        if (frame.code === "token_expiring") {
          this.renewToken();
          return;
        }
        this.report(new StadiumError(frame.code || "internal", frame.message));
        return;
      default:
        // Later protocol versions may add ops; v1 clients ignore what they do not know.
        return;
    }
  }

  deliver(frame) {
    const subscribers = this.subscriptions.get(frame.subject);
    // A msg that was on its way when we unsubscribed.
    if (subscribers === undefined) return;
    if (!this.ledger.accept(frame.subject, frame.seq, frame.data, frame.partition, frame.retained === true)) return;
    this.latest.set(frame.subject, { data: frame.data, seq: frame.seq });
    const info = { seq: frame.seq, subject: frame.subject, retained: frame.retained === true };
    if (typeof frame.partition === "number") info.partition = frame.partition;
    for (const subscriber of [...subscribers]) this.callSubscriber(subscriber.onMessage, frame.data, info);
  }

  gap(frame) {
    const subscribers = this.subscriptions.get(frame.subject);
    if (subscribers === undefined) return;
    const gap = { subject: frame.subject, from: frame.from, to: frame.to };
    if (typeof frame.partition === "number") gap.partition = frame.partition;
    for (const subscriber of [...subscribers]) {
      if (subscriber.onGap) this.callSubscriber(subscriber.onGap, gap);
    }
  }

  async renewToken() {
    if (!this.tokenProvider) {
      this.report(new StadiumError("token_expiring", "the token expires soon and there is no tokenProvider to renew it"));
      return;
    }
    const socket = this.socket;
    try {
      const token = await this.currentToken();
      if (socket !== this.socket || socket === null) return;
      await this.authenticate(token);
    } catch (error) {
      if (socket === this.socket) this.report(error);
    }
  }

  // --- reporting ---------------------------------------------------------------------------------

  setState(state, details) {
    this.state = state;
    if (this.onStatus) {
      try {
        this.onStatus({ state, ...details });
      } catch (error) {
        this.report(error);
      }
    }
  }

  callSubscriber(callback, ...args) {
    try {
      callback(...args);
    } catch (error) {
      // One failing subscriber must not keep the message from the others.
      this.report(error);
    }
  }

  // Without onError: the gateway's complaints are logged; a subscriber's exception is thrown
  // again outside the client, so a bug in it surfaces like any uncaught exception.
  report(error) {
    if (this.onError) {
      this.onError(error);
    } else if (error instanceof StadiumError) {
      console.warn(`stadium: ${error.code}: ${error.message}`);
    } else {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}
