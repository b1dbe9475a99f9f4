// Drag the signature box onto a page with a mouse, a pen or a finger (Pointer Events), or move it with the arrow
// keys. The box's place is kept in PDF points (origin at the page's lower left) in the placement form's fields;
// the server clamps it onto the page and checks that it covers nothing.
(function () {
  "use strict";
  var box = document.getElementById("signature-box");
  var form = document.getElementById("placement-form");
  if (!box || !form) return;
  var summary = document.getElementById("placement-summary");
  var field = function (name) { return form.elements[name]; };

  function pageOf(element) { return element.closest("figure.page"); }
  function scale(page) { return page.clientWidth / parseFloat(page.dataset.width); }

  function draw() {
    var page = pageOf(box);
    var s = scale(page);
    var height = parseFloat(page.dataset.height);
    box.style.width = parseFloat(field("width").value) * s + "px";
    box.style.height = parseFloat(field("height").value) * s + "px";
    box.style.left = parseFloat(field("x").value) * s + "px";
    box.style.top = (height - parseFloat(field("y").value) - parseFloat(field("height").value)) * s + "px";
  }

  function keep(page, left, top) {
    var s = scale(page);
    var w = parseFloat(field("width").value), h = parseFloat(field("height").value);
    var pw = parseFloat(page.dataset.width), ph = parseFloat(page.dataset.height);
    var x = Math.min(Math.max(0, left / s), pw - w);
    var y = Math.min(Math.max(0, ph - top / s - h), ph - h);
    field("page").value = page.dataset.page;
    field("x").value = x.toFixed(1);
    field("y").value = y.toFixed(1);
    if (summary) {
      summary.textContent = summary.dataset.template
        .replace("{page}", page.dataset.page).replace("{x}", Math.round(x)).replace("{y}", Math.round(y));
    }
    var warning = document.getElementById("overlap-warning");
    if (warning) warning.hidden = true;  // checked again by the server when the place is saved
    draw();
  }

  var start = null;
  box.addEventListener("pointerdown", function (event) {
    event.preventDefault();
    box.setPointerCapture(event.pointerId);
    var rect = box.getBoundingClientRect();
    start = { dx: event.clientX - rect.left, dy: event.clientY - rect.top };
    box.classList.add("dragging");
  });
  box.addEventListener("pointermove", function (event) {
    if (!start) return;
    var page = pageOf(box), rect = page.getBoundingClientRect();
    box.style.left = event.clientX - rect.left - start.dx + "px";
    box.style.top = event.clientY - rect.top - start.dy + "px";
  });
  box.addEventListener("pointerup", function (event) {
    if (!start) return;
    box.classList.remove("dragging");
    var target = null;
    box.style.visibility = "hidden";  // find the page under the pointer, not the box itself
    var under = document.elementFromPoint(event.clientX, event.clientY);
    box.style.visibility = "";
    target = under && under.closest ? under.closest("figure.page") : null;
    target = target || pageOf(box);
    if (target !== pageOf(box)) target.appendChild(box);
    var rect = target.getBoundingClientRect();
    keep(target, event.clientX - rect.left - start.dx, event.clientY - rect.top - start.dy);
    start = null;
  });
  box.addEventListener("keydown", function (event) {
    var steps = { ArrowLeft: [-5, 0], ArrowRight: [5, 0], ArrowUp: [0, -5], ArrowDown: [0, 5] };
    var step = steps[event.key];
    if (!step) return;
    event.preventDefault();
    keep(pageOf(box), box.offsetLeft + step[0], box.offsetTop + step[1]);
  });
  window.addEventListener("resize", draw);
  draw();
})();
