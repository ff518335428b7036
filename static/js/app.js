// The app's only script besides htmx: the Content-Security-Policy forbids inline handlers
// (web/security.py), so behaviour is declared with data- attributes and wired here.
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});
