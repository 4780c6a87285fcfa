// Building the page from data without innerHTML: text is always text, never markup.

/** An element with attributes (`on*` functions become listeners) and children (nodes or strings). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2).toLowerCase(), value);
    else if (name === "class") element.className = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

/** Replaces everything in `container` with `children`. */
export function show(container, ...children) {
  container.replaceChildren(...children.flat().filter(Boolean));
}

/** The values of a form's named fields, with empty ones left out. */
export function formValues(form) {
  const values = {};
  for (const [name, value] of new FormData(form)) {
    if (typeof value === "string" && value.trim() !== "") values[name] = value.trim();
  }
  return values;
}

/** A list of messages under a form, or nothing when there are none. */
export function errorList(messages) {
  if (messages.length === 0) return null;
  return h("ul", { class: "errors", role: "alert" }, messages.map((message) => h("li", {}, message)));
}

export function money({ amount, currencyCode }) {
  return new Intl.NumberFormat(undefined, { style: "currency", currency: currencyCode }).format(Number(amount));
}
