// Play tab: the current question, one answer per question, the countdown and the result.
(function (ui) {
  "use strict";

  const announcedSeconds = new Set([10, 5]);

  function byId(id) {
    return document.getElementById(id);
  }

  class PlayView {
    // onAnswer(question, index) sends the answer; it returns false when offline.
    constructor(onAnswer) {
      this.onAnswer = onAnswer;
      this.question = null;
      this.open = false;
      this.chosen = null;
      this.result = null;
      this.lastSecond = null;
      this.timer = null;
      this.card = byId("question-card");
      this.phase = byId("phase");
      this.buttons = [...document.querySelectorAll("#question-card .answer")];
      for (const button of this.buttons) {
        button.addEventListener("click", () => this.choose(Number(button.dataset.index)));
      }
      this.render();
    }

    // Called for every /question message; a retained one may be stale.
    showQuestion(question, retained) {
      if (!isQuestion(question)) return;
      const closed = question.deadline_ms <= Date.now();
      if (this.question !== null && this.question.id === question.id) {
        // A re-subscribe replays the question we already show: keep the player's answer.
        return;
      }
      this.question = question;
      this.open = !closed;
      this.chosen = null;
      this.result = null;
      this.lastSecond = null;
      this.setAnswerStatus("");
      if (closed && retained) {
        this.card.hidden = true;
      } else {
        this.fillQuestion();
      }
      this.startTimer();
      this.render();
    }

    // A new name is a new player: the old name's answer and result are not theirs.
    forgetPlayer() {
      this.chosen = null;
      this.result = null;
      this.setAnswerStatus("");
      this.render();
    }

    showResult(result) {
      if (this.question !== null && result.question_id === this.question.id) {
        // After a reload the result tells which answer we had already sent.
        if (this.chosen === null) this.chosen = result.answer;
        this.result = result;
      } else if (!this.open) {
        this.result = result;
      }
      this.render();
    }

    markAnswer(outcome) {
      const texts = {
        sent: "Answer sent…",
        acknowledged: "Answer acknowledged ✓",
        lost: "Connection lost before your answer was acknowledged.",
        rejected: "Your answer was not accepted.",
      };
      this.setAnswerStatus(texts[outcome] || "");
      if (outcome === "rejected" && this.open) {
        // The record never reached Kafka, so trying again cannot count twice.
        this.chosen = null;
        this.render();
      }
    }

    choose(index) {
      if (!this.open || this.chosen !== null) return;
      this.chosen = index;
      this.render();
      if (!this.onAnswer(this.question, index)) {
        this.chosen = null;
        this.setAnswerStatus("Offline: your answer was not sent. Try again when live.");
        this.render();
        return;
      }
      this.setAnswerStatus("Answer sent…");
    }

    setAnswerStatus(text) {
      byId("answer-status").textContent = text;
    }

    fillQuestion() {
      const question = this.question;
      byId("question").textContent = question.question;
      byId("points").textContent = question.points ? question.points + " points" : "";
      this.buttons.forEach((button, index) => {
        button.textContent = question.answers[index] === undefined ? "" : String(question.answers[index]);
        button.hidden = question.answers[index] === undefined;
      });
      byId("countdown-announce").textContent = "";
      this.card.hidden = false;
    }

    startTimer() {
      if (this.timer !== null) return;
      this.timer = window.setInterval(() => this.tick(), 250);
      this.tick();
    }

    tick() {
      if (this.question === null) return;
      const leftMs = this.question.deadline_ms - Date.now();
      const seconds = Math.max(0, Math.ceil(leftMs / 1000));
      if (seconds === this.lastSecond) return;
      this.lastSecond = seconds;
      byId("countdown").textContent = seconds > 0 ? seconds + " s" : "closed";
      if (!this.card.hidden && announcedSeconds.has(seconds)) {
        byId("countdown-announce").textContent = seconds + " seconds left";
      }
      if (seconds === 0) {
        if (!this.card.hidden && this.open) byId("countdown-announce").textContent = "Answers closed";
        this.open = false;
        window.clearInterval(this.timer);
        this.timer = null;
        this.render();
      }
    }

    render() {
      this.renderButtons();
      this.renderResult();
      this.phase.textContent = this.phaseText();
    }

    phaseText() {
      if (this.question === null || this.card.hidden) return "Waiting for the next question…";
      if (this.result !== null) return "Next question soon.";
      if (this.open) return this.chosen === null ? "Pick an answer." : "Waiting for the answers to close…";
      if (this.chosen !== null) return "Answers closed. Waiting for your result…";
      return "Time is up. Next question soon.";
    }

    renderButtons() {
      const correct = this.result === null ? null : this.result.correct_answer;
      this.buttons.forEach((button, index) => {
        button.disabled = !this.open || this.chosen !== null;
        button.classList.toggle("chosen", index === this.chosen);
        button.classList.toggle("correct", index === correct);
        button.classList.toggle("wrong", index === this.chosen && correct !== null && index !== correct);
        button.setAttribute("aria-pressed", index === this.chosen ? "true" : "false");
      });
    }

    renderResult() {
      const box = byId("result");
      const result = this.result;
      if (result === null) {
        box.hidden = true;
        box.textContent = "";
        box.className = "result";
        return;
      }
      const right = result.answer === result.correct_answer;
      box.className = "result " + (right ? "is-correct" : "is-wrong");
      const lines = [line("strong", right ? "Correct!" : "Wrong.")];
      if (!right) lines.push(line("span", "The right answer was " + this.answerText(result) + "."));
      lines.push(line("span", "+" + (result.points || 0) + " points, total " + result.total + "."));
      box.replaceChildren(...lines);
      box.hidden = false;
    }

    answerText(result) {
      const index = result.correct_answer;
      const matches = this.question !== null && this.question.id === result.question_id;
      const text = matches ? this.question.answers[index] : undefined;
      return text === undefined ? "answer " + (Number(index) + 1) : "“" + text + "”";
    }
  }

  function line(tag, text) {
    const element = document.createElement(tag);
    element.textContent = text;
    return element;
  }

  function isQuestion(value) {
    return value !== null && typeof value === "object" && Array.isArray(value.answers) &&
      typeof value.deadline_ms === "number" && value.id !== undefined;
  }

  ui.PlayView = PlayView;
})(window.StadiumUI = window.StadiumUI || {});
