// Browsing: the product listing with its filters and facet counts, and the product page.
import { graphql } from "./api.js";
import { h, money } from "./dom.js";
import { MONEY, state } from "./state.js";
import { addToCart } from "./cart.js";

const PAGE_SIZE = 24;

const SORTS = [
  ["NEWEST", "Newest"],
  ["PRICE_ASC", "Price: low to high"],
  ["PRICE_DESC", "Price: high to low"],
  ["NAME", "Name"],
];

const PRODUCTS = `
  query Products($first: Int!, $after: String, $filter: ProductFilter, $sort: ProductSort) {
    products(first: $first, after: $after, filter: $filter, sort: $sort) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { slug name inStock priceFrom { ${MONEY} } brand { name } }
      facets {
        sizes { value label count }
        colours { value label count }
        brands { value label count }
      }
    }
  }`;

/** The filter of the listing's URL (`#/shop?category=…&size=M&size=L&colour=…&brand=…&inStock=1&q=…`). */
function filterOf(params) {
  const filter = {};
  if (params.get("category")) filter.category = params.get("category");
  if (params.get("brand")) filter.brand = params.get("brand");
  if (params.getAll("size").length) filter.sizes = params.getAll("size");
  if (params.getAll("colour").length) filter.colours = params.getAll("colour");
  if (params.get("inStock")) filter.inStock = true;
  if (params.get("q")) filter.search = params.get("q");
  // Prices in the URL are in major units, as shoppers type them; the API takes minor units.
  if (params.get("minPrice")) filter.minPrice = Math.round(Number(params.get("minPrice")) * 100);
  if (params.get("maxPrice")) filter.maxPrice = Math.round(Number(params.get("maxPrice")) * 100);
  return filter;
}

/** The top-level category `slug` is in (or is), with the category itself. */
function categoryOf(slug) {
  for (const top of state.categories) {
    if (top.slug === slug) return { top, category: top };
    const child = top.children.find((candidate) => candidate.slug === slug);
    if (child) return { top, category: child };
  }
  return null;
}

/** The listing's URL with one parameter toggled or set. */
function linkWith(params, name, value, { single = false } = {}) {
  const next = new URLSearchParams(params);
  const chosen = next.getAll(name).includes(value);
  if (single) next.delete(name);
  else next.delete(name, value);
  if (!chosen || single) next.append(name, value);
  return `#/shop?${next}`;
}

export async function listingView(params) {
  const filter = filterOf(params);
  const sort = params.get("sort") ?? (filter.search ? "RELEVANCE" : "NEWEST");
  const { products } = await graphql(PRODUCTS, { first: PAGE_SIZE, filter, sort });
  const grid = h("ul", { class: "grid", "aria-label": "Products" }, products.nodes.map(productCard));
  const more = h("div", { class: "more" });
  const loadMore = (pageInfo) => {
    if (!pageInfo.hasNextPage) return more.replaceChildren();
    more.replaceChildren(
      h("button", {
        type: "button",
        onClick: async () => {
          const next = await graphql(PRODUCTS, { first: PAGE_SIZE, after: pageInfo.endCursor, filter, sort });
          grid.append(...next.products.nodes.map(productCard));
          loadMore(next.products.pageInfo);
        },
      }, "Show more"),
    );
  };
  loadMore(products.pageInfo);
  return h("div", { class: "listing" },
    filters(params, products.facets),
    h("section", { class: "results" },
      h("div", { class: "results-bar" },
        h("h1", {}, heading(filter)),
        h("span", { class: "count", "data-testid": "result-count" }, `${products.totalCount} products`),
        sortPicker(params, sort),
      ),
      products.nodes.length ? grid : h("p", {}, "Nothing matches these filters."),
      more,
    ),
  );
}

function heading(filter) {
  if (filter.search) return `Results for “${filter.search}”`;
  if (!filter.category) return "All products";
  return categoryOf(filter.category)?.category.name ?? filter.category;
}

function sortPicker(params, sort) {
  const options = params.get("q") ? [["RELEVANCE", "Best match"], ...SORTS] : SORTS;
  return h("label", { class: "sort" }, "Sort ",
    h("select", { onChange: (event) => (location.hash = linkWith(params, "sort", event.target.value, { single: true })) },
      options.map(([value, label]) => h("option", { value, selected: value === sort }, label)),
    ),
  );
}

/** The sidebar: each facet value links to the listing with it toggled, and shows how many match. */
function filters(params, facets) {
  const group = (title, name, values) =>
    h("fieldset", { class: "facet" }, h("legend", {}, title),
      values.map(({ value, label, count }) => {
        const chosen = params.getAll(name).includes(value);
        return h("a", {
          href: linkWith(params, name, value, { single: name === "brand" }), class: chosen ? "chosen" : "",
          "aria-current": chosen ? "true" : null, "aria-label": `${label}, ${count} products`,
        },
          h("span", {}, label), h("span", { class: "facet-count" }, String(count)));
      }),
    );
  const inStock = Boolean(params.get("inStock"));
  return h("aside", { class: "filters", "aria-label": "Filters" },
    subcategories(params),
    h("a", { class: inStock ? "chosen" : "", href: linkWith(params, "inStock", "1") }, inStock ? "✓ In stock only" : "In stock only"),
    priceRange(params),
    group("Size", "size", facets.sizes),
    group("Colour", "colour", facets.colours),
    group("Brand", "brand", facets.brands),
  );
}

