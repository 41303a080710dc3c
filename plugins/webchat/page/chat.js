/*
 * pulsebot web chat: one websocket to the daemon, the conversation list and the selected
 * conversation. Protocol (JSON text frames):
 *   page -> server: hello {token} or {user} (demo), people (demo), choice, action, text
 *   server -> page: people, welcome, message, update, result, error
 * Every string from the server is shown with textContent, never as markup. The token from a
 * personal link is kept for this tab only (sessionStorage) and removed from the address bar.
 */
(function () {
  "use strict";

  var RETRY_MAX_MS = 30000;
  var BANNER_MS = 6000;

  var el = {};
  var state = {
    ws: null,
    token: null,
    demoUser: null,
    signedIn: false,
    everSignedIn: false,
    switching: false,
    me: null,
    demo: false,
    maxText: 16384,
    conversations: [],    /* [{id, title}] in the server's order */
    messages: new Map(),  /* ref -> message */
    order: new Map(),     /* conversation -> [ref] */
    ui: new Map(),        /* ref -> {pending, error, chosen} */
    unread: new Map(),    /* conversation -> count */
    selected: null,
    pending: new Map(),   /* frame id -> callback(ok, error) */
    nextId: 1,
    retry: 0,
    retryTimer: null,
    bannerTimer: null,
    textPending: false
  };

  function store(key, value) {
    try {
      if (value === null) sessionStorage.removeItem(key);
      else sessionStorage.setItem(key, value);
    } catch (e) { /* storage may be off; the tab still works until reload */ }
  }

  function stored(key) {
    try { return sessionStorage.getItem(key); } catch (e) { return null; }
  }

  function make(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function str(v) {
    return typeof v === "string" ? v : "";
  }

  /* ---- connection -------------------------------------------------------------------- */

  function wsUrl() {
    var u = new URL("ws", location.href);
    u.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    u.search = "";
    u.hash = "";
    return u.href;
  }

  function setConn(kind, text) {
    el.conn.dataset.state = kind;
    el.conn.textContent = text;
  }

  function send(frame) {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return false;
    state.ws.send(JSON.stringify(frame));
    return true;
  }

  /* Sends a frame that the server answers with a result, and calls done(ok, error) once. */
  function request(frame, done) {
    var id = state.nextId++;
    frame.id = id;
    if (!send(frame)) {
      done(false, "Not connected. Try again in a moment.");
      return;
    }
    state.pending.set(id, done);
  }

  function settle(id, ok, error) {
    var done = state.pending.get(id);
    if (!done) return false;
    state.pending.delete(id);
    done(ok, error);
    return true;
  }

  function connect() {
    clearTimeout(state.retryTimer);
    state.retryTimer = null;
    setConn("connecting", state.retry ? "Reconnecting…" : "Connecting…");
    var ws;
    try {
      ws = new WebSocket(wsUrl());
    } catch (e) {
      scheduleReconnect();
      return;
    }
    state.ws = ws;
    ws.onopen = function () {
      if (state.token) send({ type: "hello", token: state.token });
      else if (state.demoUser) send({ type: "hello", user: state.demoUser });
      else send({ type: "people" });
    };
    ws.onmessage = function (ev) {
      var frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      if (frame && typeof frame === "object") handle(frame);
    };
    ws.onclose = function (ev) {
      if (state.ws !== ws) return;
      state.ws = null;
      closed(ev.code);
    };
  }

  function scheduleReconnect() {
    var base = Math.min(RETRY_MAX_MS, 1000 * Math.pow(2, state.retry));
    var delay = Math.round(base / 2 + Math.random() * base / 2);
    state.retry++;
    setConn("closed", "Offline. Reconnecting in " + Math.ceil(delay / 1000) + " s…");
    state.retryTimer = setTimeout(connect, delay);
  }

  function closed(code) {
    var wasSignedIn = state.signedIn;
    var ids = Array.from(state.pending.keys());
    ids.forEach(function (id) { settle(id, false, "Connection lost. Try again."); });
    state.signedIn = false;
    document.body.dataset.state = "offline";
    /* Nothing can be answered while offline: say so by disabling, not by ignoring clicks. */
    document.querySelectorAll("button.choice").forEach(function (b) { b.disabled = true; });
    refreshInputs();
    if (state.switching) {
      state.switching = false;
      connect();
      return;
    }
    if (code === 1008) {
      /* Refused on purpose: trying again as we are would be refused again. */
      setConn("refused", wasSignedIn ? "Disconnected" : "Not signed in");
      document.body.dataset.state = "refused";
      if (wasSignedIn) {
        banner("The chat closed the connection. Reload the page to continue.");
      } else if (state.token) {
        state.token = null;
        store("pulsebot.token", null);
      } else if (state.demoUser) {
        /* The picked person is gone from the roster: offer the list again. */
        state.demoUser = null;
        store("pulsebot.user", null);
        connect();
      }
      return;
    }
    scheduleReconnect();
  }

  /* ---- frames from the server -------------------------------------------------------- */

  function handle(f) {
    switch (f.type) {
    case "people": showPicker(Array.isArray(f.people) ? f.people : []); break;
    case "welcome": welcome(f); break;
    case "message": addMessage(f, true); break;
    case "update": updateMessage(f); break;
    case "result": settle(f.id, f.ok === true, str(f.error) || "That did not work."); break;
    case "error":
      if (typeof f.id === "number" && settle(f.id, false, str(f.text) || "That did not work."))
        break;
      if (state.signedIn) banner(str(f.text));
      else notice(str(f.text));
      break;
    default: break;
    }
  }

  function notice(text) {
    el.noticeText.textContent = text || "Something went wrong.";
    el.notice.hidden = false;
    el.picker.hidden = true;
    el.chat.hidden = true;
  }

  function banner(text) {
    if (!text) return;
    el.banner.textContent = text;
    el.banner.hidden = false;
    clearTimeout(state.bannerTimer);
    state.bannerTimer = setTimeout(function () { el.banner.hidden = true; }, BANNER_MS);
  }

  function showPicker(people) {
    clear(el.people);
    people.forEach(function (p) {
      var user = str(p.user);
      if (!user) return;
      var li = make("li");
      var b = make("button", "person", str(p.name) || user);
      b.type = "button";
      b.dataset.testid = "person-" + user;
      b.addEventListener("click", function () { pick(user); });
      li.appendChild(b);
      el.people.appendChild(li);
    });
    if (!people.length) el.people.appendChild(make("li", "hint", "Nobody is set up for the web chat."));
    setConn("open", "Connected");
    el.notice.hidden = true;
    el.chat.hidden = true;
    el.picker.hidden = false;
    document.body.dataset.state = "picker";
  }

  function pick(user) {
    state.demoUser = user;
    store("pulsebot.user", user);
    if (!send({ type: "hello", user: user })) connect();
  }

  function welcome(f) {
    var known = state.everSignedIn ? new Set(state.messages.keys()) : null;
    state.signedIn = true;
    state.everSignedIn = true;
    state.retry = 0;
    state.me = { user: str(f.user), name: str(f.name) || str(f.user) };
    state.demo = f.demo === true;
    if (typeof f.max_text === "number") state.maxText = f.max_text;
    state.conversations = (Array.isArray(f.conversations) ? f.conversations : [])
      .filter(function (c) { return c && typeof c.id === "string"; })
      .map(function (c) { return { id: c.id, title: str(c.title) || c.id }; });
    state.messages = new Map();
    state.order = new Map();
    state.conversations.forEach(function (c) {
      state.order.set(c.id, []);
      var h = f.history && Array.isArray(f.history[c.id]) ? f.history[c.id] : [];
      h.forEach(function (m) {
        if (!m || typeof m.ref !== "string") return;
        m.conversation = c.id;
        if (!state.messages.has(m.ref)) state.order.get(c.id).push(m.ref);
        state.messages.set(m.ref, m);
        /* What arrived while we were away counts as unread. */
        if (known && !known.has(m.ref) && c.id !== state.selected && m.from !== state.me.user)
          state.unread.set(c.id, (state.unread.get(c.id) || 0) + 1);
      });
    });
    if (!state.order.has(state.selected))
      state.selected = state.conversations.length ? state.conversations[0].id : null;
    el.me.textContent = state.me.name;
    el.switchPerson.hidden = !state.demo;
    el.notice.hidden = true;
    el.picker.hidden = true;
    el.chat.hidden = false;
    setConn("open", "Connected");
    renderConversations();
    renderSelected();
    document.body.dataset.state = "ready";
  }

  function addMessage(m, live) {
    if (typeof m.ref !== "string" || typeof m.conversation !== "string") return;
    var refs = state.order.get(m.conversation);
    if (!refs) return;
    if (state.messages.has(m.ref)) {
      updateMessage(m);
      return;
    }
    state.messages.set(m.ref, m);
    refs.push(m.ref);
    if (m.conversation === state.selected) {
      var nearBottom = el.messages.scrollHeight - el.messages.scrollTop - el.messages.clientHeight < 80;
      el.empty.hidden = true;
      el.messages.appendChild(renderMessage(m));
      if (nearBottom || m.from === state.me.user) scrollToEnd();
      refreshInputs();
    } else if (live && m.from !== state.me.user) {
      state.unread.set(m.conversation, (state.unread.get(m.conversation) || 0) + 1);
      renderConversations();
    }
  }

  function updateMessage(m) {
    if (typeof m.ref !== "string" || !state.messages.has(m.ref)) return;
    m.conversation = state.messages.get(m.ref).conversation;
    state.messages.set(m.ref, m);
    if (m.conversation !== state.selected) return;
    var old = findMessageNode(m.ref);
    if (old) old.replaceWith(renderMessage(m));
    refreshInputs();
  }

  function findMessageNode(ref) {
    var nodes = el.messages.children;
    for (var i = 0; i < nodes.length; i++)
      if (nodes[i].dataset.ref === ref) return nodes[i];
    return null;
  }

  /* ---- rendering --------------------------------------------------------------------- */

  function renderConversations() {
    clear(el.conversations);
    state.conversations.forEach(function (c) {
      var li = make("li");
      var b = make("button", "conv");
      b.type = "button";
      b.dataset.testid = "conv-" + c.id;
      b.dataset.conversation = c.id;
      if (c.id === state.selected) b.setAttribute("aria-current", "true");
      b.appendChild(make("span", "conv-kind", c.id.indexOf("dm:") === 0 ? "@" : "#"));
      b.appendChild(make("span", "conv-title", c.title));
      var n = state.unread.get(c.id) || 0;
      var badge = make("span", "unread", n > 99 ? "99+" : n);
      badge.dataset.testid = "unread-" + c.id;
      badge.hidden = n === 0;
      badge.setAttribute("aria-label", n + " unread");
      b.appendChild(badge);
      b.addEventListener("click", function () { select(c.id); });
      li.appendChild(b);
      el.conversations.appendChild(li);
    });
  }

  function select(id) {
    if (!state.order.has(id)) return;
    state.selected = id;
    state.unread.delete(id);
    renderConversations();
    renderSelected();
  }

  function renderSelected() {
    clear(el.messages);
    var conv = state.conversations.find(function (c) { return c.id === state.selected; });
    el.conversationTitle.textContent = conv ? conv.title : "";
    var refs = state.order.get(state.selected) || [];
    refs.forEach(function (ref) { el.messages.appendChild(renderMessage(state.messages.get(ref))); });
    el.empty.hidden = refs.length > 0;
    el.reply.hidden = !isDm(state.selected);
    refreshInputs();
    scrollToEnd();
  }

  function scrollToEnd() {
    el.messages.scrollTop = el.messages.scrollHeight;
  }

  function isDm(id) {
    return typeof id === "string" && id.indexOf("dm:") === 0;
  }

  function ui(ref) {
    var u = state.ui.get(ref);
    if (!u) {
      u = { pending: false, error: "", chosen: null };
      state.ui.set(ref, u);
    }
    return u;
  }

  function formatTime(at) {
    if (typeof at !== "number") return "";
    var d = new Date(at);
    var now = new Date();
    var time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    if (d.toDateString() === now.toDateString()) return time;
    return d.toLocaleDateString([], { month: "short", day: "numeric" }) + " " + time;
  }

  /* A scale is a question whose buttons read left to right: labelled ends, or short labels
   * such as 1..5 or 0..10. */
  function isScale(m, buttons) {
    if (m.kind !== "question" || buttons.length < 2) return false;
    if (m.low_label || m.high_label) return true;
    return buttons.every(function (b) { return str(b.label).length <= 3; });
  }

  function renderMessage(m) {
    var mine = state.me && m.from === state.me.user;
    var li = make("li", "message kind-" + str(m.kind) + (mine ? " mine" : "") + (m.closed ? " closed" : ""));
    li.dataset.testid = "message";
    li.dataset.ref = m.ref;
    li.dataset.kind = str(m.kind);
    li.dataset.from = str(m.from);
    li.dataset.closed = m.closed ? "true" : "false";

    var meta = make("div", "meta");
    meta.appendChild(make("span", "author", mine ? "You" : m.from === "bot" ? "pulsebot" : str(m.from)));
    var time = make("time", "time", formatTime(m.at));
    if (typeof m.at === "number") time.dateTime = new Date(m.at).toISOString();
    meta.appendChild(time);
    li.appendChild(meta);

    var body = make("div", "body");
    if (m.title) body.appendChild(make("h3", "title", str(m.title)));
    if (m.text) body.appendChild(make("p", "text", str(m.text)));
    var fields = Array.isArray(m.fields) ? m.fields : [];
    if (fields.length) {
      var table = make("table", "fields");
      var tbody = make("tbody");
      fields.forEach(function (f) {
        var tr = make("tr");
        tr.appendChild(make("th", null, str(f && f.label)));
        tr.appendChild(make("td", null, str(f && f.value)));
        tbody.appendChild(tr);
      });
      table.appendChild(tbody);
      body.appendChild(table);
    }
    var buttons = (Array.isArray(m.buttons) ? m.buttons : []).filter(function (b) {
      return b && typeof b.token === "string";
    });
    var u = ui(m.ref);
    var noteInput = null;
    if (buttons.length && m.kind === "alert" && !m.closed) {
      noteInput = make("input", "action-note");
      noteInput.type = "text";
      noteInput.placeholder = "Add a note (optional)";
      noteInput.maxLength = 1000;
      noteInput.dataset.testid = "action-note";
      noteInput.setAttribute("aria-label", "Note for the action");
    }
    if (noteInput) body.appendChild(noteInput);
    if (buttons.length) {
      var scale = isScale(m, buttons);
      if (scale) li.classList.add("has-scale");
      var row = make("div", scale ? "buttons scale count-" + buttons.length : "buttons");
      buttons.forEach(function (b) {
        var label = str(b.label);
        var btn = make("button", "choice style-" + (str(b.style) || "default"), label);
        btn.type = "button";
        btn.dataset.testid = "button-" + label;
        btn.disabled = !!m.closed || u.pending || (u.chosen !== null && m.kind !== "alert");
        if (u.chosen === b.token) {
          btn.classList.add("chosen");
          btn.setAttribute("aria-pressed", "true");
        }
        btn.addEventListener("click", function () { press(m, b, noteInput); });
        row.appendChild(btn);
      });
      body.appendChild(row);
      if (scale && (m.low_label || m.high_label)) {
        var ends = make("div", "scale-labels");
        ends.appendChild(make("span", "low", str(m.low_label)));
        ends.appendChild(make("span", "high", str(m.high_label)));
        body.appendChild(ends);
      }
    }
    if (m.note) body.appendChild(make("p", "note", str(m.note)));
    if (m.expects_text && !m.closed && isDm(m.conversation))
      body.appendChild(make("p", "hint", "Write your answer below."));
    var err = make("p", "error", u.error);
    err.dataset.testid = "message-error";
    err.setAttribute("role", "alert");
    err.hidden = !u.error;
    body.appendChild(err);
    li.appendChild(body);
    return li;
  }

  /* ---- what the person does ---------------------------------------------------------- */

  function rerender(ref) {
    var m = state.messages.get(ref);
    var node = findMessageNode(ref);
    if (m && node) node.replaceWith(renderMessage(m));
  }

  function press(m, b, noteInput) {
    var u = ui(m.ref);
    if (u.pending || !state.signedIn) return;
    var action = m.kind === "alert";
    var frame = { type: action ? "action" : "choice", token: b.token, ref: m.ref };
    if (action && noteInput && noteInput.value.trim()) frame.text = noteInput.value;
    u.pending = true;
    u.error = "";
    rerender(m.ref);
    request(frame, function (ok, error) {
      u.pending = false;
      if (ok) {
        u.error = "";
        /* A question takes one answer: keep it settled until the update closes it. */
        if (!action) u.chosen = b.token;
      } else {
        u.error = error;
      }
      rerender(m.ref);
    });
  }

  function openTextQuestion() {
    if (!state.me) return false;
    var refs = state.order.get("dm:" + state.me.user) || [];
    return refs.some(function (ref) {
      var m = state.messages.get(ref);
      return m && m.expects_text && !m.closed;
    });
  }

  function refreshInputs() {
    var open = state.signedIn && isDm(state.selected) && openTextQuestion();
    el.replyInput.disabled = !open || state.textPending;
    el.replySend.disabled = !open || state.textPending;
    el.replyInput.placeholder = open ? "Type your answer…" : "Replies open when a question asks for one.";
  }

  function replyError(text) {
    el.replyError.textContent = text || "";
    el.replyError.hidden = !text;
  }

  function sendText() {
    var text = el.replyInput.value;
    if (el.replySend.disabled) return;
    if (!text.trim()) {
      replyError("Write something first.");
      return;
    }
    if (new TextEncoder().encode(text).length > state.maxText) {
      replyError("Your message is too long.");
      return;
    }
    replyError("");
    state.textPending = true;
    refreshInputs();
    request({ type: "text", text: text }, function (ok, error) {
      state.textPending = false;
      if (ok) el.replyInput.value = "";
      else replyError(error);
      refreshInputs();
      if (!el.replyInput.disabled) el.replyInput.focus();
    });
  }

  function switchPerson() {
    state.demoUser = null;
    store("pulsebot.user", null);
    state.unread = new Map();
    state.ui = new Map();
    state.selected = null;
    state.everSignedIn = false;
    if (state.ws) {
      state.switching = true;
      state.ws.close(1000, "switching person");
    } else {
      connect();
    }
  }

  /* ---- start ------------------------------------------------------------------------- */

  function init() {
    ["conn", "me", "banner", "notice", "picker", "people", "chat", "conversations", "messages",
     "empty", "reply"].forEach(function (id) { el[id] = document.getElementById(id); });
    el.noticeText = document.getElementById("notice-text");
    el.switchPerson = document.getElementById("switch-person");
    el.conversationTitle = document.getElementById("conversation-title");
    el.replyInput = document.getElementById("reply-input");
    el.replySend = document.getElementById("reply-send");
    el.replyError = document.getElementById("reply-error");

    var params = new URLSearchParams(location.search);
    var token = params.get("t");
    if (token) {
      state.token = token;
      store("pulsebot.token", token);
      store("pulsebot.user", null);
      params.delete("t");
      var q = params.toString();
      history.replaceState(null, "", location.pathname + (q ? "?" + q : "") + location.hash);
    } else {
      state.token = stored("pulsebot.token");
      state.demoUser = stored("pulsebot.user");
    }

    el.replySend.addEventListener("click", sendText);
    el.replyInput.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        sendText();
      }
    });
    el.switchPerson.addEventListener("click", switchPerson);
    connect();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
