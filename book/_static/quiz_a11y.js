/* Self-check questions (jupyterquiz, lib/quizzes.py): name each numeric answer field after its
   question and make each feedback line a status region, so that a screen reader announces
   whether an answer was right. jupyterquiz draws its questions with scripts of its own, so
   this watches the page for them. */
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
  document.addEventListener('DOMContentLoaded', function () {
    fix();
    new MutationObserver(fix).observe(document.body, {childList: true, subtree: true});
  });
})();
