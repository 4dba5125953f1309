// Front end of coprod_nb.widgets.transcript.TranscriptPane (an anywidget).
//
// Draws one page of turns sent by the kernel and sends back what the researcher does:
// spans selected (offsets in code points of the turn's text, as Python counts them),
// Anchor, a click on a highlight, a page step. Transcripts are untrusted text: the DOM is
// built with textContent only, never innerHTML.

const COLOUR = /^#[0-9a-fA-F]{6}$/;

function make(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

// UTF-16 index (JS strings) -> code-point index (Python strings).
function toCodePoints(text, u16) {
  return Array.from(text.slice(0, u16)).length;
}

// Code-point index -> UTF-16 index.
function toUtf16(text, cp) {
  return Array.from(text).slice(0, cp).join("").length;
}

// UTF-16 offset of (node, offset) from the start of `elem`'s text.
function offsetIn(elem, node, offset) {
  const r = document.createRange();
  r.setStart(elem, 0);
  r.setEnd(node, offset);
  return r.toString().length;
}

// The text node and offset inside `elem` at UTF-16 offset `u16`.
function pointAt(elem, u16) {
  const walker = document.createTreeWalker(elem, NodeFilter.SHOW_TEXT);
  let left = u16;
  let last = null;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (left <= n.data.length) return [n, left];
    left -= n.data.length;
    last = n;
  }
  return last ? [last, last.data.length] : [elem, 0];
}

// Segments of a turn's text between every boundary of marks, hits and the selection.
function segments(text, marks, hits, selected) {
  const cps = Array.from(text);
  const cuts = new Set([0, cps.length]);
  const spans = [...marks, ...hits.map(([s, e]) => ({ start: s, end: e, hit: true }))];
  if (selected) spans.push({ start: selected[0], end: selected[1], sel: true });
  for (const s of spans) {
    cuts.add(Math.max(0, Math.min(cps.length, s.start)));
    cuts.add(Math.max(0, Math.min(cps.length, s.end)));
  }
  const points = [...cuts].sort((a, b) => a - b);
  const out = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i], points[i + 1]];
    const over = spans.filter((s) => s.start <= a && s.end >= b);
    out.push({
      text: cps.slice(a, b).join(""),
      marks: over.filter((s) => !s.hit && !s.sel),
      hit: over.some((s) => s.hit),
      sel: over.some((s) => s.sel),
    });
  }
  return out;
}

