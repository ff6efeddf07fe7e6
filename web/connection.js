// Protocol v1 client: one WebSocket, subscriptions kept across reconnects (resumed with `since`,
// so messages missed while away arrive once), pub acks by id.
(function (ui) {
  "use strict";

  const subprotocol = "stadium.v1";
  const firstRetryMs = 1000;
  const maxRetryMs = 30000;

  function gatewayURL() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + "/";
  }

  class Connection {
    // handlers: onState(state, retryAtMs), onMessage(msg), onError(err), onGap(gap)
    constructor(handlers) {
      this.handlers = handlers;
      this.socket = null;
      this.state = "connecting";
      this.nextId = 1;
      this.subjects = new Set();
      // Last seq seen per subject: a reconnect asks for what came after it.
      this.lastSeq = new Map();
      this.resumedFrom = null;
      this.pending = new Map();
      this.retryDelayMs = firstRetryMs;
      this.retryTimer = null;
    }

    start() {
      this.open();
    }

    // Replaces the subscription set; the gateway is told only what changed.
    setSubjects(subjects) {
      const wanted = new Set(subjects);
      const removed = [...this.subjects].filter((s) => !wanted.has(s));
      const added = [...wanted].filter((s) => !this.subjects.has(s));
      this.subjects = wanted;
      for (const subject of removed) this.lastSeq.delete(subject);
      if (this.state !== "live") return;
      if (removed.length > 0) this.send({ op: "unsub", id: this.takeId(), subjects: removed });
      if (added.length > 0) this.send({ op: "sub", id: this.takeId(), subjects: added });
    }

    // Returns false when offline; otherwise callbacks.ok / .err / .lost fire exactly once.
    publish(subject, data, callbacks) {
      if (this.state !== "live") return false;
      const id = this.takeId();
      this.pending.set(id, callbacks || {});
      this.send({ op: "pub", id, subject, data });
      return true;
    }

    takeId() {
      return this.nextId++;
    }

    send(frame) {
      this.socket.send(JSON.stringify(frame));
    }

    setState(state, retryAtMs) {
      this.state = state;
      this.handlers.onState(state, retryAtMs);
    }

    open() {
      this.retryTimer = null;
      let socket;
      try {
        socket = new WebSocket(gatewayURL(), subprotocol);
      } catch (error) {
        this.scheduleRetry();
        return;
      }
      this.socket = socket;
      socket.addEventListener("open", () => this.opened());
      socket.addEventListener("message", (event) => this.received(event.data));
      socket.addEventListener("close", () => this.closed(socket));
      // An error is always followed by close, which does the retrying.
      socket.addEventListener("error", () => {});
    }

    opened() {
      this.retryDelayMs = firstRetryMs;
      this.setState("live");
      if (this.subjects.size > 0) {
        const since = {};
        for (const subject of this.subjects) {
          if (this.lastSeq.has(subject)) since[subject] = this.lastSeq.get(subject);
        }
        const request = { op: "sub", id: this.takeId(), subjects: [...this.subjects] };
        if (Object.keys(since).length > 0) request.since = since;
        this.resumedFrom = request.since || null;
        this.send(request);
      }
    }

    closed(socket) {
      if (socket !== this.socket) return;
      this.socket = null;
      const lost = [...this.pending.values()];
      this.pending.clear();
      for (const callbacks of lost) if (callbacks.lost) callbacks.lost();
      this.scheduleRetry();
    }

    scheduleRetry() {
      // Jitter spreads a stadium of reconnecting phones after a gateway restart.
      const delay = Math.round(this.retryDelayMs * (0.8 + Math.random() * 0.4));
      this.retryDelayMs = Math.min(this.retryDelayMs * 2, maxRetryMs);
      this.setState("reconnecting", Date.now() + delay);
      this.retryTimer = window.setTimeout(() => {
        this.setState("connecting");
        this.open();
      }, delay);
    }

    received(text) {
      let frame;
      try {
        frame = JSON.parse(text);
      } catch (error) {
        console.warn("stadium: ignoring a frame that is not JSON", text);
        return;
      }
      switch (frame.op) {
        case "msg":
          // The same seq twice is a repeat: show it once. A lower one means the seqs started
          // over (a new broker), so it is new.
          if (typeof frame.seq === "number") {
            if (frame.seq === this.lastSeq.get(frame.subject)) return;
            this.lastSeq.set(frame.subject, frame.seq);
          }
          this.handlers.onMessage(frame);
          return;
        case "gap":
          // What was missed is gone (or the seqs started over): take what comes next as new.
          this.lastSeq.delete(frame.subject);
          if (this.handlers.onGap) this.handlers.onGap(frame);
          return;
        case "ok":
          this.settle(frame.id, "ok", frame);
          return;
        case "err":
          if (!this.settle(frame.id, "err", frame)) this.handlers.onError(frame);
          return;
        default:
          console.warn("stadium: ignoring unknown op", frame.op);
      }
    }

    // Returns whether a pub was waiting for this id.
    settle(id, outcome, frame) {
      const callbacks = this.pending.get(id);
      if (callbacks === undefined) return false;
      this.pending.delete(id);
      if (callbacks[outcome]) callbacks[outcome](frame);
      return true;
    }
  }

  ui.Connection = Connection;
})(window.StadiumUI = window.StadiumUI || {});
