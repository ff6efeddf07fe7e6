// Types for stadium-client.js, the Stadium protocol v1 client (docs/CLIENTS.md).

/** Any JSON value: what `data` of a msg or a pub may be. */
export type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };

export declare const SUBPROTOCOL: "stadium.v1";

/** Codes the client produces itself; every other `code` is the gateway's (docs/PROTOCOL.md). */
export declare const ClientErrorCode: {
  /** The connection dropped before the reply: the pub may or may not have been written. */
  readonly connectionLost: "connection_lost";
  /** The client was not live; nothing was sent. */
  readonly notConnected: "not_connected";
  /** close() was called; nothing was sent. */
  readonly clientClosed: "client_closed";
  /** tokenProvider threw or returned no token. */
  readonly tokenUnavailable: "token_unavailable";
  /** The WebSocket could not be created. */
  readonly connectFailed: "connect_failed";
  /** The gateway sent a frame that is not JSON. */
  readonly badFrame: "bad_frame";
};

export type GatewayErrorCode =
  | "bad_request" | "bad_subject" | "forbidden" | "kafka_unavailable" | "timeout" | "rate_limited"
  | "too_many_subscriptions" | "token_expiring" | "unauthorized" | "internal";

export type ErrorCode = GatewayErrorCode | (typeof ClientErrorCode)[keyof typeof ClientErrorCode] | string;

export declare class StadiumError extends Error {
  constructor(code: ErrorCode, message?: string, details?: { requestId?: number; subject?: string });
  name: "StadiumError";
  /** What programs branch on: a gateway `err` code or one of ClientErrorCode. */
  readonly code: ErrorCode;
  /** The id of the request this answers, when it answers one. */
  readonly requestId?: number;
  /** The subject of the pub or sub this answers. */
  readonly subject?: string;
}

export type ConnectionState = "connecting" | "live" | "reconnecting" | "closed";

export interface StatusEvent {
  state: ConnectionState;
  /** The URL being tried, live on, or that just dropped. */
  url?: string;
  /** "reconnecting": epoch milliseconds of the next attempt. */
  retryAt?: number;
  /** "reconnecting": the WebSocket close code and reason of the connection that ended. */
  closeCode?: number;
  closeReason?: string;
}

export interface BackoffSettings {
  /** Delay ceiling before the first reconnect attempt (default 500 ms); doubles each failed attempt. */
  initialMs: number;
  /** Largest delay ceiling (default 30,000 ms). */
  maxMs: number;
}

export interface StadiumClientOptions {
  /** One ws:// or wss:// URL, or a list tried in turn (each failed or dropped connection moves to the next). */
  urls: string | string[];
  /** A token sent with `auth` after each connect; without tokenProvider it cannot be renewed. */
  token?: string;
  /** Called at each connect and on `token_expiring`; its token is sent with `auth`. */
  tokenProvider?: () => string | Promise<string>;
  onStatus?: (status: StatusEvent) => void;
  /** Errors not tied to a pub: unsolicited `err`s, a refused subscription without its own onError, exceptions thrown by callbacks. */
  onError?: (error: Error) => void;
  backoff?: Partial<BackoffSettings>;
  /** Milliseconds to open the socket and authenticate before trying the next URL (default 10,000). */
  connectTimeoutMs?: number;
  /** Delivered (seq, data) pairs remembered per subject to skip repeats (default 1024). */
  duplicateWindow?: number;
  /** A WebSocket constructor, where there is no global one (e.g. the `ws` package). */
  WebSocket?: new (url: string, protocols?: string | string[]) => WebSocket;
  /** Source of randomness for the jitter, in [0, 1). */
  random?: () => number;
}

export interface MessageInfo {
  /** The record's Kafka offset; compare only within one subject (and partition). */
  seq: number;
  /** The record's Kafka partition: present on a subject without a key. */
  partition?: number;
  subject: string;
  /** A replay of the subject's latest message at subscribe time, not a new event. */
  retained: boolean;
}

export interface Gap {
  subject: string;
  /** A resume with a cursor: the partition of the gap's offsets. */
  partition?: number;
  /** Messages with seq from..to (inclusive) may have been missed. */
  from: number;
  to: number;
}

export interface SubscribeOptions {
  /** Messages may have been lost while away: refetch state. */
  onGap?: (gap: Gap) => void;
  /** The gateway refused the subscription (forbidden, bad_subject, too_many_subscriptions); it is dropped. */
  onError?: (error: StadiumError) => void;
}

export interface OkFrame {
  op: "ok";
  id: number;
}

export declare class StadiumClient {
  constructor(options: StadiumClientOptions);
  readonly state: ConnectionState;
  /** The URL of the current or last connection attempt. */
  readonly url: string | null;
  /** The `since` the last (re)connect subscribed with (a cursor for a subject without a key); null when it had none. */
  readonly resumedFrom: Record<string, number | Cursor> | null;
  /** Returns a function that unsubscribes (the subject is left when its last subscriber goes). */
  subscribe(
    subject: string,
    onMessage: (data: JSONValue, info: MessageInfo) => void,
    options?: SubscribeOptions,
  ): () => void;
  /** Resolves once Kafka acknowledged the record; rejects with a StadiumError (see ClientErrorCode). */
  publish(subject: string, data: JSONValue): Promise<OkFrame>;
  /** Resolves when live; rejects with not_connected after timeoutMs, or client_closed. */
  whenLive(options?: { timeoutMs?: number }): Promise<void>;
  /** Closes for good: no reconnect. */
  close(): void;
}

// The pure parts, exported for tests and for clients that bring their own transport.
export declare const defaultBackoff: Readonly<BackoffSettings>;
export declare function backoffDelay(attempt: number, settings?: BackoffSettings, random?: () => number): number;
export declare function urlForAttempt(urls: string[], index: number): string;
export declare function normalizeUrls(urls: string | string[]): string[];
export declare function fingerprint(data: JSONValue | undefined): number;

/** A subject without a key: the last offset seen per partition ("0", "1", ...; -1: none yet). */
export type Cursor = Record<string, number>;

export declare class DeliveryLedger {
  constructor(window?: number);
  /** True for a delivery to make (and records it); false for a repeat. `partition` moves the cursor unless `retained`. */
  accept(subject: string, seq: number, data: JSONValue, partition?: number, retained?: boolean): boolean;
  lastSeq(subject: string): number | undefined;
  cursor(subject: string): Cursor | undefined;
  /** The positions of a sub's ok start a subject's cursor (kept when it has one). */
  adoptPositions(subject: string, positions: Cursor): void;
  forget(subject: string): void;
  since(subjects: Iterable<string>): Record<string, number | Cursor> | null;
}

export declare class PendingRequests {
  nextId(): number;
  register(id: number, context?: { subject?: string }): Promise<OkFrame>;
  settle(frame: { op: string; id?: number; code?: string; message?: string }): boolean;
  failAll(code: ErrorCode, message?: string): void;
  readonly size: number;
}
