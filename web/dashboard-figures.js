// The dashboard's figures from the gateway's Prometheus text: parsing, sums, rates over a
// window and histogram quantiles, computed as PromQL's sum, rate and histogram_quantile do.
(function (global) {
  "use strict";

  const seriesLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
  const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

  /** Prometheus text format -> [{name, labels, value}]; comments and malformed lines are skipped. */
  function parse(text) {
    const series = [];
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const match = seriesLine.exec(line);
      if (!match) continue;
      const labels = {};
      if (match[2]) {
        for (const pair of match[2].matchAll(labelPair)) labels[pair[1]] = pair[2];
      }
      const value = sampleValue(match[3]);
      if (value === undefined) continue;
      series.push({ name: match[1], labels, value });
    }
    return series;
  }

  /** A sample's value: a float, +Inf, -Inf or NaN; undefined when the text is none of those. */
  function sampleValue(text) {
    if (text === "+Inf") return Infinity;
    if (text === "-Inf") return -Infinity;
    if (text === "NaN") return NaN;
    const value = Number(text);
    return Number.isNaN(value) ? undefined : value;
  }

  /** sum by (label) (name), as {labelValue: total}; without a label, the total under "". */
  function sumBy(series, name, label) {
    const totals = {};
    for (const one of series) {
      if (one.name !== name) continue;
      const key = label ? one.labels[label] ?? "" : "";
      totals[key] = (totals[key] ?? 0) + one.value;
    }
    return totals;
  }

  function sum(series, name) {
    return sumBy(series, name, null)[""];
  }

  /** Per-second increase between two scrapes; a smaller value means the gateway restarted. */
  function rate(earlier, later, seconds) {
    if (earlier === undefined || later === undefined || seconds <= 0) return undefined;
    const increase = later >= earlier ? later - earlier : later;
    return increase / seconds;
  }

  function ratesBy(earlierTotals, laterTotals, seconds) {
    const rates = {};
    for (const key of Object.keys(laterTotals)) {
      rates[key] = rate(earlierTotals[key] ?? 0, laterTotals[key], seconds);
    }
    return rates;
  }

  /**
   * histogram_quantile over the buckets' increase between two scrapes: undefined when nothing
   * was observed, the highest finite bound when the quantile falls in +Inf.
   */
  function quantile(q, earlier, later, bucketName) {
    const before = sumBy(earlier, bucketName, "le");
    const after = sumBy(later, bucketName, "le");
    const bounds = Object.keys(after)
      .map((le) => ({ le: le === "+Inf" ? Infinity : Number(le), increase: after[le] - (before[le] ?? 0) }))
      .sort((a, b) => a.le - b.le);
    if (bounds.length === 0) return undefined;
    const total = bounds[bounds.length - 1].increase;
    if (!(total > 0)) return undefined;
    const rank = q * total;
    let lower = 0;
    let countBelow = 0;
    for (const bucket of bounds) {
      if (bucket.increase >= rank) {
        if (bucket.le === Infinity) return lower;
        const inBucket = bucket.increase - countBelow;
        return inBucket > 0 ? lower + (bucket.le - lower) * ((rank - countBelow) / inBucket) : bucket.le;
      }
      lower = bucket.le;
      countBelow = bucket.increase;
    }
    return lower;
  }

  /**
   * Figures for one point of the charts: `later` is the newest scrape, `earlier` the one a
   * rate window before it ({at: seconds, series}).
   */
  function figures(earlier, later) {
    const now = later.series;
    const then = earlier.series;
    const seconds = later.at - earlier.at;
    const errorsNow = sumBy(now, "stadium_errors_total", "kind");
    return {
      connections: sum(now, "stadium_connections"),
      deliveriesPerSecond: rate(sum(then, "stadium_frames_sent_total"), sum(now, "stadium_frames_sent_total"), seconds),
      kafkaRecordsPerSecond: rate(
        sum(then, "stadium_kafka_records_consumed_total"), sum(now, "stadium_kafka_records_consumed_total"), seconds),
      pubsPerSecond: rate(
        sum(then, "stadium_messages_published_total"), sum(now, "stadium_messages_published_total"), seconds),
      acknowledgementsPerSecond: rate(
        sum(then, "stadium_kafka_records_produced_total"), sum(now, "stadium_kafka_records_produced_total"), seconds),
      latencyP50Ms: scaled(quantile(0.5, then, now, "stadium_fanout_latency_seconds_bucket"), 1000),
      latencyP99Ms: scaled(quantile(0.99, then, now, "stadium_fanout_latency_seconds_bucket"), 1000),
      lagByTopic: sumBy(now, "stadium_kafka_consumer_lag", "topic"),
      errorsPerSecondByKind: ratesBy(sumBy(then, "stadium_errors_total", "kind"), errorsNow, seconds),
      errorsTotal: Object.values(errorsNow).reduce((a, b) => a + b, 0),
      questionsFannedOut: sumBy(now, "stadium_kafka_records_consumed_total", "topic").question,
      kafkaUp: sum(now, "stadium_kafka_up"),
    };
  }

  function scaled(value, factor) {
    return value === undefined ? undefined : value * factor;
  }

  global.StadiumFigures = { parse, sum, sumBy, rate, quantile, figures };
  // The page's window, or Node's global object for Tests/ops/dashboard_figures.test.js.
})(typeof window !== "undefined" ? window : globalThis);
