/* Live Code offline. The launch menu's Live Code starts a kernel on mybinder.org; without a
   connection sphinx-thebe's status stays on "launching" for ever. Offline, the click says so
   instead, once, at the top of the page; online, a launch that has not got past "launching"
   after a minute says that mybinder.org has not answered. */
(function () {
  var NOTE_ID = 'bn-thebe-note';
  function say(text) {
    var note = document.getElementById(NOTE_ID);
    if (!note) {
      var article = document.querySelector('article.bd-article');
      if (!article) return;
      var box = document.createElement('div');
      box.className = 'admonition warning';
      box.innerHTML = '<p class="admonition-title">Live Code</p>';
      note = document.createElement('p');
      note.id = NOTE_ID;
      note.setAttribute('role', 'status');
      box.append(note);
      article.prepend(box);
    }
    note.textContent = text;
    note.parentElement.scrollIntoView({block: 'nearest'});
  }
  function stillLaunching() {
    var buttons = document.querySelectorAll('.thebe-launch-button');
    return buttons.length && Array.prototype.every.call(buttons, function (b) {
      return !/thebe-status-(building|built|starting|ready|server-ready|failed)/.test(b.className);
    });
  }
  document.addEventListener('click', function (event) {
    var button = event.target.closest && event.target.closest('.btn-launch-thebe');
    if (!button) return;
    if (navigator.onLine === false) {
      event.preventDefault();
      event.stopImmediatePropagation();
      say('Live Code runs this page on mybinder.org, and this device is offline. ' +
          'The sliders and the questions of the page work without it.');
      return;
    }
    setTimeout(function () {
      if (stillLaunching()) {
        say('Live Code: mybinder.org has not answered for a minute. Check the connection, ' +
            'or try again later; the sliders and the questions of the page work without it.');
      }
    }, 60000);
  }, true);
})();
