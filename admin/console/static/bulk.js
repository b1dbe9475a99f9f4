// The officials list's bulk edit: "select all on this page" ticks (or unticks) every row's box, and the bar says
// how many are ticked. Without JavaScript the rows are ticked one by one; the server decides what may be done.
"use strict";
(function () {
  const form = document.getElementById("bulk-form");
  const all = document.getElementById("select-all");
  if (!form || !all) return;
  const boxes = Array.from(document.querySelectorAll('input[type=checkbox][form="bulk-form"][name="login"]'));
  const count = document.getElementById("bulk-count");
  const text = document.getElementById("bulk-count-text").content.textContent;
  function show() {
    const ticked = boxes.filter(function (box) { return box.checked; }).length;
    count.textContent = ticked ? text.replace("{count}", ticked) : "";
    all.checked = ticked > 0 && ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  }
  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
    show();
  });
  boxes.forEach(function (box) { box.addEventListener("change", show); });
  show();
})();