function render({ model, el }) {
  const root = make("div", "cp-tp-root");
  const bar = make("div", "cp-tp-bar");
  const anchor = make("button", "cp-anchor", "Anchor selection");
  anchor.type = "button";
  anchor.title = "Make the selected span an excerpt (key a)";
  const clear = make("button", "cp-tp-clear", "Clear selection");
  clear.type = "button";
  const info = make("span", "cp-tp-selection");
  const keys = make("span", "cp-tp-keys", "j/k turn · n/p page · Shift+arrows select · a anchor");
  bar.append(anchor, clear, info, keys);
  const mediaBox = make("div", "cp-media-box");
  const list = make("div", "cp-turn-list");
  list.tabIndex = 0;
  list.setAttribute("role", "list");
  list.setAttribute("aria-label", "Turns of the transcript");
  // JupyterLab leaves keys pressed here to the widget (no notebook shortcuts).
  list.dataset.lmSuppressShortcuts = "true";
  root.append(bar, mediaBox, list);
  el.append(root);

  let media = null;
  let mediaUrl = null;
  let pending = []; // the last spans selected here (sent again with Anchor)
  let focus = -1; // index of the focused turn on the page
  let kb = null; // keyboard selection: {index, anchor, head} in code points
  let shownCurrent = -1; // the current turn last scrolled to

  function colourOf(code) {
    const c = (model.get("codes") || {})[code];
    return c && COLOUR.test(c.color) ? c.color : null;
  }

  function labelOf(code) {
    const c = (model.get("codes") || {})[code];
    return c ? String(c.label) : code;
  }

  function drawTurn(turn, current) {
    const row = make("div", "cp-turn");
    row.setAttribute("role", "listitem");
    row.dataset.turn = String(turn.id);
    row.dataset.seq = String(turn.seq);
    row.tabIndex = -1;
    if (turn.seq === current) row.classList.add("cp-turn-current");
    const stripes = make("div", "cp-stripes");
    const codes = [];
    for (const m of turn.marks) for (const c of m.codes) if (!codes.includes(c)) codes.push(c);
    for (const c of codes) {
      const stripe = make("span", "cp-stripe");
      const colour = colourOf(c);
      if (colour) stripe.style.backgroundColor = colour;
      stripe.title = labelOf(c);
      stripe.dataset.code = c;
      stripes.append(stripe);
    }
    const body = make("div", "cp-turn-body");
    const head = make("div", "cp-turn-head");
    head.append(make("span", "cp-turn-seq", `#${turn.seq}`), " ");
    // a paragraph of a plain document has no speaker: no empty label
    if (turn.speaker) head.append(make("b", "cp-speaker", turn.speaker), " ");
    if (turn.time) {
      const time = make("button", "cp-time", turn.time);
      time.type = "button";
      time.dataset.start = String(turn.start);
      time.disabled = !media;
      time.title = media ? "Play the recording from here" : "No recording for this transcript";
      head.append(time);
    }
    const text = make("div", "cp-turn-text");
    for (const seg of segments(turn.text, turn.marks, turn.hits, turn.selected)) {
      if (!seg.marks.length && !seg.hit && !seg.sel) {
        text.append(document.createTextNode(seg.text));
        continue;
      }
      const span = make("span", "", seg.text);
      if (seg.marks.length) {
        span.classList.add("cp-hl", seg.marks.some((m) => m.mine) ? "cp-hl-mine" : "cp-hl-team");
        if (seg.marks.length > 1) span.classList.add("cp-hl-many");
        span.dataset.excerpts = seg.marks.map((m) => m.excerpt).join(" ");
        const colour = seg.marks.flatMap((m) => m.codes).map(colourOf).find(Boolean);
        if (colour) span.style.borderBottomColor = colour;
        span.title = seg.marks
          .map((m) => `excerpt #${m.excerpt}` + (m.codes.length ? `: ${m.codes.map(labelOf).join(", ")}` : ""))
          .join("\n");
      }
      if (seg.hit) span.classList.add("cp-hit");
      if (seg.sel) span.classList.add("cp-selected");
      text.append(span);
    }
    body.append(head, text);
    row.append(stripes, body);
    return row;
  }

  function drawTurns() {
    const current = model.get("current");
    const rows = (model.get("turns") || []).map((t) => drawTurn(t, current));
    list.replaceChildren(...rows);
    kb = null;
    focus = Math.min(focus, rows.length - 1);
    const cur = list.querySelector(".cp-turn-current");
    if (cur && current !== shownCurrent) {
      // only when the kernel moved to another turn (a search hit), not on every redraw
      focus = rows.indexOf(cur);
      cur.scrollIntoView({ block: "nearest" });
    }
    shownCurrent = current;
    showSelection();
  }

  function showSelection() {
    const n = (model.get("selection") || []).length;
    info.textContent = n ? `${n} passage${n === 1 ? "" : "s"} selected` : "";
  }

  function drawMedia() {
    if (mediaUrl) URL.revokeObjectURL(mediaUrl);
    mediaUrl = null;
    media = null;
    mediaBox.replaceChildren();
    const data = model.get("media");
    const type = model.get("media_type") || "";
    if (data && data.byteLength && /^(audio|video)\//.test(type)) {
      mediaUrl = URL.createObjectURL(new Blob([data], { type }));
      media = make(type.startsWith("video/") ? "video" : "audio", "cp-media");
      media.controls = true;
      media.preload = "metadata";
      media.src = mediaUrl;
      mediaBox.append(make("span", "cp-media-name", model.get("media_name") || ""), media);
    }
    for (const b of list.querySelectorAll(".cp-time")) {
      b.disabled = !media;
      b.title = media ? "Play the recording from here" : "No recording for this transcript";
    }
  }

  function play(seconds) {
    if (!media || !Number.isFinite(seconds)) return;
    const go = () => {
      media.currentTime = seconds;
      const p = media.play();
      if (p && p.catch) p.catch(() => {}); // no sound device, or autoplay refused: seek only
    };
    if (media.readyState >= 1) go();
    else media.addEventListener("loadedmetadata", go, { once: true });
  }

  // Spans of the current browser selection that lie in turn texts of this page.
  function selectedSpans() {
    const sel = window.getSelection();
    if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return [];
    const range = sel.getRangeAt(0);
    const spans = [];
    for (const row of list.querySelectorAll(".cp-turn")) {
      const elem = row.querySelector(".cp-turn-text");
      if (!elem || !range.intersectsNode(elem)) continue;
      const text = elem.textContent;
      const a = elem.contains(range.startContainer)
        ? offsetIn(elem, range.startContainer, range.startOffset)
        : range.comparePoint(elem, 0) >= 0 ? 0 : text.length;
      const b = elem.contains(range.endContainer)
        ? offsetIn(elem, range.endContainer, range.endOffset)
        : text.length;
      const start = toCodePoints(text, a);
      const end = toCodePoints(text, b);
      if (end > start) spans.push({ turn: Number(row.dataset.turn), start, end });
    }
    return spans;
  }

  function sendSelection() {
    const spans = selectedSpans();
    if (!spans.length) return;
    pending = spans;
    model.send({ kind: "select", spans });
  }

  function doAnchor() {
    const spans = selectedSpans();
    model.send({ kind: "anchor", spans: spans.length ? spans : pending });
    pending = [];
  }

  function rows() {
    return [...list.querySelectorAll(".cp-turn")];
  }

  function focusTurn(i) {
    const all = rows();
    if (!all.length) return;
    focus = Math.max(0, Math.min(all.length - 1, i));
    all.forEach((r, k) => r.classList.toggle("cp-turn-focus", k === focus));
    all[focus].scrollIntoView({ block: "nearest" });
    kb = null;
  }

  // Keyboard selection inside the focused turn: Shift+arrows by character, with Ctrl
  // (or Alt) by word, Shift+Home/End to the turn's start or end.
  function extend(key, word) {
    const all = rows();
    if (focus < 0 || focus >= all.length) focusTurn(0);
    const elem = all[focus] && all[focus].querySelector(".cp-turn-text");
    if (!elem) return;
    const cps = Array.from(elem.textContent);
    if (!kb || kb.index !== focus) kb = { index: focus, anchor: 0, head: 0 };
    let h = kb.head;
    const n = cps.length;
    const isWord = (c) => /[\p{L}\p{N}_]/u.test(c || "");
    if (key === "ArrowRight" && word) {
      while (h < n && !isWord(cps[h])) h++;
      while (h < n && isWord(cps[h])) h++;
    } else if (key === "ArrowRight") h = Math.min(n, h + 1);
    else if (key === "ArrowLeft" && word) {
      while (h > 0 && !isWord(cps[h - 1])) h--;
      while (h > 0 && isWord(cps[h - 1])) h--;
    } else if (key === "ArrowLeft") h = Math.max(0, h - 1);
    else if (key === "Home") h = 0;
    else if (key === "End") h = n;
    kb.head = h;
    const text = elem.textContent;
    const [sn, so] = pointAt(elem, toUtf16(text, Math.min(kb.anchor, h)));
    const [en, eo] = pointAt(elem, toUtf16(text, Math.max(kb.anchor, h)));
    const sel = window.getSelection();
    sel.removeAllRanges();
    const r = document.createRange();
    r.setStart(sn, so);
    r.setEnd(en, eo);
    sel.addRange(r);
    list.focus({ preventScroll: true });
    sendSelection();
  }

  function onKey(ev) {
    const k = ev.key;
    if ((k === "Enter" || k === " ") && ev.target !== list && ev.target.closest("button")) {
      return; // Enter on a turn's time plays it, as on any button
    }
    if (ev.shiftKey && ["ArrowRight", "ArrowLeft", "Home", "End"].includes(k)) {
      extend(k, ev.ctrlKey || ev.altKey || ev.metaKey);
    } else if (ev.ctrlKey || ev.metaKey || ev.altKey) {
      return; // the notebook's and the browser's own shortcuts
    } else if (k === "j" || k === "ArrowDown") focusTurn(focus + 1);
    else if (k === "k" || k === "ArrowUp") focusTurn(focus - 1);
    else if (k === "n" || k === "PageDown") model.send({ kind: "page", step: 1 });
    else if (k === "p" || k === "PageUp") model.send({ kind: "page", step: -1 });
    else if (k === "a" || k === "Enter") doAnchor();
    else if (k === "Escape") {
      window.getSelection().removeAllRanges();
      pending = [];
      kb = null;
      model.send({ kind: "clear" });
    } else return;
    ev.preventDefault();
    ev.stopPropagation(); // keep JupyterLab's command mode from acting on these keys
  }

  function onClick(ev) {
    const time = ev.target.closest(".cp-time");
    if (time && list.contains(time)) {
      play(Number(time.dataset.start));
      return;
    }
    const sel = window.getSelection();
    const hl = ev.target.closest(".cp-hl");
    if (hl && (!sel || sel.isCollapsed)) {
      model.send({ kind: "open", excerpt: Number(hl.dataset.excerpts.split(" ")[0]) });
    }
    const row = ev.target.closest(".cp-turn");
    if (row) {
      focus = rows().indexOf(row);
      rows().forEach((r, k) => r.classList.toggle("cp-turn-focus", k === focus));
    }
  }

  const onUp = () => setTimeout(sendSelection, 0);
  const onAnchor = () => doAnchor();
  const onClear = () => {
    window.getSelection().removeAllRanges();
    pending = [];
    model.send({ kind: "clear" });
  };
  // mousedown on the button must not drop the text selection it is about to anchor
  const keep = (ev) => ev.preventDefault();
  list.addEventListener("keydown", onKey);
  list.addEventListener("click", onClick);
  list.addEventListener("mouseup", onUp);
  anchor.addEventListener("mousedown", keep);
  anchor.addEventListener("click", onAnchor);
  clear.addEventListener("click", onClear);
  // One page change sets turns, codes and current together: draw once.
  let queued = false;
  const redraw = () => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      drawTurns();
    });
  };
  model.on("change:turns", redraw);
  model.on("change:codes", redraw);
  model.on("change:current", redraw);
  model.on("change:selection", showSelection);
  model.on("change:media_version", drawMedia);
  drawMedia();
  drawTurns();
  return () => {
    model.off("change:turns", redraw);
    model.off("change:codes", redraw);
    model.off("change:current", redraw);
    model.off("change:selection", showSelection);
    model.off("change:media_version", drawMedia);
    if (mediaUrl) URL.revokeObjectURL(mediaUrl);
  };
}

export default { render };
