/* Self-check questions (jupyterquiz, lib/quizzes.py): name each numeric answer field after its
   question and make each feedback line a status region, so that a screen reader announces
   whether an answer was right; arrow keys that only move between choices; the feedback scrolled
   into view. jupyterquiz draws its questions with scripts of its own, so this watches the page
   for them. */
(function () {
  function fix() {
    document.querySelectorAll('.Quiz').forEach(function (quiz) {
      var question = quiz.querySelector('[id^="quizQn"]');
      var text = question ? question.textContent.trim() : 'this question';
      quiz.querySelectorAll('.Input-text:not([aria-label])').forEach(function (input) {
        input.setAttribute('aria-label', 'Your answer to: ' + text);
      });
      quiz.querySelectorAll('.Feedback:not([role])').forEach(function (feedback) {
        feedback.setAttribute('role', 'status');
      });
      quiz.querySelectorAll('.MCButton input:not([aria-describedby])').forEach(function (radio) {
        if (question && question.id) { radio.setAttribute('aria-describedby', question.id); }
      });
    });
  }
  // Arrow keys move between a question's choices without choosing one (jupyterquiz judges a
  // choice on its click, and a browser clicks each radio an arrow key selects); Space or Enter
  // chooses the focused one.
  var STEP = {ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1};
  function keys(event) {
    var radio = event.target;
    if (!radio.matches || !radio.matches('.MCButton input[type=radio]')) return;
    if (event.key in STEP) {
      event.preventDefault();
      var group = Array.prototype.slice.call(document.getElementsByName(radio.name));
      var next = group[(group.indexOf(radio) + STEP[event.key] + group.length) % group.length];
      next.focus();
    } else if (event.key === 'Enter') {
      event.preventDefault();
      radio.click();
    }
  }
  // The feedback under a question's choices is brought into view once an answer is judged: on a
  // phone it would otherwise appear below the screen's edge.
  function showFeedback(event) {
    var quiz = event.target.closest && event.target.closest('.Quiz');
    if (!quiz) return;
    setTimeout(function () {
      var feedback = quiz.querySelector('.Feedback');
      if (!feedback || !feedback.textContent.trim()) return;
      var box = feedback.getBoundingClientRect();
      if (box.bottom > window.innerHeight || box.top < 0) {
        feedback.scrollIntoView({block: 'nearest', behavior: 'smooth'});
      }
    }, 0);
  }
  document.addEventListener('DOMContentLoaded', function () {
    fix();
    new MutationObserver(fix).observe(document.body, {childList: true, subtree: true});
    document.addEventListener('keydown', keys, true);
    document.addEventListener('click', showFeedback);
    document.addEventListener('keyup', function (event) {
      if (event.key === 'Enter') showFeedback(event);
    });
  });
})();
