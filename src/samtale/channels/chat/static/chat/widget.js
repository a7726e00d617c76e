/* Samtale chat widget. Served at /widget/<key>.js with the channel's settings filled in below.
   No framework, styles inside a shadow root (the host page's CSS neither reaches in nor is touched),
   nothing from anyone rendered as HTML (text only), usable by keyboard, in Norwegian or English. */
(function (CONFIG) {
  "use strict";
  if (!CONFIG || !CONFIG.key) return;
  var script = document.currentScript;
  var BASE = script ? new URL(script.src, location.href).origin : location.origin;
  var KEY = CONFIG.key;
  var STORE = "samtale.chat." + KEY;
  if (window["__samtaleChat_" + KEY] && !CONFIG.preview) return; // embedded twice: one widget
  window["__samtaleChat_" + KEY] = true;

  // ------------------------------------------------------------------ language
  function pickLanguage() {
    var langs = [document.documentElement.lang || ""].concat(navigator.languages || [navigator.language || ""]);
    for (var i = 0; i < langs.length; i++) {
      var l = String(langs[i] || "").toLowerCase().split("-")[0];
      if (l === "nb" || l === "no" || l === "nn") return "nb";
      if (l === "en") return "en";
    }
    return "en";
  }
  var LANG = pickLanguage();
  var T = {
    en: { open: "Chat with us", close: "Close chat", send: "Send", placeholder: "Write a message…", attach: "Attach a file",
      typing: " is typing…", someone: "Someone", seen: "Seen", sending: "Sending…", failed: "Not sent yet — will retry",
      awayTitle: "We are away", emailLabel: "Your email", nameLabel: "Your name (optional)", save: "Save",
      emailSaved: "Thanks! We will answer at ", ended: "This chat has ended. Write again to start a new one.",
      transcript: "Email me this chat", transcriptSent: "The chat is on its way to your inbox.", online: "We are here",
      transcriptAsk: "Your email. Unless we know it is yours, we first send a link to open; the chat follows from there, and goes to this one address only.",
      transcriptConfirm: "Check your inbox: open the link we sent, and the chat follows.",
      offline: "Connecting…", you: "You", error: "Something went wrong: ", log: "Chat messages", tooBig: "That file is too large.",
      scale: "1 is very poor, 5 is very good", comment: "Anything to add? (optional)", optional: " (optional)",
      answer: "Send answer", choose: "Choose a number from 1 to 5.", thanks: "Thank you for your answer!", rated: "You rated this chat " },
    nb: { open: "Chat med oss", close: "Lukk chatten", send: "Send", placeholder: "Skriv en melding…", attach: "Legg ved en fil",
      typing: " skriver…", someone: "Noen", seen: "Sett", sending: "Sender…", failed: "Ikke sendt ennå – prøver igjen",
      awayTitle: "Vi er ikke til stede", emailLabel: "E-postadressen din", nameLabel: "Navnet ditt (valgfritt)", save: "Lagre",
      emailSaved: "Takk! Vi svarer til ", ended: "Denne chatten er avsluttet. Skriv igjen for å starte en ny.",
      transcript: "Send meg chatten på e-post", transcriptSent: "Chatten er sendt til e-posten din.", online: "Vi er her",
      transcriptAsk: "E-postadressen din. Med mindre vi vet at den er din, sender vi først en lenke du åpner; chatten kommer derfra, og bare til denne ene adressen.",
      transcriptConfirm: "Sjekk e-posten din: åpne lenken vi sendte, så kommer chatten.",
      offline: "Kobler til…", you: "Du", error: "Noe gikk galt: ", log: "Chatmeldinger", tooBig: "Filen er for stor.",
      scale: "1 er svært dårlig, 5 er svært bra", comment: "Noe du vil legge til? (valgfritt)", optional: " (valgfritt)",
      answer: "Send svar", choose: "Velg et tall fra 1 til 5.", thanks: "Takk for svaret ditt!", rated: "Du ga denne chatten " }
  }[LANG];

  // ------------------------------------------------------------------ storage (token, unsent messages)
  function load() {
    try { return JSON.parse(localStorage.getItem(STORE) || "{}") || {}; } catch (e) { return {}; }
  }
  var saved = load();
  var state = {
    token: saved.token || "",
    outbox: Array.isArray(saved.outbox) ? saved.outbox.slice(0, 50) : [],
    open: !!saved.open,
    lastId: 0,
    messages: {},      // id -> message
    pending: {},       // client id -> element
    available: true,
    emailKnown: false,
    flow: null,        // {id, said} of the flow greeting a visitor with no chat yet
    readUpTo: 0,
    ended: false
  };
  function persist() {
    if (CONFIG.preview) return;
    try { localStorage.setItem(STORE, JSON.stringify({ token: state.token, outbox: state.outbox, open: state.open })); } catch (e) { /* private mode */ }
  }
  function newId() {
    var a = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // ------------------------------------------------------------------ DOM (shadow root)
  var host = document.createElement("div");
  host.setAttribute("data-samtale-chat", KEY);
  var root = host.attachShadow({ mode: "open" });
  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}",
    ".wrap{position:fixed;bottom:20px;z-index:2147483000;display:flex;flex-direction:column;gap:12px;align-items:flex-end}",
    ".wrap.left{left:20px;align-items:flex-start}.wrap.right{right:20px}",
    ".launcher{width:56px;height:56px;border-radius:50%;border:0;background:var(--c);color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}",
    ".launcher svg{width:26px;height:26px}.compose .file svg{width:18px;height:18px;display:block}",
    ".launcher:focus-visible,button:focus-visible,textarea:focus-visible,input:focus-visible{outline:3px solid #111;outline-offset:2px}",
    ".panel{width:min(370px,calc(100vw - 40px));height:min(560px,calc(100vh - 110px));background:#fff;color:#1d1d1f;border-radius:14px;box-shadow:0 8px 30px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden;font-size:14px;line-height:1.4}",
    ".panel[hidden]{display:none}",
    ".head{background:var(--c);color:#fff;padding:12px 14px;display:flex;align-items:center;gap:8px}",
    ".head h2{font-size:16px;margin:0;flex:1;font-weight:600}.head .sub{font-size:12px;opacity:.9;display:block;font-weight:400}",
    ".head button{background:transparent;border:0;color:#fff;font-size:20px;cursor:pointer;padding:2px 6px;border-radius:6px}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f6f7f9}",
    ".msg{max-width:82%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".msg.out{align-self:flex-start;background:#fff;border:1px solid #e3e5e8}",
    ".msg.in{align-self:flex-end;background:var(--c);color:#fff}",
    ".msg.pending{opacity:.65}.msg .meta{display:block;font-size:11px;opacity:.9;margin-top:3px}",
    ".msg .who{display:block;font-size:11px;font-weight:600;margin-bottom:2px;opacity:.8}",
    ".msg img{max-width:100%;border-radius:8px;display:block;margin-top:4px}",
    ".msg a{color:inherit}",
    ".note{font-size:12px;color:#555;text-align:center;padding:2px 8px}",
    ".typing{font-size:12px;color:#555;padding:0 14px 4px;min-height:18px}",
    ".choices{display:flex;flex-wrap:wrap;gap:6px;padding:0 12px 8px;background:#f6f7f9}",
    ".choices button{border:1px solid var(--c);color:var(--c);background:#fff;border-radius:16px;padding:5px 11px;cursor:pointer;font-size:13px}",
    ".away{padding:10px 12px;background:#fff8e6;border-top:1px solid #f0e0b0;font-size:13px}",
    ".away form{display:flex;flex-direction:column;gap:6px;margin-top:6px}",
    ".away input{padding:6px 8px;border:1px solid #ccc;border-radius:6px;font-size:13px}",
    ".compose{display:flex;gap:6px;padding:8px;border-top:1px solid #e3e5e8;align-items:flex-end;background:#fff}",
    ".compose textarea{flex:1;resize:none;border:1px solid #ccc;border-radius:8px;padding:7px 9px;font-size:14px;max-height:120px;min-height:38px}",
    ".compose button,.away button{border:0;border-radius:8px;background:var(--c);color:#fff;padding:8px 12px;cursor:pointer;font-size:14px}",
    ".compose .file{background:#eef0f3;color:#333;padding:8px 10px}",
    ".foot{display:flex;justify-content:space-between;padding:0 10px 6px;background:#fff}",
    ".link{background:none;border:0;color:#555;font-size:12px;cursor:pointer;text-decoration:underline;padding:0}.link[hidden]{display:none}",
    ".error{color:#b00020;font-size:12px;padding:0 12px 6px}",
    ".survey{background:#fff;border:1px solid #e3e5e8;border-radius:12px;padding:10px 12px;display:flex;flex-direction:column;gap:8px}",
    ".survey p{margin:0}.survey .q{font-weight:600}.survey .hint{font-size:12px;color:#555}",
    ".survey .scale{display:flex;gap:6px}.survey .scale button{width:40px;height:40px;border:2px solid var(--c);background:#fff;color:#1d1d1f;border-radius:8px;font-size:16px;font-weight:600;cursor:pointer}",
    ".survey .scale button[aria-pressed=true]{background:var(--c);color:#fff}",
    ".survey label{font-size:12px;color:#555;display:flex;flex-direction:column;gap:3px}",
    ".survey textarea{border:1px solid #ccc;border-radius:8px;padding:6px 8px;font-size:13px;resize:vertical;min-height:48px}",
    ".survey .send{align-self:flex-start;border:0;border-radius:8px;background:var(--c);color:#fff;padding:7px 12px;cursor:pointer}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}"
  ].join("\n");
  if (root.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function") {
    try { var sheet = new CSSStyleSheet(); sheet.replaceSync(CSS); root.adoptedStyleSheets = [sheet]; }
    catch (e) { addStyleElement(); }
  } else addStyleElement();
  function addStyleElement() { var st = document.createElement("style"); st.textContent = CSS; root.appendChild(st); }

  function icon(d) {  // a line icon (no emoji: not every system has the font)
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("width", "24"); svg.setAttribute("height", "24");
    svg.setAttribute("aria-hidden", "true"); svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", d); path.setAttribute("fill", "none"); path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "2"); path.setAttribute("stroke-linecap", "round"); path.setAttribute("stroke-linejoin", "round");
    svg.appendChild(path);
    return svg;
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  var wrap = el("div", { "class": "wrap " + (CONFIG.position === "left" ? "left" : "right"), part: "wrap" });
  var panel = el("section", { "class": "panel", role: "dialog", "aria-label": CONFIG.title || T.open, hidden: "" });
  var head = el("div", { "class": "head" });
  var title = el("h2", null, CONFIG.title || "");
  var sub = el("span", { "class": "sub", id: "presence" }, T.offline);
  title.appendChild(sub);
  var closeBtn = el("button", { type: "button", "aria-label": T.close, "class": "close" }, "×");
  head.appendChild(title); head.appendChild(closeBtn);
  var log = el("div", { "class": "log", role: "log", "aria-live": "polite", "aria-label": T.log, tabindex: "0" });
  var typingLine = el("div", { "class": "typing", "aria-live": "polite" });
  var choices = el("div", { "class": "choices", hidden: "" });
  var away = el("div", { "class": "away", hidden: "" });
  var errorLine = el("div", { "class": "error", role: "alert" });
  var compose = el("form", { "class": "compose" });
  var input = el("textarea", { rows: "1", placeholder: T.placeholder, "aria-label": T.placeholder, maxlength: "5000" });
  var fileInput = el("input", { type: "file", "class": "sr", tabindex: "-1", "aria-hidden": "true",
    accept: "image/*,application/pdf,.txt,.csv,.docx,.xlsx,.pptx,.odt,.ods" });
  var fileBtn = el("button", { type: "button", "class": "file", "aria-label": T.attach, title: T.attach });
  fileBtn.appendChild(icon("M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5"));
  var sendBtn = el("button", { type: "submit", "class": "send" }, T.send);
  compose.appendChild(input); compose.appendChild(fileInput); compose.appendChild(fileBtn); compose.appendChild(sendBtn);
  var foot = el("div", { "class": "foot" });
  var transcriptBtn = el("button", { type: "button", "class": "link transcript", hidden: "" }, T.transcript);
  foot.appendChild(transcriptBtn);
  panel.appendChild(head); panel.appendChild(log); panel.appendChild(typingLine); panel.appendChild(choices);
  panel.appendChild(away); panel.appendChild(errorLine); panel.appendChild(compose); panel.appendChild(foot);
  var launcher = el("button", { type: "button", "class": "launcher", "aria-label": T.open, "aria-expanded": "false" });
  var BUBBLE = "M4 5h16v11H9l-5 4z", CROSS = "M6 6l12 12M18 6L6 18";
  launcher.appendChild(icon(BUBBLE));
  wrap.appendChild(panel); wrap.appendChild(launcher);
  root.appendChild(wrap);

  function applyLook(look) {
    wrap.style.setProperty("--c", /^#[0-9a-fA-F]{6}$/.test(look.color || "") ? look.color : "#2456d6");
    wrap.className = "wrap " + (look.position === "left" ? "left" : "right");
  }
  applyLook(CONFIG);

  // ------------------------------------------------------------------ rendering
  function greeting() { return (CONFIG.greeting && CONFIG.greeting[LANG]) || ""; }
  function awayText() { return (CONFIG.away && CONFIG.away[LANG]) || ""; }
  function atBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 40; }
  function scrollDown() { log.scrollTop = log.scrollHeight; }
  function timeOf(iso) {
    var d = iso ? new Date(iso) : new Date();
    return d.toLocaleTimeString(LANG === "nb" ? "nb-NO" : "en-GB", { hour: "2-digit", minute: "2-digit" });
  }
  function bubble(m) {
    var box = el("div", { "class": "msg " + (m.dir === "in" ? "in" : "out"), "data-id": m.id || "" });
    if (m.dir !== "in" && m.author) box.appendChild(el("span", { "class": "who" }, m.author));
    if (m.text) box.appendChild(document.createTextNode(m.text));
    (m.files || []).forEach(function (f) {
      var url = BASE + f.url;
      if (f.image) {
        var a = el("a", { href: url, target: "_blank", rel: "noopener" });
        a.appendChild(el("img", { src: url, alt: f.name }));
        box.appendChild(a);
      } else {
        box.appendChild(el("br"));
        box.appendChild(el("a", { href: url, target: "_blank", rel: "noopener", download: f.name }, f.name));
      }
    });
    box.appendChild(el("span", { "class": "meta" }, timeOf(m.at)));
    return box;
  }
  function show(m) {
    if (!m || !m.id || state.messages[m.id]) return;
    var stick = atBottom();
    state.messages[m.id] = m;
    state.lastId = Math.max(state.lastId, m.id);
    var node = bubble(m);
    var pending = m.client_id && state.pending[m.client_id];
    if (pending) { node.setAttribute("data-order", (m.at || "") + "|" + String(m.id).padStart(12, "0")); pending.replaceWith(node); delete state.pending[m.client_id]; }
    else {
      // in the order they were written (a message from another tab may arrive before an older
      // one's echo; a chatflow's greeting is stored after the answer that started the chat)
      var key = (m.at || "") + "|" + String(m.id).padStart(12, "0");
      var after = null;
      Array.prototype.forEach.call(log.querySelectorAll(".msg[data-order]"), function (x) {
        if (!after && x.getAttribute("data-order") > key) after = x;
      });
      node.setAttribute("data-order", key);
      if (after) log.insertBefore(node, after); else log.appendChild(node);
    }
    if (stick || m.dir === "in") scrollDown();
    transcriptBtn.hidden = false;  // there is a chat to send now
    markSeen();
    sendRead();
  }
  function showPending(item) {
    var box = bubble({ dir: "in", text: item.text, at: null });
    box.classList.add("pending");
    box.setAttribute("data-client", item.client_id);
    box.querySelector(".meta").textContent = T.sending;
    log.appendChild(box);
    state.pending[item.client_id] = box;
    scrollDown();
  }
  function note(text, cls) { var n = el("div", { "class": "note " + (cls || "") }, text); log.appendChild(n); scrollDown(); return n; }
  function markSeen() {
    var mine = log.querySelectorAll(".msg.in[data-id]");
    Array.prototype.forEach.call(mine, function (x) {
      var id = Number(x.getAttribute("data-id"));
      var meta = x.querySelector(".meta");
      if (meta && id && id <= state.readUpTo && meta.textContent.indexOf(T.seen) < 0) meta.textContent += " · " + T.seen;
    });
  }
  function setChoices(list) {
    choices.textContent = "";
    (list || []).forEach(function (label) {
      var b = el("button", { type: "button" }, label);
      b.addEventListener("click", function () { sendText(label); });
      choices.appendChild(b);
    });
    choices.hidden = !(list && list.length);
  }
  // the survey of a chat that ended: 1 to 5, a comment and the inbox's second question (D3)
  function showSurvey(sv) {
    if (!sv || !sv.token) return;
    var old = log.querySelector(".survey");
    if (old) old.remove();
    var box = el("div", { "class": "survey", role: "group", "aria-label": sv.question });
    box.appendChild(el("p", { "class": "q" }, sv.question));
    box.appendChild(el("p", { "class": "hint" }, T.scale));
    var chosen = sv.score || 0;
    var scale = el("div", { "class": "scale" });
    [1, 2, 3, 4, 5].forEach(function (n) {
      var b = el("button", { type: "button", "aria-pressed": String(n === chosen), "data-score": String(n) }, String(n));
      b.addEventListener("click", function () {
        chosen = n; errorLine.textContent = "";
        Array.prototype.forEach.call(scale.querySelectorAll("button"), function (x) { x.setAttribute("aria-pressed", String(x === b)); });
      });
      scale.appendChild(b);
    });
    box.appendChild(scale);
    var comment = el("textarea", { maxlength: "2000", "class": "comment" });
    comment.value = sv.comment || "";
    var cl = el("label", {}, T.comment); cl.appendChild(comment); box.appendChild(cl);
    var second = null;
    if (sv.second_question) {
      second = el("textarea", { maxlength: "2000", "class": "second" });
      second.value = sv.second_answer || "";
      var sl = el("label", {}, sv.second_question + T.optional); sl.appendChild(second); box.appendChild(sl);
    }
    var send = el("button", { type: "button", "class": "send" }, T.answer);
    send.addEventListener("click", function () {
      if (!chosen) { errorLine.textContent = T.choose; return; }
      frame({ type: "feedback", token: sv.token, score: chosen, comment: comment.value, second_answer: second ? second.value : "" });
    });
    box.appendChild(send);
    log.appendChild(box);
    scrollDown();
  }
  function renderAway() {
    away.textContent = "";
    if (state.available || state.emailKnown) { away.hidden = true; return; }
    away.appendChild(el("strong", null, T.awayTitle));
    away.appendChild(el("div", null, awayText()));
    var form = el("form");
    var email = el("input", { type: "email", required: "", placeholder: T.emailLabel, "aria-label": T.emailLabel, autocomplete: "email" });
    var name = el("input", { type: "text", placeholder: T.nameLabel, "aria-label": T.nameLabel, autocomplete: "name" });
    var save = el("button", { type: "submit" }, T.save);
    form.appendChild(email); form.appendChild(name); form.appendChild(save);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!email.value) return;
      pendingEmail = email.value;
      frame({ type: "email", email: email.value, name: name.value });
    });
    away.appendChild(form);
    away.hidden = false;
  }
  var pendingEmail = "";
  function setPresence() {
    sub.textContent = !connected ? T.offline : state.available ? T.online : T.awayTitle;
    renderAway();
  }

  // ------------------------------------------------------------------ the socket
  var socket = null, connected = false, retry = 500, pingTimer = null, greeted = false;
  function frame(obj) {
    if (socket && socket.readyState === 1) { socket.send(JSON.stringify(obj)); return true; }
    return false;
  }
  function identity() {
    var s = window.SamtaleChat;
    return s && s.identity && typeof s.identity === "object" ? s.identity : null;
  }
  function connect() {
    if (CONFIG.preview) return;
    var url = BASE.replace(/^http/, "ws") + "/ws/chat/" + encodeURIComponent(KEY) + "/";
    try { socket = new WebSocket(url); } catch (e) { return later(); }
    socket.onopen = function () {
      frame({ type: "hello", token: state.token, after: state.lastId, url: location.href, title: document.title,
        lang: LANG, identity: identity() });
    };
    socket.onmessage = function (e) {
      var m; try { m = JSON.parse(e.data); } catch (err) { return; }
      receive(m);
    };
    socket.onclose = function (e) {
      connected = false; greeted = false;
      clearInterval(pingTimer);
      setPresence();
      if (e.code === 4403 || e.code === 4404) return; // not allowed here: do not hammer the server
      later();
    };
  }
  function later() {
    setTimeout(connect, retry + Math.floor(Math.random() * 300));
    retry = Math.min(retry * 2, 15000);
  }
  function receive(m) {
    switch (m.type) {
      case "welcome":
        connected = true; greeted = true; retry = 500;
        if (m.token) { state.token = m.token; persist(); }
        state.available = !!m.available; state.emailKnown = !!m.email_known;
        state.readUpTo = Math.max(state.readUpTo, m.read_up_to || 0);
        if (!m.chat && greeting() && !log.querySelector(".greeting")) {
          var g = el("div", { "class": "note greeting" }, greeting());
          log.insertBefore(g, log.firstChild);
        }
        (m.messages || []).forEach(show);
        state.flow = m.flow;
        if (m.flow && !m.chat) {
          if (!log.querySelector(".local")) {
            m.flow.said.forEach(function (line) {
              var b = bubble({ dir: "out", author: m.flow.name, text: line.text });
              b.classList.add("local");
              log.appendChild(b);
            });
          }
          var last = m.flow.said[m.flow.said.length - 1];
          setChoices(last ? last.buttons : []);
        } else setChoices(m.buttons);
        setPresence();
        if (m.survey) showSurvey(m.survey);
        flush();
        pingTimer = setInterval(function () { frame({ type: "ping", url: location.href }); }, 30000);
        break;
      case "ack":
        dropFromOutbox(m.client_id);
        if (m.token && m.token !== state.token) { state.token = m.token; persist(); }
        state.flow = null;
        show(m.message);
        break;
      case "sync":  // a new chat's messages so far (a chatflow's greeting is now stored with it)
        Array.prototype.forEach.call(log.querySelectorAll(".local"), function (x) { x.remove(); });
        (m.messages || []).forEach(show);
        break;
      case "message":
        show(m.message);
        if (m.message && m.message.dir === "out") typingLine.textContent = "";
        break;
      case "typing":
        typingLine.textContent = m.on ? (m.name || T.someone) + T.typing : "";
        clearTimeout(typingTimer);
        if (m.on) typingTimer = setTimeout(function () { typingLine.textContent = ""; }, 6000);
        break;
      case "read":
        state.readUpTo = Math.max(state.readUpTo, m.up_to || 0); markSeen(); break;
      case "buttons":
        setChoices(m.buttons); break;
      case "ended":
        note(T.ended, "ended"); setChoices([]); state.lastId = 0; state.messages = {}; transcriptBtn.hidden = true; break;
      case "survey":
        showSurvey(m.survey); break;
      case "feedback_saved":
        var sv = log.querySelector(".survey");
        if (sv) sv.remove();
        note(T.thanks + " " + T.rated + m.score + "/5", "survey-thanks"); break;
      case "presence":
        state.available = !!m.available; setPresence(); break;
      case "email_saved":
        state.emailKnown = true; if (m.token) { state.token = m.token; persist(); }
        setPresence(); note(T.emailSaved + pendingEmail); break;
      case "transcript_sent":
        note(T.transcriptSent); break;
      case "transcript_confirm":
        note(T.transcriptConfirm); break;
      case "error":
        if (m.code === "rate_limited" && m.client_id) { setTimeout(flush, 5000); }
        errorLine.textContent = m.message ? T.error + m.message : "";
        setTimeout(function () { errorLine.textContent = ""; }, 8000);
        if (m.client_id && m.code === "invalid") { dropFromOutbox(m.client_id); var p = state.pending[m.client_id]; if (p) p.remove(); }
        break;
      default: break;
    }
  }
  var typingTimer = null;

  // ------------------------------------------------------------------ sending (nothing lost, nothing doubled)
  function dropFromOutbox(clientId) {
    state.outbox = state.outbox.filter(function (x) { return x.client_id !== clientId; });
    persist();
  }
  function flush() {
    state.outbox.forEach(function (item) {
      if (!state.pending[item.client_id]) showPending(item);
      frame({ type: "message", client_id: item.client_id, text: item.text, url: location.href, title: document.title, flow: item.flow || undefined });
    });
  }
  function sendText(text) {
    text = String(text || "").trim();
    if (!text) return;
    var item = { client_id: newId(), text: text, flow: state.flow ? state.flow.id : null };
    state.outbox.push(item); persist();
    showPending(item);
    setChoices([]);
    if (greeted) frame({ type: "message", client_id: item.client_id, text: item.text, url: location.href, title: document.title, flow: item.flow || undefined });
    stopTyping();
  }
  compose.addEventListener("submit", function (e) { e.preventDefault(); sendText(input.value); input.value = ""; input.focus(); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendText(input.value); input.value = ""; }
  });
  var typingOn = false, typingIdle = null, lastTyping = 0;
  input.addEventListener("input", function () {
    var now = Date.now();
    if (!typingOn || now - lastTyping > 2500) { typingOn = true; lastTyping = now; frame({ type: "typing", on: true }); }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(stopTyping, 4000);
  });
  function stopTyping() { if (typingOn) { typingOn = false; frame({ type: "typing", on: false }); } clearTimeout(typingIdle); }
  input.addEventListener("blur", stopTyping);

  fileBtn.addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (!file) return;
    if (file.size > (CONFIG.maxFile || 10485760)) { errorLine.textContent = T.tooBig; return; }
    var clientId = newId();
    var box = showPendingFile(file.name, clientId);
    upload(file, clientId, box, 0);
  });
  function showPendingFile(name, clientId) {
    var box = bubble({ dir: "in", text: name, at: null });
    box.classList.add("pending"); box.querySelector(".meta").textContent = T.sending;
    log.appendChild(box); scrollDown();
    state.pending[clientId] = box;
    return box;
  }
  function upload(file, clientId, box, attempt) {
    var body = new FormData();
    body.append("token", state.token); body.append("client_id", clientId); body.append("url", location.href);
    body.append("file", file, file.name);
    fetch(BASE + "/widget/" + encodeURIComponent(KEY) + "/upload/", { method: "POST", body: body, mode: "cors", credentials: "omit" })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, status: r.status, body: j }; }); })
      .then(function (res) {
        if (res.ok) { if (res.body.token) { state.token = res.body.token; persist(); } show(res.body.message); return; }
        if (res.status >= 500 && attempt < 3) { setTimeout(function () { upload(file, clientId, box, attempt + 1); }, 2000 * (attempt + 1)); return; }
        box.remove(); delete state.pending[clientId];
        errorLine.textContent = T.error + (res.body.message || res.status);
      })
      .catch(function () {
        if (attempt < 5) setTimeout(function () { upload(file, clientId, box, attempt + 1); }, 2000 * (attempt + 1));
        else { box.querySelector(".meta").textContent = T.failed; }
      });
  }

  transcriptBtn.addEventListener("click", function () {
    var address = window.prompt(T.transcriptAsk);
    if (address) frame({ type: "transcript", email: address });
  });

  // ------------------------------------------------------------------ read state
  function sendRead() {
    if (!state.open || document.visibilityState !== "visible" || !greeted) return;
    var newest = 0;
    Object.keys(state.messages).forEach(function (k) { var m = state.messages[k]; if (m.dir === "out" && m.id > newest) newest = m.id; });
    if (newest > (state.sentRead || 0)) { state.sentRead = newest; frame({ type: "read", up_to: newest }); }
  }
  document.addEventListener("visibilitychange", sendRead);

  // ------------------------------------------------------------------ open / close (keyboard: Esc closes, focus returns)
  function setOpen(open, focus) {
    state.open = open; persist();
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    launcher.setAttribute("aria-label", open ? T.close : T.open);
    launcher.textContent = "";
    launcher.appendChild(icon(open ? CROSS : BUBBLE));
    if (open) { scrollDown(); sendRead(); if (focus) input.focus(); }
    else if (focus) launcher.focus();
  }
  launcher.addEventListener("click", function () { setOpen(panel.hidden, true); });
  closeBtn.addEventListener("click", function () { setOpen(false, true); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { e.stopPropagation(); setOpen(false, true); } });

  // ------------------------------------------------------------------ preview (the settings page)
  function mountPreview() {
    var target = document.getElementById("chat-preview");
    if (!target) { document.body.appendChild(host); return; }
    target.appendChild(host);
    wrap.style.position = "absolute";
    setOpen(true, false);
    sub.textContent = T.online;
    note(greeting(), "greeting");
    show({ id: 1, dir: "out", author: "Ada", text: LANG === "nb" ? "Hei! Hva kan jeg hjelpe med?" : "Hi! What can I help you with?", at: new Date().toISOString() });
    show({ id: 2, dir: "in", text: LANG === "nb" ? "Jeg lurer på en faktura." : "I have a question about an invoice.", at: new Date().toISOString() });
    var form = document.querySelector(target.getAttribute("data-preview-for") || "#widget-form");
    if (!form) return;
    form.addEventListener("input", function () {
      var data = new FormData(form);
      applyLook({ color: data.get("color"), position: data.get("position") });
      var g = log.querySelector(".greeting");
      if (g) g.textContent = data.get("greeting_" + LANG) || "";
    });
  }

  function start() {
    if (CONFIG.preview) { mountPreview(); return; }
    document.body.appendChild(host);
    if (state.open) setOpen(true, false);
    state.outbox.forEach(showPending);
    connect();
  }
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})(/*__CONFIG__*/{});
