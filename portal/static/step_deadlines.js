// The upload form's "a deadline for each step": one date-time field per reviewer and signer named above, kept in
// step with the two lists as the drafter types them (deadline-review-<name>, deadline-sign-<name>; empty: the
// document's deadline). Values already typed stay with their name when the lists change.
(function () {
  "use strict";
  var box = document.getElementById("step-deadlines");
  var rows = document.getElementById("step-deadline-rows");
  if (!box || !rows) { return; }
  var typed = JSON.parse(box.dataset.values || "{}");
  var lists = [["review", document.getElementById("reviewers")], ["sign", document.getElementById("signers")]];

  function names(input) {
    return input.value.replace(/,/g, " ").split(/\s+/).filter(function (n) { return n; });
  }

  function render() {
    rows.querySelectorAll("input").forEach(function (input) { typed[input.name] = input.value; });
    rows.textContent = "";
    var count = 0;
    lists.forEach(function (pair) {
      var kind = pair[0];
      if (!pair[1]) { return; }
      names(pair[1]).forEach(function (name) {
        var field = "deadline-" + kind + "-" + name.toLowerCase();
        var item = document.createElement("li");
        var label = document.createElement("label");
        var input = document.createElement("input");
        input.type = "datetime-local";
        input.name = field;
        input.id = field;
        input.value = typed[field] || "";
        label.htmlFor = field;
        label.textContent = box.dataset[kind + "Label"] + " — " + name;
        item.appendChild(label);
        item.appendChild(input);
        rows.appendChild(item);
        count += 1;
      });
    });
    box.hidden = count === 0;
  }

  lists.forEach(function (pair) { if (pair[1]) { pair[1].addEventListener("input", render); } });
  render();
})();
