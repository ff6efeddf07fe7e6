// Test support: the real stadium-gateway and stadium-kafka as child processes, a TCP proxy that
// cuts and restores a client's connection on demand, HS256 tokens, and waiting for events
// with deadlines (never for a fixed time).
import { spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync, rmSync, readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
/** Where stadium-gateway and stadium-kafka are: STADIUM_BIN, or the debug build. */
export const binDir = process.env.STADIUM_BIN || path.join(repositoryRoot, ".build/debug");
export const webRoot = path.join(repositoryRoot, "web");
export const docsDir = path.join(repositoryRoot, "docs");

const startTimeoutMs = 60000;
const stopTimeoutMs = 15000;
const running = new Set();

// A test that fails half-way must not leave processes behind.
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Resolves when `predicate()` is true, re-checked whenever `signal` fires; rejects after timeoutMs. */
export function waitFor(description, timeoutMs, subscribeToChanges, predicate) {
  return new Promise((resolve, reject) => {
    let unsubscribe = () => {};
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${description}`));
    }, timeoutMs);
    const check = () => {
      let value;
      try {
        value = predicate();
      } catch (error) {
        clearTimeout(timer);
        unsubscribe();
        reject(error);
        return;
      }
      if (value) {
        clearTimeout(timer);
        unsubscribe();
        resolve(value);
      }
    };
    unsubscribe = subscribeToChanges(check);
    check();
  });
}

/** A list of events that tests wait on: `until(description, predicate)` resolves once one matches. */
export class EventLog {
  constructor(name) {
    this.name = name;
    this.events = [];
    this.listeners = new Set();
  }

  push(event) {
    this.events.push(event);
    for (const listener of [...this.listeners]) listener();
  }

  /** Waits until predicate(events) is truthy and returns its value. */
  until(description, predicate, timeoutMs = 20000) {
    return waitFor(`${this.name}: ${description} (saw ${this.describe()})`, timeoutMs, (listener) => {
      this.listeners.add(listener);
      return () => this.listeners.delete(listener);
    }, () => predicate(this.events));
  }

  describe() {
    const text = JSON.stringify(this.events);
    return text.length > 600 ? text.slice(0, 300) + " ... " + text.slice(-300) : text;
  }
}

/** Collects a child's output and waits for a line that matches. */
class ChildProcess {
  constructor(name, command, args) {
    this.name = name;
    this.args = args;
    this.output = "";
    this.log = new EventLog(name);
    this.child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    running.add(this.child);
    const collect = (chunk) => {
      this.output += chunk.toString();
      this.log.push("output");
    };
    this.child.stdout.on("data", collect);
    this.child.stderr.on("data", collect);
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        running.delete(this.child);
        this.exitStatus = { code, signal };
        this.log.push("exit");
        resolve(this.exitStatus);
      });
    });
  }

  async line(pattern, timeoutMs = startTimeoutMs) {
    try {
      return await this.log.until(`a line matching ${pattern}`, () => {
        if (this.exitStatus) throw new Error(`${this.name} exited (${JSON.stringify(this.exitStatus)}):\n${this.output}`);
        return pattern.exec(this.output);
      }, timeoutMs);
    } catch (error) {
      this.child.kill("SIGKILL");
      throw new Error(`${error.message}\n${this.name} output:\n${this.output}`);
    }
  }

  signal(name) {
    if (!this.exitStatus) this.child.kill(name);
  }

  /** SIGSTOP, then waits until every thread is stopped: kill() returns before a thread running on
   *  another core has stopped, and in that moment it may still answer. */
  async freeze(timeoutMs = 5000) {
    this.signal("SIGSTOP");
    const tasks = `/proc/${this.child.pid}/task`;
    const deadline = Date.now() + timeoutMs;
    // The kernel has no event for "stopped" that a non-parent can wait on: its state is polled.
    while (!readdirSync(tasks).every((task) => / [tT] /.test(readFileSync(`${tasks}/${task}/stat`, "utf8").split(")").pop().slice(0, 4)))) {
      if (Date.now() > deadline) throw new Error(`${this.name} did not stop within ${timeoutMs} ms of SIGSTOP`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within the stop timeout. */
  async stop() {
    if (this.exitStatus) return this.exitStatus;
    this.child.kill("SIGCONT");
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), stopTimeoutMs);
    const status = await this.exited;
    clearTimeout(timer);
    return status;
  }

  async kill() {
    this.signal("SIGKILL");
    return this.exited;
  }
}

/**
 * stadium-gateway on 127.0.0.1 (port 0: the system picks) with `args` added; resolves once it
 * listens. `url` is its WebSocket URL.
 */
export async function startGateway(args = [], { port = 0 } = {}) {
  const gateway = new ChildProcess("stadium-gateway", path.join(binDir, "stadium-gateway"),
    ["--listen", `127.0.0.1:${port}`, "--rings", "1", ...args]);
  const match = await gateway.line(/listening on ws:\/\/127\.0\.0\.1:(\d+)\//);
  gateway.port = Number(match[1]);
  gateway.url = `ws://127.0.0.1:${gateway.port}/`;
  gateway.startArgs = args;
  return gateway;
}

/** The same gateway command again, on the same port (after stop()). */
export function restartGateway(gateway) {
  return startGateway(gateway.startArgs, { port: gateway.port });
}

/** The development broker (one partition per topic, so a subject's seqs grow); `bootstrap` is its address. */
export async function startKafka() {
  const kafka = new ChildProcess("stadium-kafka", path.join(binDir, "stadium-kafka"), ["--partitions", "1"]);
  const match = await kafka.line(/stadium-kafka: bootstrap (\S+)/);
  kafka.bootstrap = match[1];
  return kafka;
}

/** The quiz processors on `bootstrap` with `args` added (e.g. short rounds); they need no readiness line. */
export function startProcessors(bootstrap, args = []) {
  return new ChildProcess("stadium-processors", path.join(binDir, "stadium-processors"), ["--brokers", bootstrap, ...args]);
}

/** `node` running `file` with Node 20's WebSocket enabled; its output can be waited on with line(). */
export function runNodeScript(file) {
  return new ChildProcess(path.basename(file), process.execPath, ["--experimental-websocket", file]);
}

/** A port nothing listens on (bound, then released). */
export function unusedPort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * A TCP proxy on a port of its own to `targetPort`: cut() drops every connection through it
 * and refuses new ones until restore(), so a test decides when a client is away.
 */
export async function startProxy(targetPort) {
  const sockets = new Set();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `ws://127.0.0.1:${server.address().port}/`,
    cut() {
      refusing = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      refusing = false;
    },
    close() {
      refusing = true;
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

function base64url(bytes) {
  return Buffer.from(bytes).toString("base64url");
}

/** An HS256 JSON Web Token, as docs/PROTOCOL.md describes. */
export function mintToken(secret, claims) {
  const signingInput = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" })) + "." + base64url(JSON.stringify(claims));
  return signingInput + "." + createHmac("sha256", secret).update(signingInput).digest("base64url");
}

/** A fresh secret in a temporary file for --jwt-secret-file; `remove()` deletes it. */
export function secretFile() {
  const directory = mkdtempSync(path.join(os.tmpdir(), "stadium-js-client-"));
  const secret = randomBytes(32).toString("hex");
  const file = path.join(directory, "jwt.secret");
  writeFileSync(file, secret + "\n");
  return { secret, file, remove: () => rmSync(directory, { recursive: true, force: true }) };
}

export function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

/**
 * A WebSocket class that notes every frame the gateway sends, so a test can tell what the
 * gateway did (e.g. sent a message twice) from what the client delivered.
 */
export function recordingWebSocket(frames) {
  return class RecordingWebSocket extends globalThis.WebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => frames.push(JSON.parse(event.data)));
    }
  };
}

/** A client's statuses and messages as EventLogs, for waiting on. */
export function observe(name) {
  return { statuses: new EventLog(`${name} statuses`), messages: new EventLog(`${name} messages`), gaps: new EventLog(`${name} gaps`), errors: new EventLog(`${name} errors`) };
}
