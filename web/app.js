// Wiring: the player's name, the connection, the tabs, the toast and window.stadium.
(function (ui) {
  "use strict";

  const toastMs = 5000;

  function byId(id) {
    return document.getElementById(id);
  }

  let name = ui.names.initial();
  let total = 0;
  let connectionState = "connecting";
  let retryAtMs = 0;
  let statusTimer = null;
  let toastTimer = null;
  let boardOpen = false;

  const play = new ui.PlayView(sendAnswer);
  const board = new ui.BoardView();
  const connection = new ui.Connection({ onState: stateChanged, onMessage: received, onError: showError });

  function subjectsFor(player) {
    return ["/question", "/result/" + player, "/top/" + player];
  }

  function sendAnswer(question, index) {
    const player = name;
    // An acknowledgement for a name the player has since left must not mark the new one.
    const mark = (outcome) => { if (player === name) play.markAnswer(outcome); };
    return connection.publish("/answer/" + player, { question_id: question.id, answer: index }, {
      ok: () => mark("acknowledged"),
      err: (frame) => {
        showError(frame);
        mark("rejected");
      },
      lost: () => mark("lost"),
    });
  }

  function requestTop() {
    board.loading();
    connection.publish("/gettop", { user_id: name }, { err: showError });
  }

  function received(frame) {
    const data = frame.data;
    if (frame.subject === "/question") {
      play.showQuestion(data, frame.retained === true);
    } else if (frame.subject === "/result/" + name && data !== null && typeof data === "object") {
      play.showResult(data);
      raiseTotal(data.total);
      if (frame.retained !== true) requestTop();
    } else if (frame.subject === "/top/" + name && data !== null && typeof data === "object") {
      board.show(data, name);
      raiseTotal(data.score);
    }
  }

  // Totals only grow, but /result and /top are separate topics: an older leaderboard reply can
  // arrive after a newer result, and must not take the total back.
  function raiseTotal(value) {
    const number = Number(value);
    if (!Number.isFinite(number) || number <= total) return;
    showTotal(number);
  }

  function showTotal(number) {
    total = number;
    byId("total").textContent = String(number);
  }

  function stateChanged(state, retryAt) {
    connectionState = state;
    retryAtMs = retryAt || 0;
    renderStatus();
    window.clearInterval(statusTimer);
    statusTimer = state === "reconnecting" ? window.setInterval(renderStatus, 500) : null;
    if (state === "live" && boardOpen) requestTop();
  }

  function renderStatus() {
    const status = byId("status");
    status.dataset.state = connectionState;
    if (connectionState === "live") {
      status.textContent = "live";
    } else if (connectionState === "reconnecting") {
      const seconds = Math.max(0, Math.ceil((retryAtMs - Date.now()) / 1000));
      status.textContent = "reconnecting in " + seconds + " s";
    } else {
      status.textContent = "connecting…";
    }
  }

  function showError(frame) {
    const code = frame.code ? " (" + frame.code + ")" : "";
    showToast((frame.message || "The gateway reported an error") + code);
  }

  function showToast(text) {
    const toast = byId("toast");
    toast.textContent = text;
    toast.hidden = false;
    window.clearTimeout(toastTimer);
    toastTimer = window.setTimeout(() => { toast.hidden = true; }, toastMs);
  }

  function saveName(event) {
    event.preventDefault();
    const input = byId("name-input");
    const candidate = input.value.trim();
    const problem = ui.names.problemWith(candidate);
    const error = byId("name-error");
    input.setAttribute("aria-invalid", problem === null ? "false" : "true");
    error.textContent = problem || "";
    error.hidden = problem === null;
    if (problem !== null || candidate === name) return;
    name = candidate;
    input.value = name;
    ui.names.store(name);
    showTotal(0);
    play.forgetPlayer();
    connection.setSubjects(subjectsFor(name));
    requestTop();
  }

  function selectTab(which) {
    boardOpen = which === "board";
    for (const [tab, panel, active] of [["tab-play", "panel-play", !boardOpen], ["tab-board", "panel-board", boardOpen]]) {
      byId(tab).setAttribute("aria-selected", active ? "true" : "false");
      byId(tab).tabIndex = active ? 0 : -1;
      byId(panel).hidden = !active;
    }
    if (boardOpen) requestTop();
  }

  function tabKeys(event) {
    // Arrow keys move between tabs, as the ARIA tabs pattern expects.
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    const next = event.currentTarget.id === "tab-play" ? "board" : "play";
    selectTab(next);
    byId("tab-" + next).focus();
  }

  byId("name-input").value = name;
  byId("name-form").addEventListener("submit", saveName);
  byId("toast").addEventListener("click", () => { byId("toast").hidden = true; });
  byId("tab-play").addEventListener("click", () => selectTab("play"));
  byId("tab-board").addEventListener("click", () => selectTab("board"));
  byId("tab-play").addEventListener("keydown", tabKeys);
  byId("tab-board").addEventListener("keydown", tabKeys);

  // Read-only view for tests and the curious; the UI never reads it.
  window.stadium = Object.freeze({
    get state() { return connectionState; },
    get name() { return name; },
    get total() { return total; },
    get questionId() { return play.question === null ? null : play.question.id; },
    // What the last reconnect asked for (`since` per subject), for tests and the curious.
    get resumedFrom() { return connection.resumedFrom; },
  });

  connection.setSubjects(subjectsFor(name));
  connection.start();
})(window.StadiumUI = window.StadiumUI || {});
