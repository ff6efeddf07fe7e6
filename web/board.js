// Leaderboard tab: the top 10 with the player's own row marked, or shown below when outside.
(function (ui) {
  "use strict";

  function cell(tag, text) {
    const element = document.createElement(tag);
    element.textContent = text;
    return element;
  }

  function row(rank, name, score, isMe) {
    const tr = document.createElement("tr");
    tr.dataset.name = name;
    if (isMe) {
      tr.classList.add("me");
      tr.setAttribute("aria-current", "true");
    }
    const nameCell = cell("td", name);
    if (isMe) nameCell.append(cell("span", " (you)"));
    tr.append(cell("td", rank), nameCell, cell("td", String(score)));
    return tr;
  }

  class BoardView {
    constructor() {
      this.top = document.getElementById("board-top");
      this.me = document.getElementById("board-me");
      this.status = document.getElementById("board-status");
    }

    loading() {
      if (this.top.childElementCount === 0) this.status.textContent = "Loading the leaderboard…";
    }

    // top: the /top/<user> record, {score, top: [{name, score}]}.
    show(top, myName) {
      const entries = Array.isArray(top.top) ? top.top.slice(0, 10) : [];
      const myScore = Number(top.score) || 0;
      const rows = entries.map((entry, index) =>
        row(String(index + 1), String(entry.name), Number(entry.score) || 0, entry.name === myName));
      this.top.replaceChildren(...rows);
      const inTop = entries.some((entry) => entry.name === myName);
      this.me.replaceChildren(...(inTop ? [] : [row("–", myName, myScore, true)]));
      this.me.classList.toggle("outside", !inTop);
      this.status.textContent = entries.length === 0
        ? "Nobody has scored yet."
        : inTop ? "You are in the top 10!" : "Your score is below the top 10.";
    }
  }

  ui.BoardView = BoardView;
})(window.StadiumUI = window.StadiumUI || {});
