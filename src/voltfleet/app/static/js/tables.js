// Every table cell without a data-label takes its column's heading as one, so that on a phone,
// where portal.css draws each row as a card (issue 19: no table may clip its right-hand columns),
// every value is shown beside the name of its column. Cells spanning columns are counted.
(function () {
  function label(table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head) return;
    var names = [];
    Array.prototype.forEach.call(head.cells, function (th) {
      for (var k = 0; k < (th.colSpan || 1); k++) names.push(th.textContent.trim());
    });
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var at = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          if (!cell.hasAttribute("data-label") && names[at] && (cell.colSpan || 1) === 1) {
            cell.setAttribute("data-label", names[at]);
          }
          at += cell.colSpan || 1;
        });
      });
    });
  }
  function all(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("table"), label);
  }
  document.addEventListener("DOMContentLoaded", function () { all(document); });
  document.addEventListener("htmx:afterSettle", function (e) { all(e.target.closest("table") ? e.target.closest("table").parentNode : e.target); });
})();
