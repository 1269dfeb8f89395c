// DOM helpers shared by today's page modules.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

const escapeHtml = (text) =>
  text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

// Enough Markdown for the replica's answers: fenced code and paragraphs with inline code.
// (The classic page keeps its fuller renderer; a driver reads text, not this markup.)
export function markdownHtml(markdown) {
  const blocks = [];
  for (const [index, part] of markdown.split(/^```/m).entries()) {
    if (index % 2) {
      const [lang, ...code] = part.split("\n");
      blocks.push(`<pre><code class="language-${escapeHtml(lang.trim() || "text")}">${escapeHtml(code.join("\n").replace(/\n$/, ""))}</code></pre>`);
      continue;
    }
    for (const paragraph of part.split(/\n{2,}/)) {
      if (!paragraph.trim()) continue;
      const inline = escapeHtml(paragraph.trim()).replace(/`([^`]+)`/g, "<code>$1</code>").replace(/\n/g, "<br>");
      blocks.push(`<p>${inline}</p>`);
    }
  }
  return blocks.join("");
}

// The sidebar's chat list, newest first, as both pages load it after every turn.
export async function refreshHistory(api, upsert) {
  const response = await api("/backend-api/conversations?offset=0&limit=28&order=updated");
  if (!response.ok) return;
  const { items } = await response.json();
  document.getElementById("history-list").replaceChildren();
  for (const item of [...items].reverse()) upsert(item.id, item.title);
}
