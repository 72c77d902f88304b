// Satisfaction surveys in the chat: under an agent message, one rating per
// question (a button per score, a comment box, a send button). Each question
// is answered once, on its own. Every text is shown with textContent, never
// as HTML: questions and labels come from the desk's configuration.
(function () {
  "use strict";

  var COMMENT_MAX = 2000;
  var MAX_POINTS = 11;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function validScale(low, high) {
    return Number.isInteger(low) && Number.isInteger(high) &&
      high > low && high - low < MAX_POINTS;
  }

  // One question's form. ``send(frame)`` returns false when not connected.
  function Question(messageId, question, domId, send) {
    this.messageId = messageId;
    this.metric = String(question.metric);
    this.send = send;
    this.chosen = null;
    this.sending = null; // the answer frame on its way, until the desk confirms
    this.answered = false;
    this.buttons = [];
    this.build(question, domId);
  }

  Question.prototype.build = function (question, domId) {
    var self = this;
    var low = question.low;
    var high = question.high;
    var lowLabel = typeof question.low_label === "string" ? question.low_label : "";
    var highLabel = typeof question.high_label === "string" ? question.high_label : "";
    var form = el("form", "survey-question");
    form.noValidate = true;
    form.dataset.metric = this.metric;
    var text = el("p", "survey-text", String(question.question || ""));
    text.id = domId;
    form.appendChild(text);

    var scale = el("div", "survey-scale");
    scale.setAttribute("role", "group");
    scale.setAttribute("aria-labelledby", domId);
    for (var score = low; score <= high; score++) {
      var button = el("button", "survey-score", String(score));
      button.type = "button";
      button.value = String(score);
      button.setAttribute("aria-pressed", "false");
      var label = score === low ? lowLabel : score === high ? highLabel : "";
      button.setAttribute("aria-label", label ? score + ", " + label : String(score));
      button.addEventListener("click", this.choose.bind(this, score));
      scale.appendChild(button);
      this.buttons.push(button);
    }
    scale.addEventListener("keydown", function (event) { self.arrowKeys(event); });
    form.appendChild(scale);

    if (lowLabel || highLabel) {
      var ends = el("div", "survey-ends");
      ends.setAttribute("aria-hidden", "true"); // the end buttons' labels say it
      ends.appendChild(el("span", "survey-low", lowLabel));
      ends.appendChild(el("span", "survey-high", highLabel));
      form.appendChild(ends);
    }

    var commentLabel = el("label", "survey-comment");
    commentLabel.appendChild(el("span", "", "Comment (optional)"));
    this.comment = el("textarea");
    this.comment.rows = 2;
    this.comment.maxLength = COMMENT_MAX;
    commentLabel.appendChild(this.comment);
    form.appendChild(commentLabel);

    this.submit = el("button", "survey-send", "Send");
    this.submit.type = "submit";
    this.submit.disabled = true;
    form.appendChild(this.submit);
    this.note = el("p", "survey-note");
    this.note.setAttribute("role", "status");
    form.appendChild(this.note);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.sendAnswer();
    });
    this.form = form;
  };

  Question.prototype.setNote = function (text, isError) {
    this.note.textContent = text || "";
    this.note.classList.toggle("error", Boolean(isError));
  };

  Question.prototype.choose = function (score) {
    if (this.answered || this.sending) { return; }
    this.chosen = score;
    this.buttons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(Number(button.value) === score));
    });
    this.submit.disabled = false;
    this.setNote("");
  };

  Question.prototype.arrowKeys = function (event) {
    var index = this.buttons.indexOf(document.activeElement);
    if (index < 0) { return; }
    var next = { ArrowLeft: index - 1, ArrowRight: index + 1, Home: 0,
      End: this.buttons.length - 1 }[event.key];
    if (next === undefined) { return; }
    event.preventDefault();
    next = Math.max(0, Math.min(this.buttons.length - 1, next));
    this.buttons[next].focus();
  };

  Question.prototype.setBusy = function (busy) {
    this.buttons.forEach(function (button) { button.disabled = busy; });
    this.comment.disabled = busy;
    this.submit.disabled = busy || this.chosen === null;
  };

  Question.prototype.sendAnswer = function () {
    if (this.answered || this.sending || this.chosen === null) { return; }
    var comment = this.comment.value;
    if (comment.length > COMMENT_MAX) {
      this.setNote("That comment is too long (" + comment.length + " of " + COMMENT_MAX +
        " characters).", true);
      return;
    }
    var frame = { type: "survey_answer", id: this.messageId, metric: this.metric,
      score: this.chosen, comment: comment };
    if (!this.send(frame)) {
      this.setNote("Not connected; try again in a moment.", true);
      return;
    }
    this.sending = frame;
    this.setBusy(true);
    this.setNote("Sending…");
  };

  Question.prototype.resend = function () {
    if (this.sending && !this.answered) { this.send(this.sending); }
  };

  Question.prototype.done = function (score) {
    this.answered = true;
    this.sending = null;
    this.chosen = score;
    this.buttons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(Number(button.value) === score));
    });
    this.setBusy(true);
    this.form.classList.add("survey-done");
    this.setNote("Thank you for your answer!");
  };

  Question.prototype.refused = function (message) {
    this.sending = null;
    this.setBusy(false);
    this.setNote(message, true);
  };

  // The surveys of one page. ``send(frame)`` puts a frame on the websocket.
  window.agentdeskSurveys = function (send) {
    var questions = new Map(); // message id + "\n" + metric -> Question

    function find(messageId, metric) {
      return questions.get(String(messageId) + "\n" + String(metric));
    }

    return {
      // Add the survey of a ``message`` frame to its list item, if it has one.
      render: function (li, frame) {
        if (!Array.isArray(frame.survey) || !frame.survey.length) { return; }
        var box = el("div", "survey");
        var messageId = String(frame.id);
        frame.survey.forEach(function (question, index) {
          if (!question || typeof question.metric !== "string" ||
              !validScale(question.low, question.high)) {
            return;
          }
          var view = new Question(messageId, question, "survey-" + frame.seq + "-" + index, send);
          questions.set(messageId + "\n" + view.metric, view);
          box.appendChild(view.form);
          var answer = question.answer;
          if (answer && typeof answer.score === "number") { view.done(answer.score); }
        });
        li.classList.add("msg-survey");
        li.appendChild(box);
      },
      // A ``survey_answered`` frame: the desk has the answer.
      answered: function (frame) {
        var view = find(frame.id, frame.metric);
        if (view && typeof frame.score === "number") { view.done(frame.score); }
      },
      // An ``error`` frame about a survey; false when it is about none shown here.
      refused: function (frame) {
        var view = find(frame.survey, frame.metric);
        if (!view) { return false; }
        if (frame.code === "survey_answered" && typeof frame.score === "number") {
          view.done(frame.score);
        } else {
          view.refused(String(frame.message || "Not sent."));
        }
        return true;
      },
      // After a reconnect: answers sent but not confirmed go again.
      resend: function () {
        questions.forEach(function (view) { view.resend(); });
      },
      clear: function () { questions.clear(); },
    };
  };
})();