/** The chosen department and its categories, to move within it. */
function subcategories(params) {
  const found = categoryOf(params.get("category"));
  if (!found) return null;
  const link = (category, label) => {
    const current = category.slug === found.category.slug;
    return h("a", { href: linkWith(params, "category", category.slug, { single: true }), class: current ? "chosen" : "", "aria-current": current ? "page" : null }, label);
  };
  return h("nav", { class: "facet", "aria-label": "Subcategories" },
    link(found.top, `All ${found.top.name}`),
    found.top.children.map((child) => link(child, child.name)),
  );
}

function priceRange(params) {
  const bound = (name, label) => h("label", {}, label, h("input", { name, type: "number", min: "0", step: "1", inputmode: "numeric", value: params.get(name) ?? "" }));
  return h("form", {
    class: "price-range", "aria-label": "Price",
    onSubmit: (event) => {
      event.preventDefault();
      const next = new URLSearchParams(params);
      for (const name of ["minPrice", "maxPrice"]) {
        const value = event.target.elements[name].value;
        if (value) next.set(name, value);
        else next.delete(name);
      }
      location.hash = `#/shop?${next}`;
    },
  }, bound("minPrice", "Price from"), bound("maxPrice", "to"), h("button", { type: "submit" }, "Apply"));
}

function productCard(product) {
  return h("li", { class: "card" },
    h("a", { href: `#/product/${encodeURIComponent(product.slug)}` },
      picture(product.name),
      h("span", { class: "brand" }, product.brand.name),
      h("span", { class: "name" }, product.name),
      h("span", { class: "price" }, product.priceFrom ? `from ${money(product.priceFrom)}` : ""),
      product.inStock ? null : h("span", { class: "sold-out" }, "Sold out"),
    ),
  );
}

/** A placeholder tile with the product's initials: the seeded catalogue has no image files. */
function picture(name) {
  const initials = name.split(" ").slice(0, 2).map((word) => word[0]).join("");
  return h("span", { class: "picture", "aria-hidden": "true" }, initials);
}

const PRODUCT = `
  query Product($slug: String!) {
    product(slug: $slug) {
      name description material care
      brand { name }
      category { name slug }
      variants { id sku size colour quantityAvailable inStock price { ${MONEY} } compareAtPrice { ${MONEY} } }
    }
  }`;

export async function productView(slug) {
  const { product } = await graphql(PRODUCT, { slug });
  if (!product) return h("section", { class: "panel" }, h("h1", {}, "This product is not on sale"), h("a", { href: "#/shop" }, "Back to the shop"));
  const colours = [...new Set(product.variants.map((variant) => variant.colour))];
  const picked = { colour: colours.find((colour) => product.variants.some((v) => v.colour === colour && v.inStock)) ?? colours[0], variant: null };
  const options = h("div", { class: "options" });
  const status = h("div", { class: "stock", "aria-live": "polite" });
  const price = h("p", { class: "price" });

  const render = () => {
    const sizes = product.variants.filter((variant) => variant.colour === picked.colour);
    options.replaceChildren(
      h("fieldset", {}, h("legend", {}, `Colour: ${picked.colour}`),
        colours.map((colour) => h("button", {
          type: "button", class: "choice", "aria-pressed": String(colour === picked.colour),
          onClick: () => { picked.colour = colour; picked.variant = null; render(); },
        }, colour)),
      ),
      h("fieldset", {}, h("legend", {}, "Size"),
        sizes.map((variant) => h("button", {
          type: "button", class: "choice", "aria-pressed": String(variant === picked.variant), disabled: !variant.inStock,
          title: variant.inStock ? null : "Out of stock",
          onClick: () => { picked.variant = variant; render(); },
        }, variant.size)),
      ),
    );
    const shown = picked.variant ?? sizes[0];
    price.replaceChildren(shown ? priceOf(shown) : "");
    status.replaceChildren(...stockLine(picked.variant));
    add.disabled = !picked.variant;
  };

  const errors = h("div");
  const add = h("button", {
    type: "button", class: "primary",
    onClick: async () => {
      const messages = await addToCart(picked.variant.id, 1);
      errors.replaceChildren(...messages.map((message) => h("p", { class: "error", role: "alert" }, message)));
    },
  }, "Add to bag");
  render();

  return h("article", { class: "product" },
    picture(product.name),
    h("div", { class: "details" },
      h("a", { class: "breadcrumb", href: `#/shop?category=${encodeURIComponent(product.category.slug)}` }, product.category.name),
      h("p", { class: "brand" }, product.brand.name),
      h("h1", {}, product.name),
      price, options, status, add, errors,
      h("p", {}, product.description),
      product.material ? h("p", {}, h("strong", {}, "Material: "), product.material) : null,
      product.care ? h("p", {}, h("strong", {}, "Care: "), product.care) : null,
    ),
  );
}

function priceOf(variant) {
  if (!variant.compareAtPrice) return money(variant.price);
  return h("span", {}, h("s", {}, money(variant.compareAtPrice)), " ", money(variant.price));
}

function stockLine(variant) {
  if (!variant) return ["Choose a size"];
  if (!variant.inStock) return ["Out of stock"];
  return [variant.quantityAvailable <= 5 ? `Only ${variant.quantityAvailable} left` : `In stock: ${variant.quantityAvailable}`, h("span", { class: "sku" }, ` · ${variant.sku}`)];
}
