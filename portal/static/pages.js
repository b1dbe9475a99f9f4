// Each page keeps its proportions before its preview arrives (the page's size in points is in data-width and
// data-height), so that the layout does not jump and the signature box lands where it was put.
(function () {
  "use strict";
  document.querySelectorAll("figure.page").forEach(function (page) {
    page.style.aspectRatio = page.dataset.width + " / " + page.dataset.height;
  });
})();
