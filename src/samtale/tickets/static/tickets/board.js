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

  async function move(card, target) {
    const from = card.parentElement;
    if (!target || target === from) return;
    const before = card.nextSibling;
    target.prepend(card);
    bump(from, -1); bump(target, 1);
    card.focus();
    const body = new URLSearchParams({ stage: target.dataset.stage });
    let res = null;
    try {
      res = await fetch(card.dataset.moveUrl, { method: "POST", body, headers: { "X-CSRFToken": csrf(), "HX-Request": "true" } });
    } catch (err) { res = null; }
    if (res && res.ok) {
      const html = await res.text();
      const fresh = document.createElement("template");
      fresh.innerHTML = html.trim();
      const replacement = fresh.content.firstElementChild;
      if (replacement) { card.replaceWith(replacement); replacement.focus(); }
      said.textContent = board.dataset.moved + " " + nameOf(target);
      return;
    }
    // refused: back where it was, and why
    from.insertBefore(card, before);
    bump(target, -1); bump(from, 1);
    card.focus();
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
