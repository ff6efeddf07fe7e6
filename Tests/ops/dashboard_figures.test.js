// The /dashboard page's arithmetic (web/dashboard-figures.js) against what PromQL computes.
"use strict";
const test = require("node:test");
const assert = require("node:assert");
require("../../web/dashboard-figures.js");
const figuresOf = globalThis.StadiumFigures;

const metrics = (lines) => figuresOf.parse(lines.join("\n"));

test("parses the text format: labels, escaped quotes, comments; skips what is not a sample", () => {
  const series = metrics([
    "# HELP stadium_connections Open connections",
    "# TYPE stadium_connections gauge",
    "stadium_connections 12.0",
    'stadium_errors_total{kind="bad_request"} 3',
    'odd{reason="a \\"quoted\\" word",topic="x"} 1',
    "not a sample line",
    "stadium_kafka_up +Inf",
  ]);
  assert.deepStrictEqual(series, [
    { name: "stadium_connections", labels: {}, value: 12 },
    { name: "stadium_errors_total", labels: { kind: "bad_request" }, value: 3 },
    { name: "odd", labels: { reason: 'a \\"quoted\\" word', topic: "x" }, value: 1 },
    { name: "stadium_kafka_up", labels: {}, value: Infinity },
  ]);
});

test("sums over labels like sum by (label)", () => {
  const series = metrics([
    'stadium_kafka_records_consumed_total{topic="question"} 4',
    'stadium_kafka_records_consumed_total{topic="result"} 6',
  ]);
  assert.strictEqual(figuresOf.sum(series, "stadium_kafka_records_consumed_total"), 10);
  assert.deepStrictEqual(figuresOf.sumBy(series, "stadium_kafka_records_consumed_total", "topic"),
    { question: 4, result: 6 });
  assert.strictEqual(figuresOf.sum(series, "absent_total"), undefined);
});

test("rates are per second; a counter that went down restarted from zero, as rate() assumes", () => {
  assert.strictEqual(figuresOf.rate(100, 150, 10), 5);
  assert.strictEqual(figuresOf.rate(100, 30, 10), 3);
  assert.strictEqual(figuresOf.rate(undefined, 30, 10), undefined);
});

test("quantiles interpolate within the bucket like histogram_quantile", () => {
  const before = metrics([]);
  const after = metrics([
    'lat_bucket{le="0.01"} 2', 'lat_bucket{le="0.05"} 6', 'lat_bucket{le="0.1"} 10', 'lat_bucket{le="+Inf"} 10',
  ]);
  assert.ok(Math.abs(figuresOf.quantile(0.5, before, after, "lat_bucket") - 0.04) < 1e-12);
  assert.ok(Math.abs(figuresOf.quantile(0.99, before, after, "lat_bucket") - 0.09875) < 1e-12);
  // Only what happened between the two scrapes counts.
  const later = metrics([
    'lat_bucket{le="0.01"} 2', 'lat_bucket{le="0.05"} 6', 'lat_bucket{le="0.1"} 14', 'lat_bucket{le="+Inf"} 14',
  ]);
  assert.ok(Math.abs(figuresOf.quantile(0.5, after, later, "lat_bucket") - 0.075) < 1e-12);
});

test("a quantile in the +Inf bucket is the highest finite bound; no observations, no quantile", () => {
  const none = metrics([]);
  const slow = metrics(['lat_bucket{le="0.1"} 1', 'lat_bucket{le="+Inf"} 3']);
  assert.strictEqual(figuresOf.quantile(0.9, none, slow, "lat_bucket"), 0.1);
  assert.strictEqual(figuresOf.quantile(0.9, slow, slow, "lat_bucket"), undefined);
});
