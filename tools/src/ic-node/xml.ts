/**
 * Just enough XML writing for libvirt documents: elements, attributes in the order given, text,
 * escaping, two-space indentation. Building a tree instead of filling a text template means no
 * value can break the document's structure.
 */

export interface XmlElement {
  name: string;
  attributes: [string, string | number][];
  children: (XmlElement | string)[];
}

/** An element; `attributes` keep their order so the output is stable and diffable. */
export function element(name: string, attributes: Record<string, string | number> = {}, ...children: (XmlElement | string | undefined)[]): XmlElement {
  return { name, attributes: Object.entries(attributes), children: children.filter((child) => child !== undefined) };
}

function escape(text: string, quote: boolean): string {
  const escaped = text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  return quote ? escaped.replaceAll("'", '&apos;') : escaped;
}

function render(node: XmlElement, depth: number): string {
  const pad = '  '.repeat(depth);
  const attributes = node.attributes.map(([key, value]) => ` ${key}='${escape(String(value), true)}'`).join('');
  if (node.children.length === 0) return `${pad}<${node.name}${attributes}/>\n`;
  if (node.children.every((child) => typeof child === 'string')) {
    return `${pad}<${node.name}${attributes}>${escape(node.children.join(''), false)}</${node.name}>\n`;
  }
  const inner = node.children.map((child) => (typeof child === 'string' ? `${pad}  ${escape(child, false)}\n` : render(child, depth + 1))).join('');
  return `${pad}<${node.name}${attributes}>\n${inner}${pad}</${node.name}>\n`;
}

/** The document, ending with a newline. */
export function renderXml(root: XmlElement): string {
  return render(root, 0);
}
