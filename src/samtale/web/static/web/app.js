// Samtale inbox: live updates over one WebSocket, keyboard shortcuts, the editor and mentions.
(function () {
  "use strict";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const csrf = () => $('meta[name="csrf-token"]').content;
  // htmx.ajax, without an unhandled rejection when a newer redraw replaces a request in flight
  // (hx-sync aborts it on purpose); failed answers are shown by the responseError handler
  const ajax = (...args) => htmx.ajax(...args).catch(() => undefined);
  // what the script says, in the page's language (`web.context.ui_strings`)
  let strings = null;
  function say(key, values) {
    if (strings === null) { const el = $("#ui-strings"); strings = el ? JSON.parse(el.textContent) : {}; }
    let text = strings[key] || key;
    Object.entries(values || {}).forEach(([name, value]) => { text = text.replace("%(" + name + ")s", String(value)); });
    return text;
  }

  function toast(text, isError, link, action) {
    const box = $("#toasts");
    if (!box) return null;
    const el = document.createElement("div");
    el.className = "toast" + (isError ? " error" : "");
    el.textContent = text;
    if (link) {
      const a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      el.append(" — ", a);
    }
    if (action) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "toast-action";
      b.textContent = action.label;
      b.addEventListener("click", () => { el.remove(); action.run(); });
      el.append(" ", b);
    }
    box.appendChild(el);
    setTimeout(() => el.remove(), action ? 8000 : isError ? 6000 : 3500);
    return el;
  }
  window.samtaleToast = toast;

  // Undo: close, Trash, Spam, Block and bulk actions can be taken back from their toast for a few
  // seconds (or with "z"). The server says what was done and what takes it back.
  let lastUndo = null;
  function offerUndo(undo) {
    const run = () => {
      lastUndo = null;
      const request = undo.url
        ? fetch(undo.url, { method: "POST", body: new URLSearchParams({ undo: "1" }), headers: { "X-CSRFToken": csrf(), "HX-Request": "true" } })
        : fetch(app().dataset.bulkUrl, { method: "POST", body: new URLSearchParams({ action: undo.action, ids: undo.ids.join(",") }), headers: { "X-CSRFToken": csrf(), "HX-Request": "true" } });
      request.then((res) => {
        if (!res.ok) { res.text().then((text) => toast(text.length < 400 ? text : say("error", { status: res.status }), true)); return; }
        toast(say("undone"));
        schedule({ nav: true, list: true, thread: !!(undo.conversation && String(undo.conversation) === String(state().open)) });
      }).catch(() => toast(say("network_not_undone"), true));
    };
    const el = toast(undo.text, false, null, { label: say("undo"), run });
    lastUndo = { el, run };
  }

  // What the server asks the page to do (HX-Trigger: a toast, an Undo offer, a redraw of the views)
  // is read from the response itself: an event on the element that sent the request never arrives
  // when a live redraw has replaced that element meanwhile (the Close button, say).
  function serverSaid(header) {
    let said = null;
    try { said = JSON.parse(header || "null"); } catch (err) { return; }
    if (!said || typeof said !== "object") return;
    if (said["samtale:undo"]) offerUndo(said["samtale:undo"]);
    if (said["samtale:toast"]) toast(said["samtale:toast"]);
    if (said["samtale:views-changed"]) schedule({ nav: true });
    if (said["samtale:redraw"]) schedule({ nav: true, list: true, thread: true });
  }
  document.addEventListener("htmx:beforeRequest", (e) => {
    const xhr = e.detail.xhr;
    xhr.addEventListener("load", () => { if (xhr.status < 400) serverSaid(xhr.getResponseHeader("HX-Trigger")); });
  });

  document.addEventListener("htmx:responseError", (e) => {
    const xhr = e.detail.xhr;
    toast(xhr.responseText && xhr.responseText.length < 400 ? xhr.responseText : say("error", { status: xhr.status }), true);
  });
  document.addEventListener("htmx:sendError", () => toast(say("network_not_saved"), true));

  const app = () => $("#app");
  const state = () => {
    const a = app();
    const thread = $("#thread");
    return a ? { inbox: a.dataset.inbox, view: a.dataset.view, open: thread ? thread.dataset.conversation : "" } : {};
  };

  // ---------------------------------------------------------------- live refresh
  let pending = { nav: false, list: false, thread: false };
  let timer = null;
  // Events in a burst are redrawn together, at most 120 ms after the first of them: a steady
  // stream of events (a busy inbox) must not keep postponing the redraw.
  function schedule(what) {
    Object.assign(pending, what);
    if (timer === null) timer = setTimeout(flush, 120);
  }
  function flush() {
    if (timer !== null) { clearTimeout(timer); timer = null; }
    const a = app();
    if (!a) return Promise.resolve();
    const p = pending;
    pending = { nav: false, list: false, thread: false };
    const s = state(), done = [];
    if (p.nav) done.push(ajax("GET", a.dataset.navUrl + "?view=" + encodeURIComponent(s.view), { source: "#sync-nav", target: "#nav", swap: "outerHTML" }));
    if (p.list && switching) pending.list = true;  // the view being opened brings its list; redrawn after
    else if (p.list) done.push(refreshList());
    if (p.thread && s.open) {
      // keep as many entries as the agent had opened ("Show earlier"), and the place they read at
      done.push(ajax("GET", "/c/" + s.open + "/?part=body", { source: "#sync-thread", target: "#thread-body", swap: "innerHTML" }));
    }
    return Promise.all(done);
  }
  function refreshList() {
    const a = app();
    const form = $("#search-form");
    if (!a || !form) return;
    const params = new URLSearchParams(new FormData(form));
    const s = state();
    if (s.open) params.set("open", s.open);
    params.set("shown", String($$("#rows .row").length));  // rows loaded with "Load more" stay
    listState = null;
    return ajax("GET", a.dataset.listUrl + "?" + params.toString(), { source: "#sync-list", target: "#list", swap: "outerHTML" }).then(() => {
      if (!listState) return;  // aborted by a newer redraw, which restores instead
      const { checked, top, cursor, focused } = listState;
      listState = null;
      $$(".row-check").forEach((c) => { if (checked.has(c.value)) c.checked = true; });
      const scroller = $("#list-pane");
      if (scroller) scroller.scrollTop = top;
      // a keyboard user keeps their place: the row they had moved to, and the focus on it
      const atCursor = cursor && document.getElementById(cursor);
      if (atCursor) atCursor.classList.add("cursor");
      const toFocus = focused && document.getElementById(focused.row);
      const target = toFocus && $(focused.part, toFocus);
      if (target && (document.activeElement === document.body || !document.activeElement)) target.focus({ preventScroll: true });
      updateBulk();
    });
  }
  // The agent's own change to the thread answers with the thread as it now is: a live redraw still
  // on its way was asked for before it and would put the older state back.
  document.addEventListener("htmx:beforeRequest", (e) => {
    const target = e.detail.target, elt = e.detail.elt;
    if (!target || !elt || elt.id === "sync-thread" || !["thread-body", "thread-pane"].includes(target.id)) return;
    const sync = $("#sync-thread");
    if (sync) htmx.trigger(sync, "htmx:abort");
  });
  // What the agent did on the list while a redraw was on its way (ticked rows, the scroll) is taken
  // at the moment of the swap, not when the redraw was asked for: a row ticked meanwhile stays ticked.
  let listState = null;
  document.addEventListener("htmx:beforeSwap", (e) => {
    if (!e.detail.target || e.detail.target.id !== "list" || e.detail.requestConfig.elt.id !== "sync-list") return;
    const scroller = $("#list-pane");
    const row = document.activeElement && document.activeElement.closest && document.activeElement.closest("#list .row[id]");
    const cursor = $("#list .row.cursor[id]");
    listState = { checked: new Set($$(".row-check:checked").map((c) => c.value)), top: scroller ? scroller.scrollTop : 0,
      cursor: cursor ? cursor.id : null,
      focused: row ? { row: row.id, part: document.activeElement.classList.contains("row-check") ? ".row-check" : ".row-link" } : null };
  });

  function onEvent(msg) {
    const s = state();
    if (msg.event === "conversation.changed" && String(msg.inbox_id) === String(s.inbox)) {
      const ids = (msg.conversation_ids || [msg.conversation_id]).map(String);
      const touchesOpen = s.open && ids.includes(String(s.open));
      if (touchesOpen && msg.change === "deleted") {
        $("#thread-pane").innerHTML = '<div class="empty-thread"><p>—</p></div>';
      }
      schedule({ nav: true, list: true, thread: touchesOpen && msg.change !== "deleted" });
    } else if (msg.event === "notification.created") {
      const badge = $("#bell-count");
      if (badge) { badge.textContent = String((parseInt(badge.textContent, 10) || 0) + 1); badge.hidden = false; }
      const label = msg.kind === "mention" ? say("mentioned") : say("assigned");
      toast(label, false, { href: "/c/" + encodeURIComponent(msg.conversation_id) + "/", text: say("open") });
      const panel = $("#bell-panel");
      if (panel && !panel.hidden) ajax("GET", "/notifications/", { source: "#bell-panel", target: "#bell-panel", swap: "innerHTML" });
    } else if (msg.event === "availability.changed" || msg.event === "availability.filters_changed") {
      const table = $("#availability-table");
      if (table && msg.event === "availability.changed") {
        ajax("GET", table.dataset.url, { source: "#availability-table", target: "#availability-table", swap: "outerHTML" });
      }
      if (msg.event === "availability.filters_changed" && table) {
        ajax("GET", location.pathname, { source: "#availability-table", target: ".settings-main", select: ".settings-main", swap: "outerHTML" });
        return;
      }
      if (msg.event === "availability.changed") refreshOwners();
      const menu = $("#status-menu");
      const me = document.body.dataset.me;
      if (menu && String(msg.user_id) === me) redrawStatusMenu();
    } else if (msg.event === "inbox.changed") {
      schedule({ nav: true });
    } else if (msg.event === "contact.changed") {
      // a teammate changed the contact beside the open conversation: its sidebar section is drawn
      // again (not while this person is editing it: their typing wins, and Save sends it)
      const about = $("#sidebar-about");
      const ids = (msg.contact_ids || []).map(String);
      if (about && ids.includes(about.dataset.contact)) {
        if (msg.change === "merged" || msg.change === "deleted") schedule({ thread: true });
        else if (!about.contains(document.activeElement)) {
          ajax("GET", "/contacts/" + encodeURIComponent(about.dataset.contact) + "/about/", { source: "#sidebar-about", target: "#sidebar-about", swap: "outerHTML" });
        }
      }
    }
    // a piece of the page that names the event it follows (data-live-event) is drawn again when
    // that event is about its object (data-live-id among the event's data-live-key ids)
    $$("[data-live-event]").forEach((el) => {
      if (el.dataset.liveEvent !== msg.event || el.contains(document.activeElement)) return;
      const ids = (msg[el.dataset.liveKey] || []).map(String);
      if (ids.includes(el.dataset.liveId) && el.id) ajax("GET", el.dataset.liveUrl, { source: "#" + el.id, target: "#" + el.id, swap: "outerHTML" });
    });
    if (msg.event === "chat.typing" && String(msg.conversation_id) === String(s.open)) {
      const line = $("#chat-typing");
      if (line) {
        line.hidden = !msg.on;
        clearTimeout(visitorTypingTimer);
        if (msg.on) visitorTypingTimer = setTimeout(() => { const l = $("#chat-typing"); if (l) l.hidden = true; }, 6000);
      }
    } else if ((msg.event === "chat.read" || msg.event === "chat.visitor") && String(msg.conversation_id) === String(s.open)) {
      schedule({ thread: true });
    }
  }
  let visitorTypingTimer = null;

  // A chat: the visitor sees when the agent types, and what the agent has seen.
  function socketSend(obj) { if (socket && socket.readyState === 1) socket.send(JSON.stringify(obj)); }
  function openChat() { const st = $("#chat-status"); return st ? parseInt(st.dataset.conversation, 10) : 0; }
  let agentTyping = 0, agentTypingIdle = null;
  document.addEventListener("input", (e) => {
    if (!e.target.closest || !e.target.closest("#reply-editor")) return;
    const id = openChat();
    if (!id) return;
    const now = Date.now();
    if (now - agentTyping > 2500) { agentTyping = now; socketSend({ type: "typing", conversation: id, on: true }); }
    clearTimeout(agentTypingIdle);
    agentTypingIdle = setTimeout(() => { agentTyping = 0; socketSend({ type: "typing", conversation: id, on: false }); }, 4000);
  });
  document.addEventListener("htmx:beforeRequest", (e) => {
    if (e.detail.elt && e.detail.elt.id === "reply-form" && agentTyping) {
      const id = openChat();
      agentTyping = 0; clearTimeout(agentTypingIdle);
      if (id) socketSend({ type: "typing", conversation: id, on: false });
    }
  });
  let lastSeenSent = {};
  function sendSeen() {
    const id = openChat();
    if (!id || document.visibilityState !== "visible") return;
    const ids = $$(".entry.message[data-message]").map((x) => parseInt(x.dataset.message, 10)).filter((n) => n > 0);
    const newest = ids.length ? Math.max.apply(null, ids) : 0;
    if (newest > (lastSeenSent[id] || 0)) { lastSeenSent[id] = newest; socketSend({ type: "seen", conversation: id, up_to: newest }); }
  }
  document.addEventListener("htmx:afterSwap", sendSeen);
  document.addEventListener("visibilitychange", sendSeen);

  function redrawStatusMenu() {
    return ajax("GET", "/me/status/", { source: "#status-menu", target: "#status-menu", swap: "outerHTML" });
  }
  let socket = null;
  let retry = 500;
  let connectedBefore = false;
  function connect() {
    if (!app() && !$("#bell")) return;
    const proto = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(proto + location.host + "/ws/agent/");
    socket.onopen = () => {
      retry = 500;
      // Back after the socket was away: what changed meanwhile sent events nobody heard, so what is
      // on screen is fetched again, and the page says it is live once that is drawn. (Not on the
      // first connect: the page was just drawn, and redrawing it under the agent's first click or
      // key would lose them; the agent's own changes redraw the list without the socket.)
      const back = connectedBefore;
      connectedBefore = true;
      const menu = $("#status-menu"), inUse = menu && menu.querySelector("details[open]");
      if (back) Object.assign(pending, { nav: true, list: true, thread: true });
      Promise.all(back ? [flush(), menu && !inUse ? redrawStatusMenu() : null] : [])
        .finally(() => { if (socket && socket.readyState === 1) document.body.dataset.live = "1"; });
      sendSeen();
    };
    socket.onmessage = (e) => { try { onEvent(JSON.parse(e.data)); } catch (err) { console.error(err); } };
    socket.onclose = () => {
      document.body.dataset.live = "0";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }

  // ---------------------------------------------------------------- bell
  document.addEventListener("click", (e) => {
    const bell = e.target.closest("#bell-button");
    const panel = $("#bell-panel");
    if (bell && panel) { panel.hidden = !panel.hidden; bell.setAttribute("aria-expanded", String(!panel.hidden)); return; }
    if (panel && !panel.hidden && !e.target.closest("#bell")) closeBell();
  });
  function closeBell() {
    const panel = $("#bell-panel"), bell = $("#bell-button");
    if (panel) panel.hidden = true;
    if (bell) bell.setAttribute("aria-expanded", "false");
  }
  document.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.target && e.detail.target.id === "bell-panel") {
      const unread = $(".notif-panel", e.detail.target);
      const badge = $("#bell-count");
      if (unread && badge) { badge.textContent = unread.dataset.unread; badge.hidden = unread.dataset.unread === "0"; }
    }
  });

  // ---------------------------------------------------------------- list, bulk, search
  function updateBulk() {
    const bar = $("#bulk-bar");
    if (!bar) return;
    const n = $$(".row-check:checked").length;
    bar.hidden = n === 0;
    const label = $("#bulk-count");
    if (label) label.textContent = say("selected", { n });
  }
  // The search box searches as it is typed in (after a pause, or on Enter): the "change" it fires
  // when left would only search again and redraw the list under what the agent clicks next (the
  // "Save as view" button, say), so it does not reach the search form.
  document.addEventListener("change", (e) => { if (e.target.id === "q") e.stopPropagation(); }, true);
  document.addEventListener("change", (e) => {
    if (e.target.id === "select-all") { $$(".row-check").forEach((c) => { c.checked = e.target.checked; }); updateBulk(); }
    if (e.target.classList.contains("row-check")) updateBulk();
    // the sort select belongs to the search form (form=) but sits outside it: its change does not
    // reach the form's own trigger, so it is passed on (in every view, searching or not)
    if (e.target.id === "sort") htmx.trigger($("#search-form"), "submit");
  });
  document.addEventListener("click", async (e) => {
    const btn = e.target.closest("[data-bulk]");
    if (btn) {
      const ids = $$(".row-check:checked").map((c) => c.value);
      if (!ids.length) return;
      if (btn.dataset.confirm && !window.confirm(btn.dataset.confirm)) return;
      const body = new URLSearchParams({ action: btn.dataset.bulk, ids: ids.join(",") });
      const res = await fetch(app().dataset.bulkUrl, { method: "POST", body, headers: { "X-CSRFToken": csrf(), "HX-Request": "true" } });
      if (!res.ok) { toast(await res.text(), true); return; }
      serverSaid(res.headers.get("HX-Trigger"));
      $$(".row-check").forEach((c) => { c.checked = false; });
      schedule({ nav: true, list: true });
      return;
    }
    if (e.target.closest("#exit-search")) {
      const form = $("#search-form");
      form.reset();
      $$("input[type=search], input[type=date], #contact-filter", form).forEach((i) => { i.value = ""; });
      $$("select", form).forEach((s) => { s.selectedIndex = 0; });
      $$("input[type=checkbox][name=include_inactive]", form).forEach((c) => { c.checked = false; });
      $$("input[type=checkbox][name=hide_filtered], input[type=checkbox][name=hide_trash]", form).forEach((c) => { c.checked = true; });
      $("#filters").hidden = true;
      htmx.trigger(form, "submit");
      return;
    }
    if (e.target.closest("#filters-toggle")) {
      const f = $("#filters"); f.hidden = !f.hidden; return;
    }
    const cf = e.target.closest("[data-action=contact-filter]");
    if (cf) {
      $("#contact-filter").value = cf.dataset.contact;
      $("#filters").hidden = false;
      htmx.trigger("#search-form", "submit");
      return;
    }
    const compose = e.target.closest("[data-action=compose]");
    if (compose) {
      // From the contact panel the address is filled in; from the views it is left empty.
      const to = $("#compose-form input[name=to]");
      if (to) to.value = compose.dataset.to || "";
      $("#compose-dialog").showModal();
      const next = compose.dataset.to ? $("#compose-form input[name=subject]") : to;
      if (next) next.focus();
      return;
    }
    if (e.target.closest("[data-action=toggle-contact]")) { toggleContact(); return; }
    if (e.target.closest("[data-action=toggle-nav]")) { toggleNav(); return; }
    if (e.target.closest("[data-action=enlarge]")) { $("#composer").classList.toggle("large"); return; }
    const load = e.target.closest(".load-images");
    if (load) {
      // Remote images load only on request, and only over http(s).
      const entry = load.closest(".entry");
      $$("img[data-src]", entry).forEach((img) => {
        const src = img.getAttribute("data-src") || "";
        if (/^https?:\/\//i.test(src)) img.src = src;
      });
      load.remove();
      return;
    }
    const copyValue = e.target.closest(".copy-value");
    if (copyValue) {
      const field = $(copyValue.dataset.copy);
      if (field) {
        try { await navigator.clipboard.writeText(field.value); } catch (err) { field.select(); document.execCommand("copy"); }
        toast(say("copied"));
      }
      return;
    }
    const copy = e.target.closest(".copy-link");
    if (copy) {
      const url = location.origin + copy.dataset.url;
      try { await navigator.clipboard.writeText(url); } catch (err) {
        const ta = document.createElement("textarea"); ta.value = url; document.body.appendChild(ta); ta.select();
        document.execCommand("copy"); ta.remove();
      }
      document.body.dataset.copied = url;
      toast(say("link_copied", { url }));
      return;
    }
    const tab = e.target.closest(".tab[data-tab]");
    if (tab) { selectTab(tab.dataset.tab); return; }
    const cmd = e.target.closest("[data-cmd]");
    if (cmd) {
      e.preventDefault();
      $("#reply-editor").focus();
      if (cmd.dataset.cmd === "createLink") {
        const url = prompt("URL");
        if (url && /^(https?:|mailto:)/i.test(url)) document.execCommand("createLink", false, url);
      } else document.execCommand(cmd.dataset.cmd, false, null);
    }
  });

  function selectTab(name) {
    $$(".tab[data-tab]").forEach((t) => { const on = t.dataset.tab === name; t.classList.toggle("active", on); t.setAttribute("aria-selected", on); });
    $$(".tab-panel").forEach((p) => { p.hidden = p.dataset.panel !== name; });
    const target = name === "reply" ? $("#reply-editor") : $("#comment-text");
    if (target) target.focus();
  }

  // A redraw of the list (a live update, the search's own change) keeps a view name being typed.
  let typedView = null;
  document.addEventListener("htmx:beforeSwap", (e) => {
    if (!e.detail.target || e.detail.target.id !== "list") return;
    const name = $(".save-view input[name=name]"), shared = $(".save-view input[name=shared]");
    typedView = name && name.value ? { value: name.value, focused: document.activeElement === name, shared: shared && shared.checked } : null;
  });
  document.addEventListener("htmx:afterSwap", (e) => {
    if (!typedView || !e.detail.target || e.detail.target.id !== "list") return;
    const name = $(".save-view input[name=name]"), shared = $(".save-view input[name=shared]");
    if (name && !name.value) {
      name.value = typedView.value;
      if (shared) shared.checked = typedView.shared;
      if (typedView.focused) name.focus();
    }
    typedView = null;
  });

  // Actions that redraw the thread keep the entries the agent had opened with "Show earlier".
  document.addEventListener("htmx:configRequest", (e) => {
    const oldest = $("#entries > li.entry[data-cursor]");
    if (e.detail.target && e.detail.target.id === "thread-body" && oldest && !("since" in e.detail.parameters)) {
      e.detail.parameters.since = oldest.dataset.cursor;
      // what a redraw shows counts as read only if the agent can see it (not a tab in the background)
      if (document.visibilityState === "visible") e.detail.parameters.seen = "1";
    }
  });

  // A thread opens at the first entry new to this agent (the server marks it), else at its newest
  // (the one to answer); the earlier ones are above it.
  function toNewest() {
    const body = $("#thread-body");
    if (!body || new URLSearchParams(location.search).get("message")) return;
    const fresh = $("#first-unread");
    const head = $(".thread-head", body);  // (sticky: the divider goes just below it, not under it)
    const top = head ? head.getBoundingClientRect().bottom : body.getBoundingClientRect().top;
    if (fresh) body.scrollTop += fresh.getBoundingClientRect().top - top - 8;
    else body.scrollTop = body.scrollHeight;
  }

  // A live refresh of the open thread keeps what the person had open (the More menu) and where
  // they were reading (at the bottom: stay there, so a new message shows).
  let menuWasOpen = false, atBottom = false;
  document.addEventListener("htmx:beforeSwap", (e) => {
    const target = e.detail.target;
    const body = $("#thread-body");
    if (target && target.id === "thread-body") {
      const menu = $("#more-menu");
      menuWasOpen = !!(menu && menu.open && !e.detail.requestConfig.elt.closest("#more-menu"));
      atBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 40;
    }
  });
  document.addEventListener("htmx:afterSwap", (e) => {
    const target = e.detail.target;
    const body = $("#thread-body");
    if (target && target.id === "thread-body") {
      const menu = $("#more-menu");
      if (menuWasOpen && menu) menu.open = true;
      menuWasOpen = false;
      const by = e.detail.requestConfig && e.detail.requestConfig.elt;
      if (atBottom || (by && (by.id === "reply-form" || by.id === "comment-form"))) body.scrollTop = body.scrollHeight;
    }
    if (target && target.id === "thread-pane") { toNewest(); const a = app(); if (a) a.classList.toggle("thread-open", !!$("#thread")); }
  });
  // "Show N earlier": the earlier page goes above, and what the agent was reading stays put.
  document.addEventListener("click", (e) => {
    const button = e.target.closest && e.target.closest("button.show-earlier");
    if (!button) return;
    const body = $("#thread-body"), row = button.closest("li");
    const fromBottom = body.scrollHeight - body.scrollTop;
    const firstShown = $("#entries > li.entry");
    button.disabled = true;
    ajax("GET", button.dataset.url, { source: button, target: row, swap: "outerHTML" }).then(() => {
      body.scrollTop = body.scrollHeight - fromBottom;
      // keyboard and screen-reader users continue at the newest of the loaded entries
      let last = firstShown ? firstShown.previousElementSibling : null;
      while (last && !last.classList.contains("entry")) last = last.previousElementSibling;  // (past "New")
      if (last) {
        last.setAttribute("tabindex", "-1");
        last.focus({ preventScroll: true });
      }
    });
  });


  // Row opened: mark it, keep the app's notion of the open conversation.
  document.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.target && e.detail.target.id === "thread-pane") {
      const t = $("#thread");
      const a = app();
      if (a && t) a.dataset.open = t.dataset.conversation;
      $$(".row").forEach((r) => r.classList.toggle("open", t && r.dataset.id === t.dataset.conversation));
    }
  });

  // Editor: copy the rich text into the form before it is sent; clear after success.
  document.addEventListener("htmx:configRequest", (e) => {
    if (e.detail.elt && e.detail.elt.id === "reply-form") {
      e.detail.parameters.html = $("#reply-editor").innerHTML;
    }
  });
  // The agent's own change to a conversation shows in the list and the counts whether or not the
  // socket is listening yet (its event, when heard, is folded into the same redraw).
  document.addEventListener("htmx:afterRequest", (e) => {
    const config = e.detail.requestConfig;
    if (e.detail.successful && config && config.verb === "post" && /^\/c\/\d+\//.test(config.path || "")) schedule({ nav: true, list: true });
  });
  document.addEventListener("htmx:afterRequest", (e) => {
    if (!e.detail.successful || !e.detail.elt) return;
    if (e.detail.elt.id === "reply-form") { $("#reply-editor").innerHTML = ""; const f = $("#reply-files"); if (f) f.value = ""; }
    if (e.detail.elt.id === "comment-form") $("#comment-text").value = "";
    if (e.detail.elt.id === "compose-form") $("#compose-dialog").close();
    const menu = e.detail.elt.closest("details.menu");
    if (menu) menu.open = false;
  });

  // ---------------------------------------------------------------- @mentions
  let mention = null;
  function members() {
    const el = $("#mention-members");
    try { return el ? JSON.parse(el.textContent) : []; } catch (err) { return []; }
  }
  function showMentions(textarea) {
    const list = $("#mention-list");
    const upto = textarea.value.slice(0, textarea.selectionStart);
    const m = /(^|\s)@([^\s@]*(?: [^\s@]*)?)$/.exec(upto);
    if (!m) { list.hidden = true; mention = null; return; }
    const q = m[2].toLowerCase();
    const found = members().filter((u) => u.name.toLowerCase().startsWith(q) || u.name.toLowerCase().includes(" " + q) || u.email.startsWith(q)).slice(0, 8);
    if (!found.length) { list.hidden = true; mention = null; return; }
    mention = { start: upto.length - m[2].length - 1, found, index: 0 };
    list.innerHTML = "";
    found.forEach((u, i) => {
      const li = document.createElement("li");
      li.textContent = u.name; li.dataset.index = i; li.setAttribute("role", "option");
      if (i === 0) li.classList.add("active");
      list.appendChild(li);
    });
    list.hidden = false;
  }
  function pickMention(textarea, i) {
    const u = mention.found[i];
    const before = textarea.value.slice(0, mention.start);
    const after = textarea.value.slice(textarea.selectionStart);
    textarea.value = before + "@" + u.name + " " + after;
    const pos = (before + "@" + u.name + " ").length;
    textarea.setSelectionRange(pos, pos);
    $("#mention-list").hidden = true; mention = null; textarea.focus();
  }
  document.addEventListener("input", (e) => { if (e.target.id === "comment-text") showMentions(e.target); });
  document.addEventListener("mousedown", (e) => {
    const li = e.target.closest("#mention-list li");
    if (li && mention) { e.preventDefault(); pickMention($("#comment-text"), Number(li.dataset.index)); }
  });

  // ---------------------------------------------------------------- keyboard
  function typing(el) { return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName)); }
  function moveCursor(delta) {
    const rows = $$(".row");
    if (!rows.length) return;
    let i = rows.findIndex((r) => r.classList.contains("cursor"));
    if (i < 0) i = rows.findIndex((r) => r.classList.contains("open"));
    rows.forEach((r) => r.classList.remove("cursor"));
    i = Math.max(0, Math.min(rows.length - 1, i + delta));
    rows[i].classList.add("cursor");
    rows[i].scrollIntoView({ block: "nearest" });
    const link = $(".row-link", rows[i]);
    link.click();
    link.focus({ preventScroll: true });  // a screen reader reads the row it moved to
    announce(`${$(".who", rows[i]).textContent.trim()}, ${$(".subject", rows[i]).textContent.trim()} (${i + 1}/${rows.length})`);
  }
  function announce(text) {
    const region = $("#announcer");
    if (!region) return;
    region.textContent = "";
    setTimeout(() => { region.textContent = text; }, 30);  // a change of text is what is read out
  }

  // Esc closes what is open (menus, panels, the shortcut list), innermost first, and gives the
  // focus back to what opened it.
  function closeSomething() {
    if (closeDrawers()) return true;
    const menus = $$("details[open]").filter((d) => d.matches(".menu, .submenu, .forward, .status-details"));
    if (menus.length) {
      const inner = menus[menus.length - 1];
      inner.open = false;
      const summary = $("summary", inner);
      if (summary) summary.focus();
      return true;
    }
    const panel = $("#bell-panel");
    if (panel && !panel.hidden) { closeBell(); $("#bell-button").focus(); return true; }
    const filters = $("#filters");
    if (filters && !filters.hidden) { filters.hidden = true; const t = $("#filters-toggle"); if (t) t.focus(); return true; }
    return false;
  }
  function showShortcuts() {
    const dialog = $("#shortcuts-dialog");
    if (dialog && !dialog.open) dialog.showModal();
  }
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (t.id === "comment-text" && mention) {
      const list = $("#mention-list");
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        mention.index = (mention.index + (e.key === "ArrowDown" ? 1 : -1) + mention.found.length) % mention.found.length;
        $$("li", list).forEach((li, i) => li.classList.toggle("active", i === mention.index));
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") { e.preventDefault(); pickMention(t, mention.index); return; }
      if (e.key === "Escape") { list.hidden = true; mention = null; return; }
    }
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
      const form = t.closest && t.closest("form");
      if (form && (form.id === "reply-form" || form.id === "comment-form")) { e.preventDefault(); htmx.trigger(form, "submit"); }
      return;
    }
    if (e.key === "Escape") {
      if (closeSomething()) { e.preventDefault(); return; }
      const c = $("#composer.large"); if (c) c.classList.remove("large"); if (typing(t)) t.blur(); return;
    }
    if (typing(t) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "j") { e.preventDefault(); moveCursor(1); }
    else if (e.key === "k") { e.preventDefault(); moveCursor(-1); }
    else if (e.key === "r" && $("#reply-editor")) { e.preventDefault(); selectTab("reply"); }
    else if (e.key === "c" && $("#comment-text")) { e.preventDefault(); selectTab("comment"); }
    else if (e.key === "e") { const b = $("#close-btn"); if (b) { e.preventDefault(); b.click(); } }
    else if (e.key === "z" && lastUndo && lastUndo.el.isConnected) { e.preventDefault(); lastUndo.el.remove(); lastUndo.run(); }
    else if (e.key === "/") { const q = $("#q"); if (q) { e.preventDefault(); q.focus(); } }
    else if (e.key === "[") toggleNav();
    else if (e.key === "]") toggleContact();
    else if (e.key === "?") { e.preventDefault(); showShortcuts(); }
  });

  // Permalink: highlight the linked message.
  function highlight(scroll) {
    const id = new URLSearchParams(location.search).get("message");
    if (!id) return;
    const el = document.getElementById("message-" + id);
    if (!el) return;
    el.classList.add("highlight");
    if (scroll !== false) el.scrollIntoView({ block: "center" });
  }
  // a live redraw of the thread keeps the linked message marked (where the reader is: no scroll)
  document.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.target && e.detail.target.id === "thread-body") highlight(false);
  });

  // Status is a function of time: when a shown status is due to change, fetch it again.
  const timers = {};
  function refreshAt(el, url, select) {
    if (!el || !el.dataset.nextChange) return;
    const due = Date.parse(el.dataset.nextChange) - Date.now() + 1000;
    if (isNaN(due) || due > 24 * 3600 * 1000) return;
    clearTimeout(timers[el.id]);
    timers[el.id] = setTimeout(() => {
      const target = document.getElementById(el.id);
      if (target) ajax("GET", url, { source: "#" + el.id, target: "#" + el.id, swap: "outerHTML", select: select });
    }, Math.max(due, 500));
  }
  // The owner dropdown's away dots follow every status change (F1): redrawn on an availability
  // event, and when the earliest of its people's statuses is due to change (working hours, a
  // temporary away running out). Not while the agent has it open: then once they leave it.
  let ownersStale = false;
  function refreshOwners() {
    const wrap = $("#owner-select-wrap");
    if (!wrap) return;
    if (document.activeElement === $("#owner-select")) { ownersStale = true; return; }
    ownersStale = false;
    ajax("GET", wrap.dataset.url, { source: "#owner-select-wrap", target: "#owner-select-wrap", swap: "outerHTML" });
  }
  document.addEventListener("focusout", (e) => { if (e.target.id === "owner-select" && ownersStale) setTimeout(refreshOwners, 0); });

  function scheduleStatusRefresh() {
    const owners = $("#owner-select-wrap");
    if (owners) refreshAt(owners, owners.dataset.url);
    refreshAt($("#status-menu[data-next-change]"), "/me/status/");
    const table = $("#availability-table");
    if (table) refreshAt(table, table.dataset.url);
  }
  document.addEventListener("htmx:afterSwap", scheduleStatusRefresh);
  document.addEventListener("htmx:load", scheduleStatusRefresh);

  // Layout remembered per user on the server (panels collapsed, "More" unfolded): saved at each
  // change; a live redraw of the views that raced the save keeps what the person just chose.
  function savePref(name, on) {
    fetch("/me/preferences/", { method: "POST", body: new URLSearchParams({ name, value: on ? "1" : "0" }), headers: { "X-CSRFToken": csrf() } })
      .then((res) => { if (!res.ok) toast(say("layout_not_saved"), true); });
  }
  let moreOpen = null;
  function restoreMore() {
    const more = $(".more-views");
    if (more && moreOpen !== null && !more.querySelector(".view-link.active")) more.open = moreOpen;
  }
  document.addEventListener("toggle", (e) => {
    if (!(e.target.classList && e.target.classList.contains("more-views"))) return;
    // A live refresh may have replaced the views between the click and this (asynchronous) event.
    const current = $(".more-views");
    if (current && current !== e.target && moreOpen !== null) current.open = moreOpen;
  }, true);
  // Remembered at the click itself, not only at the (asynchronous) toggle event: a live refresh
  // may detach the clicked <details> first, and a detached element's toggle never reaches here.
  document.addEventListener("click", (e) => {
    const fold = e.target.closest && e.target.closest(".sidebar-fold > summary");
    if (fold) savePref("section:" + fold.parentElement.dataset.fold, fold.parentElement.open);  // open now: folded next
    const summary = e.target.closest && e.target.closest(".more-views > summary");
    if (summary) { moreOpen = !summary.parentElement.open; savePref("more_views_open", moreOpen); }
  }, true);
  // On a wide screen the panels collapse (and that is remembered); on a narrower one they are
  // drawers over the list and thread, opened for a moment.
  const narrow = () => window.matchMedia("(max-width: 1100px)").matches;
  function toggleNav() {
    const a = app();
    if (!a) return;
    if (narrow()) { a.classList.remove("contact-open"); const th = $("#thread"); if (th) th.classList.remove("contact-open"); a.classList.toggle("nav-open"); return; }
    savePref("nav_collapsed", a.classList.toggle("nav-collapsed"));
  }
  function toggleContact() {
    const th = $("#thread"), a = app();
    if (!th) return;
    if (narrow()) { a.classList.remove("nav-open"); a.classList.toggle("contact-open", th.classList.toggle("contact-open")); return; }
    savePref("contact_collapsed", th.classList.toggle("contact-collapsed"));
  }
  function closeDrawers() {
    const a = app(), th = $("#thread");
    if (!a || !(a.classList.contains("nav-open") || a.classList.contains("contact-open"))) return false;
    a.classList.remove("nav-open", "contact-open");
    if (th) th.classList.remove("contact-open");
    return true;
  }
  document.addEventListener("click", (e) => {
    if (!e.target.closest) return;
    if (e.target.closest("[data-action=close-drawers]")) { closeDrawers(); return; }
    if (e.target.closest(".nav-pane .view-link")) closeDrawers();
    const back = e.target.closest("[data-action=back-to-list]");
    if (back && app()) {
      // the list is still there under the thread: show it again, no reload
      e.preventDefault();
      app().classList.remove("thread-open");
      history.pushState({ htmx: true }, "", back.getAttribute("href"));  // htmx: Back and Forward reload it
      const row = $(".row.open .row-link");
      if (row) row.focus();
    }
  });
  // A view opened from the nav replaces the list pane and empties the thread pane in place (the
  // address changes as a page load would change it): no new page, scripts and styles to load.
  // Live redraws of the list wait for it (the list it brings is newer); should it fail, the view
  // is opened as a page.
  let switching = 0, switches = 0;
  document.addEventListener("click", (e) => {
    const link = e.target.closest && e.target.closest(".nav-pane .view-link");
    const a = app();
    if (!link || !a || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    const href = link.getAttribute("href"), view = link.dataset.view, mine = ++switches;
    const leaving = $(".nav-pane .view-link.active");
    switching = mine;
    a.dataset.view = view;
    a.dataset.open = "";
    a.classList.remove("thread-open");
    $$(".nav-pane .view-link.active").forEach((l) => { l.classList.remove("active"); l.removeAttribute("aria-current"); });
    link.classList.add("active");
    link.setAttribute("aria-current", "page");
    history.pushState({ htmx: true }, "", href);  // htmx: Back and Forward reload it
    // a hidden view stays in the nav only while it is open
    if (leaving && leaving.dataset.hidden) schedule({ nav: true });
    ajax("GET", href + "?part=main", { source: "#sync-list", target: "#app-main", swap: "innerHTML" }).then(() => {
      if (mine !== switches) return;  // a newer click took over
      switching = 0;
      const opened = $("#search-form input[name=view]");
      if (!opened || opened.value !== view) { location.assign(href); return; }
      if (pending.list) { pending.list = false; refreshList(); }
    });
  });
  document.addEventListener("click", (e) => {
    if (e.target.closest && e.target.closest("[data-action=edit-views]")) $("#views-dialog").showModal();
    if (e.target.closest && e.target.closest("[data-action=shortcuts]")) showShortcuts();
  });
  document.addEventListener("htmx:afterSwap", restoreMore);

  // Behaviours declared in the markup (the Content-Security-Policy allows no inline handlers).
  document.addEventListener("change", (e) => {
    const el = e.target;
    if (el.matches && el.matches("select[data-autosubmit], input[data-autosubmit]") && el.form) el.form.submit();
    if (el.matches && el.matches("select[data-navigate]") && el.value) location.href = el.value;
  });
  document.addEventListener("submit", (e) => {
    const form = e.target.closest && e.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) { e.preventDefault(); e.stopImmediatePropagation(); return; }
    // one button of a form asks first (Delete beside Assign owner)
    const button = e.submitter && e.submitter.closest("[data-confirm-submit]");
    if (button && !window.confirm(button.dataset.confirmSubmit)) { e.preventDefault(); e.stopImmediatePropagation(); }
  }, true);
  // Settings forms are sent without leaving the page: an error shows next to its field (the server
  // names fields in X-Field-Errors) and what was typed stays; on success, go where the server sends.
  function clearErrors(form) {
    $$(".field-error, .form-error", form).forEach((el) => el.remove());
    $$("[aria-invalid]", form).forEach((el) => { el.removeAttribute("aria-invalid"); el.removeAttribute("aria-describedby"); });
  }
  function showErrors(form, errors) {
    clearErrors(form);
    let first = null, n = 0;
    const general = [];
    Object.entries(errors).forEach(([name, messages]) => {
      const found = name !== "__all__" && form.elements[name];
      const field = found && !found.tagName ? found[0] : found;  // several with one name: the first
      if (!field || field.type === "hidden") { general.push(messages.join(" ")); return; }
      const note = document.createElement("span");
      note.className = "field-error error-text";
      note.id = (form.id || "form") + "-error-" + n++;
      note.textContent = messages.join(" ");
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", note.id);
      if (form.classList.contains("inline-form")) form.append(note);  // a row of fields: below it
      else (field.closest("label") || field).after(note);
      first = first || field;
    });
    if (general.length) {
      const note = document.createElement("p");
      note.className = "form-error error-text";
      note.setAttribute("role", "alert");
      note.textContent = general.join(" ");
      form.prepend(note);
    }
    if (first) first.focus();
  }
  function errorsOf(response, text) {
    const header = response.headers.get("X-Field-Errors");
    if (header) { try { return JSON.parse(header); } catch (err) { /* shown as text below */ } }
    const plain = (response.headers.get("Content-Type") || "").startsWith("text/plain") && text.length < 400;
    return { __all__: [plain ? text : say("not_saved", { status: response.status })] };
  }
  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (e.defaultPrevented || !form.closest(".settings-main") || form.hasAttribute("data-native")) return;  // (the CRM screens are .settings-main too)
    if ((form.getAttribute("method") || "").toLowerCase() !== "post" || form.hasAttribute("hx-post")) return;
    e.preventDefault();
    const buttons = $$("button", form);
    buttons.forEach((b) => { b.disabled = true; });
    const body = new FormData(form, e.submitter || undefined);
    fetch(form.action || location.href, { method: "POST", body: body, headers: { "X-CSRFToken": csrf() }, credentials: "same-origin" })
      .then((response) => {
        if (response.ok) {
          if (response.redirected) location.assign(response.url); else location.reload();
          return null;
        }
        return response.text().then((text) => showErrors(form, errorsOf(response, text)));
      })
      .catch(() => showErrors(form, { __all__: [say("network_not_saved")] }))
      .finally(() => buttons.forEach((b) => { b.disabled = false; }));
  });
  document.addEventListener("click", (e) => {
    const closer = e.target.closest && e.target.closest("[data-close-dialog]");
    if (closer) { const dialog = closer.closest("dialog"); if (dialog) dialog.close(); }
  });
  document.addEventListener("focusin", (e) => {
    if (e.target.matches && e.target.matches("input[data-select-on-focus]")) e.target.select();
  });

  document.addEventListener("DOMContentLoaded", () => { restoreMore(); connect(); toNewest(); highlight(); });
})();

// "Send as" changes who a reply goes to: show it (an email's Reply-To, a contact's address)
document.addEventListener("change", (e) => {
  if (!e.target || e.target.id !== "reply-channel") return;
  const line = document.getElementById("reply-recipients");
  const to = e.target.selectedOptions[0] ? e.target.selectedOptions[0].dataset.to : "";
  if (line) line.textContent = to ? `${line.dataset.label} ${to}` : "";
});
