// Front end of coprod_nb.widgets.circle_board.CirclePane (an anywidget).
//
// Draws two concentric circles and a tray, with the cards where the kernel says they
// are. A card is dragged with pointer events (mouse, pen and touch alike) and dropped
// where it should go: the ring is found from the drop point's distance to the circles'
// centre. A focused card also takes keys; the kernel decides what they mean. Nothing is
// stored here: the kernel stores and sends the placements back. Tension names are
// untrusted text: the DOM is built with textContent only.

const RINGS = ["inner", "outer", "none"];
const TITLES = { inner: "Inner circle", outer: "Outer circle", none: "Not placed" };

function make(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Inside the ellipse drawn by `elem`'s box?
function within(elem, x, y) {
  const r = elem.getBoundingClientRect();
  if (!r.width || !r.height) return false;
  const dx = (x - (r.left + r.width / 2)) / (r.width / 2);
  const dy = (y - (r.top + r.height / 2)) / (r.height / 2);
  return dx * dx + dy * dy <= 1;
}

function render({ model, el }) {
  const root = make("div", "cp-cb");
  const help = make(
    "p",
    "cp-cb-help",
    "Drag a card onto a circle, or select it with Tab and press i (inner), o (outer), " +
      "n (neither), or the up and down arrows to move it in or out.",
  );
  const outer = make("div", "cp-cb-outer");
  const inner = make("div", "cp-cb-inner");
  const tray = make("div", "cp-cb-tray");
  const zones = {
    outer: make("div", "cp-cb-zone cp-cb-zone-outer"),
    inner: make("div", "cp-cb-zone cp-cb-zone-inner"),
    none: make("div", "cp-cb-zone cp-cb-zone-none"),
  };
  outer.append(make("div", "cp-cb-title", TITLES.outer), zones.outer, inner);
  inner.append(make("div", "cp-cb-title", TITLES.inner), zones.inner);
  tray.append(make("div", "cp-cb-title", TITLES.none), zones.none);
  root.append(help, outer, tray);
  el.append(root);

  const ringAt = (x, y) => {
    if (within(inner, x, y)) return "inner";
    if (within(outer, x, y)) return "outer";
    return "none";
  };

  const draw = () => {
    const focused = document.activeElement?.dataset?.code;
    const placed = model.get("placements") || {};
    const disabled = model.get("disabled");
    root.classList.toggle("cp-cb-disabled", !!disabled);
    for (const ring of RINGS) zones[ring].replaceChildren();
    for (const card of model.get("cards") || []) {
      const ring = RINGS.includes(placed[card.code]) ? placed[card.code] : "none";
      const node = make("div", `cp-cb-card cp-cb-card-${ring}`);
      node.dataset.code = card.code;
      node.dataset.ring = ring;
      node.tabIndex = disabled ? -1 : 0;
      node.setAttribute("role", "button");
      node.setAttribute("aria-label", `${card.label}: ${TITLES[ring].toLowerCase()}`);
      node.title = card.detail || "";
      node.append(make("span", "cp-cb-label", card.label));
      zones[ring].append(node);
      if (card.code === focused) node.focus();
    }
  };

  // -- dragging ---------------------------------------------------------------------
  let drag = null;
  root.addEventListener("pointerdown", (ev) => {
    const card = ev.target.closest(".cp-cb-card");
    if (!card || model.get("disabled") || ev.button > 0) return;
    card.setPointerCapture(ev.pointerId);
    drag = { card, id: ev.pointerId, x: ev.clientX, y: ev.clientY, moved: false };
  });
  root.addEventListener("pointermove", (ev) => {
    if (!drag || ev.pointerId !== drag.id) return;
    const dx = ev.clientX - drag.x;
    const dy = ev.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 4) return; // a click, not a drag
    drag.moved = true;
    drag.card.classList.add("cp-cb-dragging");
    drag.card.style.transform = `translate(${dx}px, ${dy}px)`;
    const ring = ringAt(ev.clientX, ev.clientY);
    for (const [name, elem] of [["inner", inner], ["outer", outer], ["none", tray]]) {
      elem.classList.toggle("cp-cb-over", name === ring);
    }
  });
  const drop = (ev, cancelled) => {
    if (!drag || ev.pointerId !== drag.id) return;
    const { card, moved } = drag;
    drag = null;
    card.classList.remove("cp-cb-dragging");
    card.style.transform = "";
    for (const elem of [inner, outer, tray]) elem.classList.remove("cp-cb-over");
    if (!moved || cancelled) return;
    const ring = ringAt(ev.clientX, ev.clientY);
    if (ring !== card.dataset.ring) {
      model.send({ kind: "place", code: card.dataset.code, circle: ring });
    }
  };
  root.addEventListener("pointerup", (ev) => drop(ev, false));
  root.addEventListener("pointercancel", (ev) => drop(ev, true));

  // -- keyboard ---------------------------------------------------------------------
  root.addEventListener("keydown", (ev) => {
    const card = ev.target.closest(".cp-cb-card");
    if (!card || model.get("disabled") || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const keys = ["i", "o", "n", "0", "+", "-", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"];
    if (!keys.includes(ev.key)) return;
    ev.preventDefault();
    ev.stopPropagation(); // not JupyterLab's command shortcuts
    model.send({ kind: "key", code: card.dataset.code, key: ev.key });
  });

  model.on("change:cards", draw);
  model.on("change:placements", draw);
  model.on("change:disabled", draw);
  draw();
}

export default { render };
