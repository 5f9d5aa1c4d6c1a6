// The crop rectangle drawn with the pointer on the query preview. It is kept in the
// image's natural pixels, which is what the API expects, and drawn scaled to the size
// the image is displayed at (which changes with the window).
const MIN_DRAG_PX = 4; // a shorter drag is a click, not a crop

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}

// Lets CSS size container to img's proportions (the --ratio custom property).
export function matchAspect(container, img) {
  const ratio = img.naturalHeight ? img.naturalWidth / img.naturalHeight : 1;
  container.style.setProperty("--ratio", String(ratio));
}

// Shows el over img at rect, given in img's natural pixels.
export function placeBox(el, img, rect) {
  const scale = img.clientWidth / img.naturalWidth;
  el.style.left = `${img.offsetLeft + rect.x * scale}px`;
  el.style.top = `${img.offsetTop + rect.y * scale}px`;
  el.style.width = `${rect.w * scale}px`;
  el.style.height = `${rect.h * scale}px`;
}

// A rectangle from a URL may not fit the image chosen for it: keep what overlaps.
function fitToImage(rect, img) {
  if (!rect || !img.naturalWidth) return rect;
  const x = clamp(rect.x, 0, img.naturalWidth);
  const y = clamp(rect.y, 0, img.naturalHeight);
  const w = Math.min(rect.w, img.naturalWidth - x);
  const h = Math.min(rect.h, img.naturalHeight - y);
  return w > 0 && h > 0 ? { x, y, w, h } : null;
}

export function createCropper({ img, box, onChange }) {
  let crop = null;
  let start = null; // where the current drag began, in displayed pixels

  function pointOf(event) {
    const bounds = img.getBoundingClientRect();
    return {
      x: clamp(event.clientX - bounds.left, 0, bounds.width),
      y: clamp(event.clientY - bounds.top, 0, bounds.height),
    };
  }

  function toNatural(a, b) {
    const scale = img.naturalWidth / img.clientWidth;
    const x = Math.round(Math.min(a.x, b.x) * scale);
    const y = Math.round(Math.min(a.y, b.y) * scale);
    return fitToImage({
      x, y, w: Math.round(Math.abs(a.x - b.x) * scale), h: Math.round(Math.abs(a.y - b.y) * scale),
    }, img);
  }

  function draw(rect) {
    box.hidden = !rect || !img.naturalWidth;
    if (!box.hidden) placeBox(box, img, rect);
  }

  function set(rect) {
    crop = fitToImage(rect, img);
    draw(crop);
    onChange(crop);
  }

  img.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || !img.naturalWidth) return;
    event.preventDefault();
    img.setPointerCapture(event.pointerId);
    start = pointOf(event);
  });
  img.addEventListener("pointermove", (event) => {
    if (start) draw(toNatural(start, pointOf(event)));
  });
  img.addEventListener("pointerup", (event) => {
    if (!start) return;
    const end = pointOf(event);
    const dragged = Math.abs(end.x - start.x) >= MIN_DRAG_PX
      && Math.abs(end.y - start.y) >= MIN_DRAG_PX;
    const rect = dragged ? toNatural(start, end) : null;
    start = null;
    if (rect) set(rect);
    else draw(crop);
  });
  img.addEventListener("pointercancel", () => {
    start = null;
    draw(crop);
  });
  new ResizeObserver(() => draw(crop)).observe(img);

  return { get: () => crop, set, clear: () => set(null) };
}
