/* Keyboard shortcuts of the staff console (Jube-style skim/next), so that an analyst's day
   (queue -> next item -> decide) needs no mouse.
   Tables marked data-keylist (one or several on a page, read in page order): j / k move the
   selection, o or Enter open the selected row (its a[data-open] has the focus), a assigns it
   to me (its form[data-assign]). Any element with data-key="x": pressing x focuses it (a
   field), submits it (a form), focuses the element its data-focus names, or follows /
   presses it (a link or button). "?" opens the page's dialog[data-keyhelp] (Esc closes it);
   Ctrl+Enter (Cmd+Enter) inside a form[data-ctrl-enter] submits it.
   Keys are ignored while typing in a field or with Alt, Ctrl or Meta held. */
(function () {
  "use strict";
  var FIELDS = /^(INPUT|TEXTAREA|SELECT)$/;
  var rows = [];
  Array.prototype.forEach.call(document.querySelectorAll("[data-keylist]"), function (list) {
    rows = rows.concat(Array.prototype.slice.call(list.querySelectorAll("tr[data-href]")));
  });
  var current = -1;

  function typing(el) { return el && (el.isContentEditable || FIELDS.test(el.tagName)); }

  function select(index) {
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (row, i) {
      row.classList.toggle("selected", i === current);
      row.setAttribute("aria-selected", i === current ? "true" : "false");
    });
    var link = rows[current].querySelector("a[data-open]");
    if (link) { link.focus(); }
  }

  function onRow(key) {
    if (key === "j" || key === "k") { select(current + (key === "j" ? 1 : -1)); return true; }
    if (current < 0) { return false; }
    if (key === "o") { window.location.href = rows[current].getAttribute("data-href"); return true; }
    if (key === "a") {
      var form = rows[current].querySelector("form[data-assign]");
      if (form) { form.submit(); return true; }
    }
    return false;
  }

  function help() {
    var dialog = document.querySelector("dialog[data-keyhelp]");
    if (!dialog) { return false; }
    if (dialog.open) { dialog.close(); } else { dialog.showModal(); }
    return true;
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-keyhelp-open]"), function (b) {
    b.addEventListener("click", function () { help(); });
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      var form = ev.target && ev.target.closest ? ev.target.closest("form[data-ctrl-enter]") : null;
      if (form) { ev.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (ev.altKey || ev.ctrlKey || ev.metaKey || typing(ev.target)) { return; }
    var key = ev.key;
    if (key === "?") { if (help()) { ev.preventDefault(); } return; }
    if (!/^[a-z]$/.test(key)) { return; }
    if (document.querySelector("dialog[data-keyhelp][open]")) { return; }
    if (rows.length && onRow(key)) { ev.preventDefault(); return; }
    var target = document.querySelector('[data-key="' + key + '"]');
    if (!target) { return; }
    ev.preventDefault();
    var focus = target.getAttribute("data-focus");
    if (focus) { document.getElementById(focus).focus(); }
    else if (FIELDS.test(target.tagName)) { target.focus(); }
    else if (target.tagName === "FORM") { target.submit(); }
    else { target.click(); }
  });
})();
