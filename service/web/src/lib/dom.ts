// Small DOM helpers shared by every page. Text from the API is only ever set with
// textContent: descriptions are typed by members of the public and are never HTML.

/** The element with this id; throws when the page lacks it (a template/script mismatch). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) {
    throw new Error(`missing #${id}`);
  }
  return node as T;
}

/** Append a term and its value to a description list, as text; empty values are skipped. */
export function row(list: HTMLElement, label: string, value: unknown): void {
  if (value === undefined || value === null || value === "") {
    return;
  }
  const dt = document.createElement("dt");
  const dd = document.createElement("dd");
  dt.textContent = label;
  dd.textContent = String(value);
  list.append(dt, dd);
}
