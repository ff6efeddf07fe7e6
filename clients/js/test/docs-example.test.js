// The quiz bot of docs/CLIENTS.md, run as written against the whole stack (broker, processors,
// gateway): a reader who copies it gets a bot that answers and scores.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";
import { startGateway, startKafka, startProcessors, runNodeScript, docsDir } from "./support.js";

const cleanups = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function documentedBot() {
  const text = readFileSync(path.join(docsDir, "CLIENTS.md"), "utf8");
  const section = text.slice(text.indexOf("### A quiz bot in ten lines"));
  const match = /```js\n([\s\S]*?)```/.exec(section);
  assert.ok(match, "docs/CLIENTS.md has no js block after '### A quiz bot in ten lines'");
  return match[1];
}

test("the quiz bot in docs/CLIENTS.md has ten lines of code", () => {
  const lines = documentedBot().split("\n").filter((line) => line.trim().length > 0);
  assert.ok(lines.length <= 10, `it has ${lines.length}`);
});

test("the quiz bot in docs/CLIENTS.md answers questions and gets results", { timeout: 120000 }, async () => {
  const kafka = await startKafka();
  cleanups.push(() => kafka.stop());
  const processors = startProcessors(kafka.bootstrap, ["--round", "4", "--answer-window", "3"]);
  cleanups.push(() => processors.stop());
  const gateway = await startGateway(["--brokers", kafka.bootstrap]);
  cleanups.push(() => gateway.stop());

  const library = pathToFileURL(fileURLToPath(new URL("../stadium-client.js", import.meta.url))).href;
  const source = documentedBot();
  assert.ok(source.includes('"./stadium-client.js"') && source.includes("ws://127.0.0.1:8080/"));
  const directory = mkdtempSync(path.join(os.tmpdir(), "stadium-docs-bot-"));
  cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
  const file = path.join(directory, "bot.mjs");
  writeFileSync(file, source.replace('"./stadium-client.js"', JSON.stringify(library)).replace("ws://127.0.0.1:8080/", gateway.url));

  const bot = runNodeScript(file);
  cleanups.push(() => bot.stop());
  await bot.line(/^live$/m, 30000);
  const [, points, total] = await bot.line(/^(\d+) points, total (\d+)$/m, 60000);
  assert.ok(Number(total) >= Number(points));
});
