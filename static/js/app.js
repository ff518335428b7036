// The app's only script besides htmx: the Content-Security-Policy forbids inline handlers
// (web/security.py), so behaviour is declared with data- attributes and wired here.
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
  var link = event.target.closest("[data-error-summary] a[href^='#']");
  if (link) {
    focusField(event, link.getAttribute("href").slice(1));
  }
});

// An error summary's link goes to the field itself, not only near it: the field takes the focus and
// its label is scrolled into view with it (a radio list's id is on its list, so its first input).
function focusField(event, id) {
  var target = document.getElementById(id);
  if (!target) {
    return;
  }
  var input = target.matches("input, select, textarea") ? target : target.querySelector("input, select, textarea");
  if (!input) {
    return;
  }
  event.preventDefault();
  var field = input.closest(".field") || input;
  field.scrollIntoView();
  input.focus({ preventScroll: true });
}

function focusOn(element) {
  if (!element.hasAttribute("tabindex") && !element.matches("a[href], button, input, select, textarea")) {
    element.setAttribute("tabindex", "-1");
  }
  element.focus();
}

// A form that failed opens with its error summary focused, so it is read out at once and seen.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    focusOn(summary);
  }
});

// After an htmx swap, focus follows the person's own action to what it brought, which is then read
// out: the error summary of a refused form, else the message it produced ([data-swap-focus]: a flash,
// "approved"), else the heading of a page reached by a boosted link or of the part of the page a
// click or a submit replaced (the next quiz question). Swaps the person did not ask for with a click
// or a submit (polling, a select's change, typing in a search box) leave focus where it is.
document.addEventListener("htmx:afterSettle", function (event) {
  var detail = event.detail;
  var trigger = detail.requestConfig && detail.requestConfig.triggeringEvent;
  if (detail.handledFocus || !trigger || (trigger.type !== "click" && trigger.type !== "submit")) {
    return;
  }
  // One settle event per swapped element: act on the request's own target (or, when that was
  // replaced whole, what replaced it), never on an out-of-band piece such as a live region.
  var root = event.target;
  if (root !== detail.target && detail.target.isConnected) {
    return;
  }
  detail.handledFocus = true;
  var main = document.getElementById("main");
  var message = root.querySelector("[data-error-summary]") || root.querySelector("[data-swap-focus]");
  if (message) {
    focusOn(message);
  } else if (detail.boosted && main) {
    focusOn(main.querySelector("h1") || main);
  } else {
    focusOn(root.querySelector("h1, h2, h3") || root);
  }
});

// The quiz countdown: from the seconds the server said were left when it drew the question, counted
// on this phone's monotonic clock (its wall clock may be wrong). At zero the question gives way to a
// short "time is up" message with the way to the result; the server refuses a late answer anyway.
var countdown = null;
function startCountdown(root) {
  var clock = root.querySelector("[data-countdown]");
  if (!clock) {
    return;
  }
  clearInterval(countdown);
  var card = clock.closest(".quiz") || document;
  var ends = performance.now() + Number(clock.dataset.countdown) * 1000;
  var tick = function () {
    var left = Math.max(0, Math.ceil((ends - performance.now()) / 1000));
    clock.textContent = clock.dataset.countdownLabel.replace("{s}", left);
    if (left > 0) {
      return;
    }
    clearInterval(countdown);
    var answering = card.querySelector("[data-answering]");
    var timeUp = card.querySelector("[data-time-up]");
    if (answering && timeUp) {
      answering.hidden = true;
      timeUp.hidden = false;
      focusOn(timeUp.querySelector("a") || timeUp);
    }
  };
  tick();
  countdown = setInterval(tick, 1000);
}
document.addEventListener("DOMContentLoaded", function () {
  startCountdown(document);
});
document.addEventListener("htmx:load", function (event) {
  startCountdown(event.target);
});

// "Select all on this page" ticks each item's own box too, so what will be approved is what is seen,
// and unticking one item unticks "all". Without JavaScript the server reads the page's list instead.
document.addEventListener("change", function (event) {
  var box = event.target;
  var all = box.form && box.form.elements.namedItem("all_on_page");
  if (!all || (box !== all && box.name !== "ids")) {
    return;
  }
  if (box === all) {
    Array.prototype.forEach.call(box.form.elements, function (item) {
      if (item.name === "ids") {
        item.checked = all.checked;
      }
    });
  } else if (!box.checked) {
    all.checked = false;
  }
});
