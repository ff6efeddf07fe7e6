// StadiumClient against a gateway running --auth jwt: tokens from tokenProvider at connect and
// on token_expiring, refused tokens, and what the token forbids.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { StadiumClient } from "../stadium-client.js";
import { startGateway, secretFile, mintToken, nowSeconds, observe } from "./support.js";

const cleanups = [];
let secret;
let gateway;
const warningSeconds = 3;

before(async () => {
  secret = secretFile();
  cleanups.push(() => secret.remove());
  gateway = await startGateway(["--auth", "jwt", "--jwt-secret-file", secret.file,
    "--token-expiry-warning", String(warningSeconds)]);
  cleanups.push(() => gateway.stop());
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function token(user, lifetimeSeconds) {
  return mintToken(secret.secret, {
    sub: user,
    exp: nowSeconds() + lifetimeSeconds,
    stadium: { sub: ["/room/**", "/result/{user}"], pub: ["/room/**"] },
  });
}

function client(name, options) {
  const seen = observe(name);
  const stadium = new StadiumClient({
    urls: gateway.url,
    backoff: { initialMs: 40, maxMs: 400 },
    onStatus: (status) => seen.statuses.push(status),
    onError: (error) => seen.errors.push({ code: error.code, message: error.message }),
    ...options,
  });
  cleanups.push(() => stadium.close());
  return { stadium, seen };
}

test("on token_expiring the client renews its token and stays connected", { timeout: 60000 }, async () => {
  // Both start with a token that expires within the warning time, so token_expiring comes at once.
  const lifetime = warningSeconds + 2;
  const provided = [];
  const { stadium: renewing, seen: renewingSeen } = client("renewing", {
    tokenProvider: async () => {
      provided.push(Date.now());
      return token("alice", provided.length === 1 ? lifetime : 600);
    },
  });
  const { stadium: fixed, seen: fixedSeen } = client("fixed", { token: token("bob", lifetime) });
  await Promise.all([renewing.whenLive({ timeoutMs: 20000 }), fixed.whenLive({ timeoutMs: 20000 })]);

  await fixedSeen.errors.until("the fixed-token client to be warned",
    (events) => events.some((error) => error.code === "token_expiring"));
  // The control: a token nobody renews ends the connection at its expiry.
  const dropped = await fixedSeen.statuses.until("the fixed-token client to be closed at expiry",
    (events) => events.find((status) => status.state === "reconnecting"), (lifetime + 5) * 1000);
  assert.equal(dropped.closeCode, 1008);
  assert.match(dropped.closeReason, /token expired/);
  fixed.close();

  assert.equal(provided.length, 2, "tokenProvider should be called at connect and once on token_expiring");
  await renewing.publish("/room/1", "after the first token expired");
  assert.deepEqual(renewingSeen.statuses.events.map((status) => status.state), ["connecting", "live"]);
  assert.deepEqual(renewingSeen.errors.events, []);
});

test("a token the gateway refuses is replaced by the next tokenProvider call", { timeout: 60000 }, async () => {
  const provided = [];
  const { stadium, seen } = client("refused first", {
    tokenProvider: async () => {
      provided.push(Date.now());
      // The first token is signed with another secret.
      return provided.length === 1
        ? mintToken("not the gateway's secret, but long enough", { sub: "carol", exp: nowSeconds() + 600 })
        : token("carol", 600);
    },
  });
  await stadium.whenLive({ timeoutMs: 20000 });
  const refused = seen.statuses.events.find((status) => status.state === "reconnecting");
  assert.equal(refused.closeCode, 1008);
  assert.match(refused.closeReason, /signature/);
  assert.equal(provided.length, 2);
  await stadium.publish("/room/1", "authenticated");
});

test("what the token does not allow is refused with forbidden", { timeout: 60000 }, async () => {
  const { stadium } = client("dave", { token: token("dave", 600) });
  const refusal = new Promise((resolve) => {
    stadium.subscribe("/result/erin", () => assert.fail("delivered a subject the token forbids"), { onError: resolve });
  });
  const allowed = [];
  stadium.subscribe("/result/dave", (data) => allowed.push(data));
  await stadium.whenLive({ timeoutMs: 20000 });
  const error = await refusal;
  assert.equal(error.code, "forbidden");
  assert.equal(error.subject, "/result/erin");
  await assert.rejects(stadium.publish("/answer/dave", 1), (failure) => failure.code === "forbidden" &&
    failure.subject === "/answer/dave");
  assert.equal((await stadium.publish("/room/7", 1)).op, "ok");
});
