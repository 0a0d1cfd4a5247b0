// Draws labeled boxes over a <video>: the canvas is sized to the element, and each box
// placed in the picture inside it (object-fit: contain leaves bars), with a caption of
// its label and values. The dashboard's player and the review page both draw with it.

const DEFAULT_COLOR = "#ffcc00";

// objects: [{label, box: [x1, y1, x2, y2] (0..1), attrs}]; size: {width, height} of the
// video when the element does not know it yet; vocabulary: {names, colors}. Returns how many were drawn.
export function drawBoxes(canvas, media, objects, size, vocabulary) {
  const ratio = window.devicePixelRatio || 1;
  const width = media.clientWidth;
  const height = media.clientHeight;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  const videoWidth = media.videoWidth || size.width || width;
  const videoHeight = media.videoHeight || size.height || height;
  const scale = Math.min(width / videoWidth, height / videoHeight);
  const left = (width - videoWidth * scale) / 2;
  const top = (height - videoHeight * scale) / 2;
  const drawnWidth = videoWidth * scale;
  const drawnHeight = videoHeight * scale;
  let boxes = 0;
  for (const object of objects || []) {
    if (!object.box) continue;
    const [x1, y1, x2, y2] = object.box;
    const color = vocabulary.colors[object.label] || DEFAULT_COLOR;
    const x = left + x1 * drawnWidth;
    const y = top + y1 * drawnHeight;
    context.lineWidth = 2;
    context.strokeStyle = color;
    context.strokeRect(x, y, (x2 - x1) * drawnWidth, (y2 - y1) * drawnHeight);
    // Categories as they are, a true boolean by its name, numbers and false booleans left out.
    const values = Object.entries(object.attrs || {}).flatMap(([name, value]) => {
      if (typeof value === "boolean") return value ? [name] : [];
      return typeof value === "number" ? [] : [String(value)];
    });
    const caption = [vocabulary.names[object.label] || object.label, ...values].join(" \u00b7 ");
    context.font = "12px system-ui, sans-serif";
    const textWidth = context.measureText(caption).width + 8;
    const tagY = y >= 16 ? y - 16 : y;
    context.fillStyle = color;
    context.fillRect(x, tagY, textWidth, 16);
    context.fillStyle = "#111";
    context.fillText(caption, x + 4, tagY + 12);
    boxes += 1;
  }
  return boxes;
}
