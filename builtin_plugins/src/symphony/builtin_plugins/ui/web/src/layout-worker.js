// ELK's layered layout off the page's thread: {id, graph} in, {id, positions} out (null when it fails).
import ELK from 'elkjs/lib/elk.bundled.js';

const elk = new ELK();

self.onmessage = async ({ data }) => {
  try {
    const laid = await elk.layout(data.graph);
    const positions = {};
    for (const child of laid.children) positions[child.id] = { x: child.x + child.width / 2, y: child.y + child.height / 2 };
    self.postMessage({ id: data.id, positions });
  } catch {
    self.postMessage({ id: data.id, positions: null });
  }
};
