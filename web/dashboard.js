// The live dashboard: reads /metrics every few seconds, keeps a few minutes of figures and
// draws them on canvases. `?every=SECONDS&minutes=M` change the interval and the minutes kept.
// State is in window.dashboard.
(function (figuresOf) {
  "use strict";

  const query = new URLSearchParams(location.search);
  const everySeconds = Math.max(0.5, Number(query.get("every")) || 2);
  const keepSeconds = 60 * Math.max(1, Number(query.get("minutes")) || 5);
  // Rates and latency quantiles over this window, like rate(...[10s]) in PromQL: a quiz sends
  // few records per second, and a single interval would often hold no fan-out at all.
  const rateWindowSeconds = Math.max(10, 4 * everySeconds);
  const palette = ["#1d5fd1", "#c2410c", "#157a3c", "#7c3aed", "#b3261e", "#0e7490", "#a16207", "#be185d"];

  const scrapes = []; // {at, series}: enough for the rate window
  const points = []; // {at, figures}: keepSeconds of them
  const state = { samples: 0, latest: null, drawn: {}, error: null, everySeconds, rateWindowSeconds };
  window.dashboard = state;

  function byId(id) {
    return document.getElementById(id);
  }

  function format(value, digits) {
    if (value === undefined || Number.isNaN(value)) return "–";
    if (Math.abs(value) >= 10000) return Math.round(value).toLocaleString("en");
    return value.toFixed(value % 1 === 0 ? 0 : digits);
  }

  async function poll() {
    try {
      const response = await fetch("metrics", { cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const scrape = { at: performance.now() / 1000, series: figuresOf.parse(await response.text()) };
      scrapes.push(scrape);
      // The oldest scrape kept is the last one at least a window older than this one.
      while (scrapes.length > 2 && scrape.at - scrapes[1].at >= rateWindowSeconds) scrapes.shift();
      const figures = figuresOf.figures(scrapes[0], scrape);
      points.push({ at: scrape.at, figures });
      while (points.length > 0 && scrape.at - points[0].at > keepSeconds) points.shift();
      state.samples += 1;
      state.latest = figures;
      state.error = null;
      showStatus("live", "live");
      render(figures);
    } catch (error) {
      state.error = String(error);
      showStatus("down", "cannot read /metrics: " + error.message);
    }
  }

  function showStatus(kind, text) {
    const status = byId("status");
    status.dataset.state = kind;
    status.textContent = text;
  }

  function render(latest) {
    byId("stat-connections").textContent = format(latest.connections, 0);
    byId("stat-deliveries").textContent = format(latest.deliveriesPerSecond, 1);
    byId("stat-questions").textContent = format(latest.questionsFannedOut, 0);
    byId("stat-latency").textContent =
      latest.latencyP99Ms === undefined ? "–" : format(latest.latencyP99Ms, 1) + " ms";
    byId("stat-kafka").textContent = latest.kafkaUp === undefined ? "not used" : latest.kafkaUp >= 1 ? "up" : "down";
    byId("stat-errors").textContent = format(latest.errorsTotal, 0);

    draw("connections", [line("open", (f) => f.connections)]);
    draw("deliveries", [
      line("frames to sockets", (f) => f.deliveriesPerSecond),
      line("records from Kafka", (f) => f.kafkaRecordsPerSecond),
    ]);
    draw("pubs", [line("pubs", (f) => f.pubsPerSecond), line("acknowledged", (f) => f.acknowledgementsPerSecond)]);
    draw("latency", [line("p50", (f) => f.latencyP50Ms), line("p99", (f) => f.latencyP99Ms)]);
    draw("lag", keysOf((f) => f.lagByTopic).map((topic) => line(topic, (f) => f.lagByTopic[topic])));
    // Only kinds that happened in the kept minutes: two dozen flat zero lines would hide them.
    const kinds = keysOf((f) => f.errorsPerSecondByKind).filter((kind) =>
      points.some((p) => p.figures.errorsPerSecondByKind[kind] > 0));
    draw("errors", kinds.length > 0
      ? kinds.map((kind) => line(kind, (f) => f.errorsPerSecondByKind[kind]))
      : [line("none", (f) => (f.errorsPerSecondByKind ? 0 : undefined))]);
  }

  function line(label, read) {
    return { label, read };
  }

  function keysOf(read) {
    const keys = new Set();
    for (const point of points) for (const key of Object.keys(read(point.figures) ?? {})) keys.add(key);
    return [...keys].sort();
  }

  /** One chart: a line per series over the kept minutes, the y axis from 0 to a round maximum. */
  function draw(name, lines) {
    const canvas = byId("chart-" + name);
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const context = canvas.getContext("2d");
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);

    const left = 48, right = 8, top = 22, bottom = 18;
    const plotWidth = width - left - right;
    const plotHeight = height - top - bottom;
    const newest = points.length > 0 ? points[points.length - 1].at : 0;
    const values = lines.flatMap((l) => points.map((p) => l.read(p.figures)).filter((v) => v !== undefined));
    const maximum = roundUp(Math.max(1, ...values));
    const x = (at) => left + plotWidth * (1 - (newest - at) / keepSeconds);
    const y = (value) => top + plotHeight * (1 - value / maximum);

    context.font = "11px system-ui, sans-serif";
    context.fillStyle = "#5b6470";
    context.strokeStyle = "#d7dbe0";
    context.lineWidth = 1;
    for (const fraction of [0, 0.5, 1]) {
      const level = maximum * fraction;
      context.beginPath();
      context.moveTo(left, y(level));
      context.lineTo(left + plotWidth, y(level));
      context.stroke();
      context.fillText(format(level, 1), 4, y(level) + 4);
    }
    context.fillText(keepSeconds / 60 + " min ago", left, height - 4);
    context.fillText("now", left + plotWidth - 22, height - 4);

    let drawnPoints = 0;
    let legendX = left;
    lines.forEach((series, index) => {
      const color = palette[index % palette.length];
      context.strokeStyle = color;
      context.lineWidth = 2;
      // Every other series dashed: pubs and their acknowledgements often lie on one line.
      context.setLineDash(index % 2 === 1 ? [6, 4] : []);
      context.beginPath();
      let penDown = false;
      for (const point of points) {
        const value = point.figures === undefined ? undefined : series.read(point.figures);
        // A gap where there is no value (no fan-out in the window has no latency).
        if (value === undefined || Number.isNaN(value)) {
          penDown = false;
          continue;
        }
        if (penDown) context.lineTo(x(point.at), y(value));
        else context.moveTo(x(point.at), y(value));
        penDown = true;
        drawnPoints += 1;
      }
      context.stroke();
      context.setLineDash([]);
      context.fillStyle = color;
      context.fillRect(legendX, 6, 10, 10);
      context.fillStyle = "#1b1f24";
      context.fillText(series.label, legendX + 14, 15);
      legendX += 24 + context.measureText(series.label).width;
    });
    canvas.dataset.points = String(drawnPoints);
    state.drawn[name] = drawnPoints;
  }

  /** 1, 2 or 5 times a power of ten, at least value. */
  function roundUp(value) {
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
    return 10 * power;
  }

  byId("every").textContent = String(everySeconds);
  byId("keep").textContent = String(keepSeconds / 60);
  poll();
  setInterval(poll, everySeconds * 1000);
})(window.StadiumFigures);
