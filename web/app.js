// Wiring: the player's name, the connection (the Stadium client library, which reconnects and
// resumes by itself), the tabs, the toast and window.stadium.
import { StadiumClient, StadiumError, ClientErrorCode } from "./stadium-client.js";

const ui = window.StadiumUI;
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
const client = new StadiumClient({
  urls: gatewayURL(),
  backoff: { initialMs: 1000, maxMs: 30000 },
  onStatus: stateChanged,
  onError: clientError,
});
// The unsubscribe functions of the current name's /result and /top.
let playerSubscriptions = [];

function gatewayURL() {
  const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  return scheme + window.location.host + "/";
}

function subscribePlayer(player) {
  for (const unsubscribe of playerSubscriptions) unsubscribe();
  playerSubscriptions = [
    client.subscribe("/result/" + player, (data, info) => resultReceived(player, data, info)),
    client.subscribe("/top/" + player, (data) => topReceived(player, data)),
  ];
}

// Returns false when offline: the answer was not sent.
function sendAnswer(question, index) {
  if (client.state !== "live") return false;
  const player = name;
  // An acknowledgement for a name the player has since left must not mark the new one.
  const mark = (outcome) => { if (player === name) play.markAnswer(outcome); };
  client.publish("/answer/" + player, { question_id: question.id, answer: index }).then(
    () => mark("acknowledged"),
    (error) => {
      if (isLostOrOffline(error)) {
        mark("lost");
        return;
      }
      showError(error);
      mark("rejected");
    });
  return true;
}

function requestTop() {
  board.loading();
  // Offline, or dropped on the way: the reconnect asks again (stateChanged).
  client.publish("/gettop", { user_id: name }).catch((error) => { if (!isLostOrOffline(error)) showError(error); });
}

function isLostOrOffline(error) {
  return error.code === ClientErrorCode.connectionLost || error.code === ClientErrorCode.notConnected;
}

function resultReceived(player, data, info) {
  if (player !== name || data === null || typeof data !== "object") return;
  play.showResult(data);
  raiseTotal(data.total);
  if (!info.retained) requestTop();
}

function topReceived(player, data) {
  if (player !== name || data === null || typeof data !== "object") return;
  board.show(data, name);
  raiseTotal(data.score);
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

function stateChanged({ state, retryAt }) {
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

function showError(error) {
  const code = error.code ? " (" + error.code + ")" : "";
  showToast((error.message || "The gateway reported an error") + code);
}

function clientError(error) {
  if (error instanceof StadiumError) {
    showError(error);
    return;
  }
  // A bug in this page's handlers: surface it as the uncaught exception it is.
  window.setTimeout(() => { throw error; });
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
  subscribePlayer(name);
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
  get resumedFrom() { return client.resumedFrom; },
});

client.subscribe("/question", (data, info) => play.showQuestion(data, info.retained));
subscribePlayer(name);
