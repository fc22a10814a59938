// French date pickers (flatpickr, served locally under static/vendor/flatpickr, with its
// French locale: Monday first, French month and day names). Every text input carrying
// data-datepicker="date" (JJ/MM/AAAA), "datetime" (JJ/MM/AAAA HH:MM) or "time" (HH:MM, on
// 24 hours: the browser's own time input follows its en-US locale, 05:00 PM) gets a picker; typing a date by hand stays possible (allowInput) and the server reads the
// same formats, so the form works the same without this script. No inline script: the CSP
// is script-src 'self'.
(function () {
  "use strict";

  var FORMATS = {
    date: { dateFormat: "d/m/Y", enableTime: false },
    datetime: { dateFormat: "d/m/Y H:i", enableTime: true },
    time: { dateFormat: "H:i", enableTime: true, noCalendar: true },
  };

  function attach(input) {
    var kind = FORMATS[input.getAttribute("data-datepicker")];
    if (!kind || input._flatpickr) return;
    window.flatpickr(input, {
      locale: window.flatpickr.l10ns.fr,
      dateFormat: kind.dateFormat,
      enableTime: kind.enableTime,
      noCalendar: Boolean(kind.noCalendar),
      time_24hr: true,
      animate: false,
      minuteIncrement: 5,
      allowInput: true,
      disableMobile: true,
      // The calendar's own controls are labelled in French for screen readers.
      ariaDateFormat: "l j F Y",
    });
  }

  function start() {
    if (!window.flatpickr || !window.flatpickr.l10ns || !window.flatpickr.l10ns.fr) return;
    document.querySelectorAll("input[data-datepicker]").forEach(attach);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
