// The ticket board: a card moves to another stage by drag and drop, or from the keyboard (focus a
// card, Alt+Left / Alt+Right: the previous or next stage). The server answers with the card as it
// is now; the move is undone on screen when the server refuses it, with its reason.
(() => {
  const board = document.getElementById("board");
  if (!board) return;
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  const said = document.getElementById("board-said");
  const columns = () => Array.from(board.querySelectorAll(".board-cards"));
  const countOf = (list) => list.closest(".board-column").querySelector("[data-count]");
  const nameOf = (list) => list.closest(".board-column").querySelector("h2").firstChild.textContent.trim();

  function bump(list, by) {
    const el = countOf(list);
    el.textContent = String(Math.max(0, (parseInt(el.textContent, 10) || 0) + by));
  }

  // A card moves on screen at once; the moves are sent one after another, in the order they were
  // made (two quick moves sent at once could reach the server in the other order and leave the
  // ticket in the wrong stage). A card with moves still being saved carries data-saving.
  let queue = Promise.resolve();
  const pending = new Map();
  const current = (id) => document.getElementById(id);
  function settle(id) {
    const left = (pending.get(id) || 1) - 1;
    pending.set(id, left);
    const card = current(id);
    if (card && left === 0) delete card.dataset.saving;
    else if (card) card.dataset.saving = "1";
  }

  function move(card, target) {
    const from = card.parentElement;
    if (!target || target === from) return;
    const before = card.nextSibling;
    target.prepend(card);
    bump(from, -1); bump(target, 1);
    card.focus();
    const id = card.id, url = card.dataset.moveUrl, stage = target.dataset.stage;
    pending.set(id, (pending.get(id) || 0) + 1);
    card.dataset.saving = "1";
    queue = queue.then(() => send(id, url, stage, target, from, before)).catch(() => undefined);
  }

  async function send(id, url, stage, target, from, before) {
    let res = null;
    try {
      res = await fetch(url, { method: "POST", body: new URLSearchParams({ stage }), headers: { "X-CSRFToken": csrf(), "HX-Request": "true" } });
    } catch (err) { res = null; }
    const card = current(id);
    if (res && res.ok) {
      const fresh = document.createElement("template");
      fresh.innerHTML = (await res.text()).trim();
      const replacement = fresh.content.firstElementChild;
      if (replacement && card) {
        const focused = document.activeElement === card;
        card.replaceWith(replacement);
        if (focused) replacement.focus();
      }
      settle(id);
      said.textContent = board.dataset.moved + " " + nameOf(target);
      return;
    }
    // refused: back where it was, and why
    if (card && card.parentElement === target) {
      from.insertBefore(card, before && before.parentElement === from ? before : null);
      bump(target, -1); bump(from, 1);
      card.focus();
    }
    settle(id);
    const why = res ? await res.text() : "";
    said.textContent = board.dataset.notMoved + " " + (why.length < 300 ? why : res.status);
  }

  board.addEventListener("keydown", (e) => {
    const card = e.target.closest && e.target.closest(".board-card");
    if (!card) return;
    if (e.altKey && (e.key === "ArrowRight" || e.key === "ArrowLeft")) {
      e.preventDefault();
      const lists = columns();
      const at = lists.indexOf(card.parentElement);
      move(card, lists[at + (e.key === "ArrowRight" ? 1 : -1)]);
    } else if (e.key === "Enter") {
      const link = card.querySelector("a");
      if (link) link.click();
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const next = e.key === "ArrowDown" ? card.nextElementSibling : card.previousElementSibling;
      if (next && next.classList.contains("board-card")) next.focus();
    }
  });

  let dragged = null;
  board.addEventListener("dragstart", (e) => {
    dragged = e.target.closest && e.target.closest(".board-card");
    if (dragged) { e.dataTransfer.effectAllowed = "move"; e.dataTransfer.setData("text/plain", dragged.dataset.ticket); }
  });
  board.addEventListener("dragover", (e) => {
    if (dragged && e.target.closest && e.target.closest(".board-column")) e.preventDefault();
  });
  board.addEventListener("drop", (e) => {
    const column = e.target.closest && e.target.closest(".board-column");
    if (!dragged || !column) return;
    e.preventDefault();
    move(dragged, column.querySelector(".board-cards"));
    dragged = null;
  });
})();
