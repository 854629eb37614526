// The pipeline board: drag a card onto another column to move it. A drop posts the move with
// htmx and swaps in the refreshed columns the server answers; a won or lost column first asks
// for the reason in a dialog. No library beyond htmx (already on every page).
(function () {
  "use strict";
  const board = document.getElementById("board");
  if (!board) return;
  const dialog = document.getElementById("close-dialog");
  const reasonInput = document.getElementById("close-reason");
  let dragged = null;

  function post(card, column, reason) {
    const values = { stage: column.dataset.stage, version: card.dataset.version, reason: reason || "" };
    if (board.dataset.owner) values.owner = board.dataset.owner;
    card.classList.add("moving");
    htmx.ajax("POST", card.dataset.moveUrl, { target: "#board", swap: "innerHTML", values: values });
  }

  function askReason(card, column) {
    const lost = column.dataset.stageKind === "lost";
    document.getElementById("close-dialog-title").textContent =
      (lost ? "Mark as lost: " : "Mark as won: ") + card.dataset.name;
    document.getElementById("close-dialog-text").textContent = lost
      ? "Why was it lost? The reason is kept on the opportunity and the account's timeline."
      : "What won it? (optional)";
    document.getElementById("close-reason-req").hidden = !lost;
    document.getElementById("close-reason-error").hidden = true;
    reasonInput.value = "";
    dialog.returnValue = "";
    dialog.onclose = function () {
      if (dialog.returnValue !== "confirm") return;
      post(card, column, reasonInput.value.trim());
    };
    dialog.showModal();
    reasonInput.focus();
  }

  document.getElementById("close-form").addEventListener("submit", function (event) {
    const lost = !document.getElementById("close-reason-req").hidden;
    if (event.submitter && event.submitter.value === "confirm" && lost && !reasonInput.value.trim()) {
      event.preventDefault();
      document.getElementById("close-reason-error").hidden = false;
      reasonInput.focus();
    }
  });

  board.addEventListener("dragstart", function (event) {
    const card = event.target.closest && event.target.closest(".board-card[draggable=true]");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.id);
  });
  board.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    board.querySelectorAll(".drop-target").forEach((c) => c.classList.remove("drop-target"));
  });
  board.addEventListener("dragover", function (event) {
    const column = event.target.closest && event.target.closest(".board-column");
    if (!dragged || !column) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    board.querySelectorAll(".drop-target").forEach((c) => c !== column && c.classList.remove("drop-target"));
    column.classList.add("drop-target");
  });
  board.addEventListener("drop", function (event) {
    const column = event.target.closest && event.target.closest(".board-column");
    if (!dragged || !column) return;
    event.preventDefault();
    const card = dragged;
    column.classList.remove("drop-target");
    if (card.closest(".board-column") === column) return;
    if (column.dataset.stageKind === "won" || column.dataset.stageKind === "lost") {
      askReason(card, column);
    } else {
      post(card, column, "");
    }
  });
})();
